# Each target creates .venv when it is missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench serve clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/sce demo

test: $(STAMP)
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check bot storage tests
	$(VENV)/bin/ruff format --check bot storage tests
	$(VENV)/bin/mypy

# Benchmarks into BENCHMARKS.md (about 6-10 minutes on 2 cores). PostgreSQL: SCE_BENCH_POSTGRES_URL,
# else one started with .ci/postgres.sh when that can run here (as root), else SQLite only.
bench: $(STAMP)
	$(PY) -m bench --postgres auto --out BENCHMARKS.md

serve: $(STAMP)
	$(VENV)/bin/sce serve

clean:
	rm -rf $(VENV) debriefs sce.db sce.db-wal sce.db-shm

# Each target creates .venv when it is missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-bench lint bench reliability require-postgres serve clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/sce demo

# Three workers on two cores (a third of the suite waits on processes and sockets), each test file on
# one of them (module fixtures share a bot or a workspace per file), the longest files first
# (tests/conftest.py LONG_FILES; xdist would otherwise start with the files of the most tests).
# Bytecode is cached even where the environment says not to: each worker's assertion rewriting and
# each of the suite's `sce` processes would otherwise compile every module again.
test: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/pytest -n 6 --dist loadfile --no-loadscope-reorder

# The benchmark harness's smoke run (marked `bench`, left out of `make test`); CI runs it too.
test-bench: $(STAMP)
	$(VENV)/bin/pytest -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check bot storage tests
	$(VENV)/bin/ruff format --check bot storage tests
	$(VENV)/bin/mypy

# Benchmarks into BENCHMARKS.md (about 6-10 minutes on 2 cores). PostgreSQL: SCE_BENCH_POSTGRES_URL,
# else one started with .ci/postgres.sh when that can run here (as root), else SQLite only.
bench: $(STAMP)
	$(PY) -m bench --postgres auto --out BENCHMARKS.md

# RELIABILITY.md: the crash, replica and failure tests listed in tests/reliability_report.py, run
# RELIABILITY_RUNS times (each run of tests/test_crash_points.py appends its figures to
# artifacts/reliability.jsonl), then the report from those figures. A failing run stops it before the
# report. The replica tests need PostgreSQL, so without SCE_TEST_POSTGRES_URL (.ci/postgres.sh starts
# one) nothing runs: the report never lists tests that were skipped.
RELIABILITY_RUNS ?= 3
RELIABILITY_TESTS := tests/test_crash_points.py tests/test_e2e_restart.py tests/test_replicas.py tests/test_outbox.py \
	tests/test_dependencies_failing.py tests/test_slack_etiquette.py tests/test_e2e_http.py \
	tests/test_security_*.py tests/test_fuzz_parsers.py tests/test_parsers.py tests/test_scenario_file.py

reliability: require-postgres $(STAMP)
	rm -f artifacts/reliability.jsonl
	for run in $$(seq $(RELIABILITY_RUNS)); do $(VENV)/bin/pytest -q $(RELIABILITY_TESTS) || exit 1; done
	$(PY) tests/reliability_report.py

require-postgres:
	@test -n "$$SCE_TEST_POSTGRES_URL" || { echo "make reliability needs SCE_TEST_POSTGRES_URL, a PostgreSQL \
	server for the replica tests (as root, bash .ci/postgres.sh /tmp/sce-pg prints one)." >&2; exit 2; }

serve: $(STAMP)
	$(VENV)/bin/sce serve

# the database and the demos' live in the data folder ($XDG_DATA_HOME/sce, else ~/.local/share/sce):
# `clean` leaves them; remove that folder to forget every recorded game day
clean:
	rm -rf $(VENV) debriefs

"""The databases benchmarks run on: a SQLite file per run, and PostgreSQL when one is available.

``SCE_BENCH_POSTGRES_URL`` names a server to use; otherwise `--postgres auto` starts a throwaway one with
.ci/postgres.sh (it needs root to run PostgreSQL as the postgres user) and stops it at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from bench.procs import ROOT
from storage.database import make_engine, normalize_url


def sqlite_url(run_dir: Path, name: str) -> str:
    return f"sqlite:///{run_dir / (name + '.db')}"


CREATED: list[tuple[str, str]] = []  # (server URL, database) made by this run, not dropped yet


def fresh_postgres_database(server_url: str, name: str) -> str:
    """A new empty database on the server, so benchmarks never see each other's rows."""
    database = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    CREATED.append((server_url, database))
    return server_url.rsplit("/", 1)[0] + "/" + database


def drop_created() -> None:
    """Drop the databases this run made so far: a benchmark that follows does not share the server
    with their autovacuum (PostgreSQL visits every database in turn)."""
    while CREATED:
        server_url, database = CREATED.pop()
        admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        finally:
            admin.dispose()


def reader(url: str) -> Engine:
    """An engine for the harness's own reads. Not storage.database.make_engine: on SQLite its every
    transaction begins IMMEDIATE (takes the write lock), so polling through it would hold up the bot."""
    return create_engine(normalize_url(url))


def count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one())


def _pg_bin() -> str:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: [int(x) for x in p.parent.name.split(".")]
    )
    return str(found[-1]) if found else ""


@contextmanager
def postgres(mode: str) -> Iterator[tuple[str | None, str]]:
    """(server URL or None, a sentence on where it came from or why there is none)."""
    given = os.environ.get("SCE_BENCH_POSTGRES_URL")
    if given:
        yield given, "PostgreSQL from SCE_BENCH_POSTGRES_URL"
        return
    if mode != "auto":
        yield None, "PostgreSQL not measured (SCE_BENCH_POSTGRES_URL not set)"
        return
    if not _pg_bin() or os.geteuid() != 0:
        why = (
            "no PostgreSQL server binaries" if not _pg_bin() else "not root, so .ci/postgres.sh cannot run it"
        )
        yield None, f"PostgreSQL not measured: SCE_BENCH_POSTGRES_URL not set and {why}"
        return
    folder = tempfile.mkdtemp(prefix="sce-bench-pg.")
    os.chmod(folder, 0o755)
    try:
        started = subprocess.run(
            ["bash", str(ROOT / ".ci" / "postgres.sh"), folder],
            capture_output=True,
            text=True,
            timeout=300,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        yield None, f"PostgreSQL not measured: .ci/postgres.sh could not run ({exc})"
        return
    if started.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        reason = (started.stderr.strip().splitlines() or ["unknown error"])[-1]
        yield None, f"PostgreSQL not measured: .ci/postgres.sh failed ({reason})"
        return
    try:
        yield started.stdout.strip().splitlines()[-1], "PostgreSQL started by .ci/postgres.sh for this run"
    finally:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                f"{_pg_bin()}/pg_ctl",
                "-D",
                f"{folder}/pgdata",
                "-m",
                "fast",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)


def deployments(
    run_dir: Path, postgres_url: str | None, name: str, notes: list[str], one: str = ""
) -> list[tuple[str, str, int]]:
    """(label, database URL, replicas): SQLite, and with a server PostgreSQL with one replica and with
    two; ``one`` is added to the single-replica labels (", 1 replica"). Without a server, a note says so."""
    runs = [(f"SQLite{one}", sqlite_url(run_dir, name), 1)]
    if postgres_url:
        runs.append((f"PostgreSQL{one}", fresh_postgres_database(postgres_url, f"{name}1"), 1))
        runs.append(("PostgreSQL, 2 replicas", fresh_postgres_database(postgres_url, f"{name}2"), 2))
    else:
        notes.append("PostgreSQL not measured (no server), so neither are two replicas.")
    return runs

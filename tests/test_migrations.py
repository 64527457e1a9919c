"""Migrations at start-up: replicas that start at the same moment on one database all come up."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from databases import POSTGRES_URL, database_url
from sqlalchemy import Engine, text

from storage.database import MIGRATIONS, make_engine, migrate

KINDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])
REPLICAS = 4


@pytest.mark.parametrize("kind", KINDS)
def test_replicas_migrating_an_empty_database_together_all_succeed(kind: str, tmp_path: Path) -> None:
    url = database_url(kind, tmp_path)
    engines = [make_engine(url) for _ in range(REPLICAS)]
    start = threading.Barrier(REPLICAS)
    errors: list[BaseException] = []

    def replica(index: int) -> None:
        start.wait()
        try:
            migrate(engines[index])
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=replica, args=(i,), daemon=True) for i in range(REPLICAS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "a replica is still waiting to migrate"
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with engines[0].connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [head]
    for engine in engines:
        engine.dispose()


def test_one_process_migrating_several_databases_at_once_brings_each_to_the_head(tmp_path: Path) -> None:
    """Alembic's runs share module-wide proxies: without one run at a time per process, a second
    database's run wrote through the first's ("table delivery already exists", KeyError 'script')."""
    urls = [f"sqlite:///{tmp_path / f'own-{i}.db'}" for i in range(REPLICAS)]
    if POSTGRES_URL:
        urls += [database_url("postgres", tmp_path) for _ in range(2)]
    engines = [make_engine(url) for url in urls]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        start.wait()
        try:
            migrate(engine)
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(engine,), daemon=True) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    for engine in engines:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            assert versions == [head]
            assert connection.execute(text("SELECT count(*) FROM gameday")).scalar() == 0
        engine.dispose()


def test_replicas_opening_a_new_sqlite_file_together_all_switch_it_to_wal(tmp_path: Path) -> None:
    """Each new connection switches the file to WAL; SQLite refuses a concurrent switch at once rather
    than waiting (without the retry, about one round in twenty failed with "database is locked")."""
    for round_ in range(60):
        url = f"sqlite:///{tmp_path / f'new-{round_}.db'}"
        engines = [make_engine(url) for _ in range(6)]
        start = threading.Barrier(len(engines))
        errors: list[BaseException] = []

        def connect(engine: Engine, start: threading.Barrier, errors: list[BaseException]) -> None:
            start.wait()
            try:
                with engine.connect() as connection:
                    assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            except BaseException as exc:  # collected: the assertion below names it
                errors.append(exc)

        threads = [threading.Thread(target=connect, args=(e, start, errors), daemon=True) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for engine in engines:
            engine.dispose()
        assert not errors, f"round {round_}: {[f'{type(e).__name__}: {e}' for e in errors]}"

"""The stores every storage-touching test runs on: memory, SQLite, and PostgreSQL when CI provides it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import text

from bot.gameday.memory_store import MemoryStore
from bot.gameday.ports import GameDayStore
from storage.database import make_engine, migrate
from storage.sql_store import SqlStore

POSTGRES_URL = os.environ.get("SCE_TEST_POSTGRES_URL")
if os.environ.get("CI") and not POSTGRES_URL:
    raise RuntimeError("CI must provide SCE_TEST_POSTGRES_URL (.ci/run starts PostgreSQL)")
STORES = ["memory", "sqlite"] + (["postgres"] if POSTGRES_URL else [])


_TEMPLATE: str | None = None  # this process's migrated template database, made on first use


def _create_database(name: str, template: str | None = None) -> None:
    assert POSTGRES_URL
    clause = f' TEMPLATE "{template}"' if template else ""
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    admin.dispose()


def _url(name: str) -> str:
    assert POSTGRES_URL
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


def fresh_postgres_url(migrated: bool = False) -> str:
    """A new database on the test server, so tests never see each other's rows.

    Empty, or with ``migrated`` a copy of one migrated to the newest schema: PostgreSQL copies a
    template database in a fraction of the time the migrations take. The template is this process's
    own (pytest-xdist workers each make theirs) and nothing stays connected to it, as copying requires.
    """
    global _TEMPLATE
    template = None
    if migrated:
        if _TEMPLATE is None:
            name = f"sce_template_{uuid.uuid4().hex[:12]}"
            _create_database(name)
            engine = make_engine(_url(name))
            migrate(engine)
            engine.dispose()
            _TEMPLATE = name
        template = _TEMPLATE
    name = f"sce_{uuid.uuid4().hex[:12]}"
    _create_database(name, template)
    return _url(name)


def database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'sce.db'}"
    if kind == "postgres":
        return fresh_postgres_url()
    raise ValueError(kind)


def make_store(kind: str, tmp_path: Path) -> GameDayStore:
    if kind == "memory":
        return MemoryStore()
    url = fresh_postgres_url(migrated=True) if kind == "postgres" else database_url(kind, tmp_path)
    engine = make_engine(url)
    migrate(engine)  # a no-op on the migrated copy, as at a restart
    return SqlStore(engine)

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


def fresh_postgres_url() -> str:
    """A new empty database on the test server, so tests never see each other's rows."""
    assert POSTGRES_URL
    name = f"sce_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


def database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'sce.db'}"
    if kind == "postgres":
        return fresh_postgres_url()
    raise ValueError(kind)


def make_store(kind: str, tmp_path: Path) -> GameDayStore:
    if kind == "memory":
        return MemoryStore()
    engine = make_engine(database_url(kind, tmp_path))
    migrate(engine)
    return SqlStore(engine)

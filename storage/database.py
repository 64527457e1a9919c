"""Database engines for SQLite and PostgreSQL, and migrations applied at start-up."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x5CE_0001
"""PostgreSQL advisory lock key: replicas starting together migrate one after the other."""
_MIGRATING = threading.Lock()
"""Alembic runs a migration through module-wide proxies (``alembic.op``, ``alembic.context``): two runs
in one process at once, even on two databases, would write through each other's. One at a time here."""
HOLDS_WRITER = "sce_holds_writer"
SQLITE_BUSY_SECONDS = 30


def normalize_url(url: str) -> str:
    """Accept the plain ``postgresql://`` URLs platforms hand out; use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def shown_url(url: str) -> str:
    """The database URL as messages may show it: any password (in the user part or the query) as ***."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL SQLAlchemy reads: hide whatever stands before an @
        shown = re.sub(r"[^/@\s]*@", "***@", url)
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", shown)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's begin hook issue BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        _switch_to_wal(cursor)
        # in WAL mode a commit is durable against the process dying without an fsync of its own; the WAL
        # is synced at each checkpoint. A power cut or an OS crash may lose the last commits (SECURITY.md)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """WAL mode, once per database file. Replicas opening a new file at the same moment all switch it:
    the switch escalates a read lock to an exclusive one, which SQLite refuses at once instead of
    waiting (waiting could deadlock), so a refused switch is tried again until the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def read_engine(engine: Engine) -> Engine:
    """An engine for reads of one statement each. On SQLite (WAL) a reader sees the last commit without
    taking the one write lock, so a status lookup never queues behind a step posting to Slack. On
    PostgreSQL the same pool in autocommit: a read is its statement alone, without a BEGIN and a
    ROLLBACK around it (a third of the statements a step cost)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine  # an in-memory SQLite database exists only on its own connection
    reader = create_engine(
        engine.url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}
    )
    _sqlite_pragmas(reader)
    return reader


def make_engine(url: str) -> Engine:
    """An engine whose transactions lock: BEGIN IMMEDIATE on SQLite, row locks on PostgreSQL."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS})

        _sqlite_pragmas(engine)

        # One writer at a time: the whole transaction holds the write lock from its start. Threads of
        # this process queue on a lock of their own first, handed over the moment it is free, instead
        # of SQLite's busy handler, which polls with sleeps of up to 100 ms.
        writer = threading.Lock()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            if not writer.acquire(timeout=SQLITE_BUSY_SECONDS):  # as SQLite's own busy timeout would
                raise sqlite3.OperationalError("database is locked")
            connection.info[HOLDS_WRITER] = True
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(connection)
                raise

        def _release(connection: Any) -> None:
            if connection.info.pop(HOLDS_WRITER, False):
                writer.release()

        event.listen(engine, "commit", _release)
        event.listen(engine, "rollback", _release)

        @event.listens_for(engine.pool, "checkin")
        def _checkin(_dbapi_connection: Any, record: Any) -> None:
            # a connection back in the pool holds no transaction, whatever way it ended
            if record is not None and record.info.pop(HOLDS_WRITER, False):
                writer.release()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent; safe at every start).

    Several replicas may start at once on one PostgreSQL: each waits for the advisory lock, so the
    first creates the tables and the others find them there (SQLite's BEGIN IMMEDIATE does the same).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _MIGRATING, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def head_revision() -> str:
    """The newest migration this version of sce knows."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None, "the migrations folder has no head"
    return head


def known_revisions() -> frozenset[str]:
    """Every migration this version of sce knows; a database at another one was migrated by a newer sce."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(script.revision for script in ScriptDirectory.from_config(config).walk_revisions())


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at; None for a database sce has not created its schema in yet."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()

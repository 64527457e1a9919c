"""The replay guard in the database: one row per signed request seen, kept until its window closes."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine, Table, create_engine, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.runtime.replay_guard import PRUNE_EVERY_SECONDS, MemoryReplayGuard
from storage.tables import SeenRequestRow

# SQLModel sets __table__ on table models at class creation:
SEEN_TABLE: Table = SeenRequestRow.__table__  # type: ignore[attr-defined]
WRITE_BEHIND_SECONDS = 0.5
GUARD_CONNECTIONS = 4  # PostgreSQL: the guard's own pool (one short statement per signed request)
log = logging.getLogger(__name__)


class SqlReplayGuard:
    """``first_time`` is one INSERT ... ON CONFLICT DO NOTHING: the replica that inserts the row wins.

    On PostgreSQL the guard has a small pool of its own, in autocommit and with ``synchronous_commit
    off``: each signed request costs one statement and one round trip (it cost five: a ping, BEGIN, SET
    LOCAL, the INSERT and COMMIT, and at 8 requests at once that was most of the time before an ack).
    The commit does not wait for the disk: a crash of PostgreSQL can forget the last few milliseconds of
    signatures, never accept a forged one. A connection found dead (PostgreSQL restarted) is replaced
    and the statement sent once more, instead of pinging before every use.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._writer = (
            create_engine(
                engine.url,
                isolation_level="AUTOCOMMIT",
                pool_size=GUARD_CONNECTIONS,
                max_overflow=GUARD_CONNECTIONS,
                connect_args={"options": "-c synchronous_commit=off"},
            )
            if self._postgres
            else engine
        )
        self._pruned_at = 0.0

    def first_time(self, key: str, expires_at: float, now: float) -> bool:
        if not self._postgres:
            return self._first_time_sqlite(key, expires_at, now)
        statement = (
            pg_insert(SEEN_TABLE)
            .values(key=key, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(SEEN_TABLE.c.key)
        )
        for attempt in (1, 2):
            try:
                with self._writer.connect() as connection:
                    inserted = connection.execute(statement).first() is not None
                    if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
                        self._pruned_at = now
                        connection.execute(delete(SEEN_TABLE).where(SEEN_TABLE.c.expires_at <= now))
                return inserted
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def _first_time_sqlite(self, key: str, expires_at: float, now: float) -> bool:
        """SQLite answers from memory (WrittenBehindReplayGuard); this path tests the table itself."""
        table = SEEN_TABLE
        with self.engine.begin() as connection:
            seen = connection.execute(
                select(func.count()).select_from(table).where(table.c.key == key)
            ).scalar_one()
            inserted = not seen
            if inserted:
                connection.execute(insert(table).values(key=key, expires_at=expires_at))
            if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
                connection.execute(delete(table).where(table.c.expires_at <= now))
                self._pruned_at = now
        return inserted

    def close(self) -> None:
        if self._writer is not self.engine:  # every row is already committed
            self._writer.dispose()


class WrittenBehindReplayGuard:
    """SQLite's guard: answered from memory (no wait for the one write lock before Slack's ack), the keys
    written to the table every half second, and the windows still open read back at start-up."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.memory = MemoryReplayGuard()
        self._pending: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pruned_at = 0.0
        with engine.connect() as connection:
            rows = connection.execute(
                select(SEEN_TABLE.c.key, SEEN_TABLE.c.expires_at).where(SEEN_TABLE.c.expires_at > time.time())
            ).all()
        for key, expires_at in rows:
            self.memory.remember(key, expires_at)
        self._thread = threading.Thread(target=self._write_behind, name="sce-replay-guard", daemon=True)
        self._thread.start()

    def first_time(self, key: str, expires_at: float, now: float) -> bool:
        if not self.memory.first_time(key, expires_at, now):
            return False
        with self._lock:
            self._pending.append({"key": key, "expires_at": expires_at})
        return True

    def flush(self) -> None:
        with self._lock:
            rows, self._pending = self._pending, []
        now = time.time()
        prune = now - self._pruned_at >= PRUNE_EVERY_SECONDS
        if not rows and not prune:
            return
        try:
            with self.engine.begin() as connection:
                if rows:
                    connection.execute(insert(SEEN_TABLE).prefix_with("OR IGNORE"), rows)
                if prune:
                    connection.execute(delete(SEEN_TABLE).where(SEEN_TABLE.c.expires_at <= now))
            self._pruned_at = now if prune else self._pruned_at
        except SQLAlchemyError as exc:  # memory still guards this process; the next flush tries again
            log.warning("could not write %d seen request(s): %s", len(rows), exc.__class__.__name__)
            with self._lock:
                self._pending[:0] = rows

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.flush()

    def _write_behind(self) -> None:
        while not self._stop.wait(WRITE_BEHIND_SECONDS):
            self.flush()

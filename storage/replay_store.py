"""The replay guard in the database: one row per signed request seen, kept until its window closes."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, Insert, Table, create_engine, delete, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.runtime.replay_guard import PRUNE_EVERY_SECONDS, MemoryReplayGuard
from storage.tables import SeenRequestRow

# SQLModel sets __table__ on table models at class creation:
SEEN_TABLE: Table = SeenRequestRow.__table__  # type: ignore[attr-defined]
WRITE_BEHIND_SECONDS = 0.5
GUARD_CONNECTIONS = 4  # PostgreSQL: the guard's own pool (one short statement per signed request)
GROUP_MOST = 200  # keys in one INSERT at most
INSERT_SEEN = (
    "INSERT INTO seen_request (key, expires_at) SELECT * FROM unnest(%s::varchar[], %s::float8[]) "
    "ON CONFLICT (key) DO NOTHING RETURNING key"
)
log = logging.getLogger(__name__)


@dataclass
class _Asked:
    """One request's key waiting for the INSERT it shares with the requests that came with it."""

    key: str
    expires_at: float
    first: bool | None = None
    error: BaseException | None = None

    @property
    def answered(self) -> bool:
        return self.first is not None or self.error is not None


class SqlReplayGuard:
    """``first_time`` is an INSERT ... ON CONFLICT DO NOTHING: the replica that inserts the row wins.

    On PostgreSQL the guard has a small pool of its own, in autocommit and with ``synchronous_commit
    off``: a statement needs no BEGIN, SET LOCAL or COMMIT around it, and its commit does not wait for the
    disk (a crash of PostgreSQL can forget the last few milliseconds of signatures, never accept a forged
    one). The requests that arrive while an INSERT is in flight share the next one (group commit): at 8
    requests at once that is one round trip for all of them instead of 8 queued at the server. A request
    alone is sent at once. A connection found dead (PostgreSQL restarted) is replaced and the statement
    sent once more, instead of pinging before every use.
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
        self._asked: list[_Asked] = []
        self._sending = False
        self._turn = threading.Condition()

    def first_time(self, key: str, expires_at: float, now: float) -> bool:
        if not self._postgres:
            return self._first_time_sqlite(key, expires_at, now)
        asked = _Asked(key, expires_at)
        with self._turn:
            self._asked.append(asked)
        while True:
            with self._turn:
                while not asked.answered and self._sending:
                    self._turn.wait()
                if asked.answered:
                    break
                # no INSERT in flight: this thread sends the one for everything waiting, its own included
                self._sending = True
                batch, self._asked = self._asked[:GROUP_MOST], self._asked[GROUP_MOST:]
            try:
                self._answer(batch, now)
            finally:
                with self._turn:
                    self._sending = False
                    self._turn.notify_all()
        if asked.error is not None:
            raise asked.error
        return bool(asked.first)

    def _answer(self, batch: list[_Asked], now: float) -> None:
        """One INSERT for the batch; of the same key asked twice in it, only the first is first."""
        try:
            inserted = self._insert({a.key: a.expires_at for a in batch}, now)
        except BaseException as exc:
            for a in batch:
                a.error = exc
            return
        for a in batch:
            a.first = a.key in inserted
            inserted.discard(a.key)

    def _insert(self, keys: dict[str, float], now: float) -> set[str]:
        # one text for every batch size (arrays, not a VALUES row per key): nothing to compile per
        # request, and psycopg prepares it on the server after its first few uses
        parameters = (list(keys), list(keys.values()))
        for attempt in (1, 2):
            try:
                with self._writer.connect() as connection:
                    inserted = {row[0] for row in connection.exec_driver_sql(INSERT_SEEN, parameters)}
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
    """Answered from memory, the keys written to the table every half second, and the windows still open
    read back at start-up. SQLite's guard for every request (no wait for the one write lock before Slack's
    ack); on PostgreSQL the guard of the messages and reactions only (``bot/slack/inert.py``), whose one
    effect is keyed by what they deliver, so a replay sent to another replica changes nothing there either."""

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
                    connection.execute(_insert_new(self.engine), rows)
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


def _insert_new(engine: Engine) -> Insert:
    """An INSERT of keys that skips those already there (another replica's, a flush retried)."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(SEEN_TABLE).on_conflict_do_nothing(index_elements=["key"])
    return insert(SEEN_TABLE).prefix_with("OR IGNORE")

"""The replay guard replicas share: one row per signed request seen, kept until its window closes."""

from __future__ import annotations

from sqlalchemy import Engine, Table, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bot.replay_guard import PRUNE_EVERY_SECONDS
from storage.tables import SeenRequestRow

SEEN_TABLE: Table = SeenRequestRow.__table__  # type: ignore[attr-defined]


class SqlReplayGuard:
    """``first_time`` is one INSERT ... ON CONFLICT DO NOTHING: the replica that inserts the row wins.

    The commit does not wait for the disk (``synchronous_commit off``): a crash can forget the last few
    milliseconds of signatures, never accept a forged one, and the acknowledgement Slack waits for is not
    held up by a flush.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._pruned_at = 0.0

    def first_time(self, key: str, expires_at: float, now: float) -> bool:
        table = SEEN_TABLE
        with self.engine.begin() as connection:
            if self._postgres:
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                statement = (
                    pg_insert(table)
                    .values(key=key, expires_at=expires_at)
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(table.c.key)
                )
                inserted = connection.execute(statement).first() is not None
            else:  # SQLite keeps its guard in memory; this path serves tests of the table itself
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

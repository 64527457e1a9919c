"""The weekly digests sent (``finding_digest``: channel and ISO week): inserting the row is the claim.

Of two replicas reaching one channel's digest at once, the insert of one conflicts and it leaves the
digest to the other. A post that failed gives its claim back (``release``) so the digest is tried again.
"""

from __future__ import annotations

from sqlalchemy import Engine, Table, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.tables import DigestSentRow

DIGESTS: Table = DigestSentRow.__table__  # type: ignore[attr-defined]
C = DIGESTS.c


class DigestStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def claim(self, channel: str, week: str, at: float) -> bool:
        """Take ``channel``'s digest of ``week``; False when it is taken (sent, or being sent elsewhere)."""
        insert = sqlite_insert if self.engine.dialect.name == "sqlite" else postgresql_insert
        statement = (
            insert(DIGESTS)
            .values(channel=channel, week=week, sent_at=at)
            .on_conflict_do_nothing(index_elements=["channel", "week"])
        )
        with self.engine.begin() as connection:
            result = connection.execute(statement)
        return bool(result.rowcount)

    def release(self, channel: str, week: str) -> None:
        """Give the claim back: the post did not go out, so a later pass (any replica) sends it."""
        with self.engine.begin() as connection:
            connection.execute(delete(DIGESTS).where(C.channel == channel, C.week == week))

    def sent(self, week: str) -> set[str]:
        """The channels whose digest of ``week`` is taken."""
        with self.engine.connect() as connection:
            return set(connection.execute(select(C.channel).where(C.week == week)).scalars())

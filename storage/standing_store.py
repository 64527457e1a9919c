"""Standing approvals as rows of ``standing_approval`` (SQLite and PostgreSQL alike): given, listed,
revoked (kept for the record, never deleted), looked up by scenario through their index."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Table, insert, select, update

from bot.gameday.running.standing import StandingApproval
from storage.tables import StandingApprovalRow

APPROVALS: Table = StandingApprovalRow.__table__  # type: ignore[attr-defined]
C = APPROVALS.c


def _approval(row: Any) -> StandingApproval:
    return StandingApproval(
        id=row.id,
        scenario_id=row.scenario_id,
        scenario_hash=row.scenario_hash,
        channel=row.channel,
        granted_by=row.granted_by,
        granted_at=row.granted_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )


class StandingStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def grant(
        self, scenario_id: str, scenario_hash: str, channel: str, by: str, now: float, seconds: float
    ) -> StandingApproval:
        values = {
            "scenario_id": scenario_id,
            "scenario_hash": scenario_hash,
            "channel": channel,
            "granted_by": by,
            "granted_at": now,
            "expires_at": now + seconds,
        }
        with self.engine.begin() as connection:
            number = connection.execute(insert(APPROVALS).values(**values).returning(C.id)).scalar_one()
        return StandingApproval(id=number, **values)  # type: ignore[arg-type]

    def of_scenario(self, scenario_id: str) -> list[StandingApproval]:
        query = select(APPROVALS).where(C.scenario_id == scenario_id).order_by(C.id)
        with self.engine.connect() as connection:
            return [_approval(row) for row in connection.execute(query).all()]

    def unexpired(self, now: float, channel: str | None = None) -> list[StandingApproval]:
        """The approvals not revoked and not expired at ``now`` (given in ``channel``: None, any), oldest
        first; whether each still matches its file is for the caller to say."""
        query = select(APPROVALS).where(C.revoked_at.is_(None), C.expires_at > now).order_by(C.id)
        if channel is not None:
            query = query.where(C.channel == channel)
        with self.engine.connect() as connection:
            return [_approval(row) for row in connection.execute(query).all()]

    def revoke(self, scenario_id: str, by: str, now: float) -> int:
        """Revoke every unexpired standing approval of the scenario; how many there were."""
        statement = (
            update(APPROVALS)
            .where(C.scenario_id == scenario_id, C.revoked_at.is_(None), C.expires_at > now)
            .values(revoked_at=now, revoked_by=by)
        )
        with self.engine.begin() as connection:
            return int(connection.execute(statement).rowcount or 0)

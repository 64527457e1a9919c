"""Findings as rows of ``finding`` (SQLite and PostgreSQL alike): recorded once per game day and key,
listed through their indexes, changed only over the version they were read at (bot/gameday/findings)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Table, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.gameday.findings.model import MAX_NUMBER, Finding, FindingDraft, FindingNote, FindingState
from bot.gameday.findings.recording import FindingFilter
from bot.gameday.findings.transitions import as_of
from storage.tables import FindingRow

FINDINGS: Table = FindingRow.__table__  # type: ignore[attr-defined]
C = FINDINGS.c
CHANGING = (
    "state",
    "owner",
    "due",
    "fixing_at",
    "fixed_at",
    "verified_at",
    "accepted_until",
    "accepted_reason",
    "verified_by",
)


def _finding(row: Any) -> Finding:
    return Finding(
        number=row.id,
        gameday=row.gameday_id,
        key=row.key,
        kind=row.kind,
        scenario=row.scenario_id,
        channel=row.channel,
        text=row.text,
        state=row.state,
        step=row.step,
        technique=row.technique,
        owner=row.owner,
        due=row.due,
        created_at=row.created_at,
        fixing_at=row.fixing_at,
        fixed_at=row.fixed_at,
        verified_at=row.verified_at,
        accepted_until=row.accepted_until,
        accepted_reason=row.accepted_reason,
        notes=tuple(FindingNote.model_validate(n) for n in row.notes or ()),
        version=row.version,
        verified_by=row.verified_by,
    )


class FindingStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def record(self, drafts: Sequence[FindingDraft], channel: str, now: float) -> list[Finding]:
        """Insert the drafts whose (game day, key) is not stored yet, in one transaction; the new ones."""
        if not drafts:
            return []
        insert = sqlite_insert if self.engine.dialect.name == "sqlite" else postgresql_insert
        numbers: list[int] = []
        with self.engine.begin() as connection:
            for draft in drafts:
                values: dict[str, Any] = {
                    "gameday_id": draft.gameday,
                    "key": draft.key,
                    "kind": str(draft.kind),
                    "scenario_id": draft.scenario,
                    "channel": channel,
                    "text": draft.text,
                    "state": str(FindingState.OPEN),
                    "step": draft.step,
                    "technique": draft.technique,
                    "owner": draft.owner,
                    "due": draft.due,
                    "created_at": now,
                    "notes": [],
                    "version": 1,
                }
                statement = (
                    insert(FINDINGS)
                    .values(**values)
                    .on_conflict_do_nothing(index_elements=["gameday_id", "key"])
                    .returning(C.id)
                )
                number = connection.execute(statement).scalar()
                if number is not None:
                    numbers.append(number)
            if not numbers:
                return []
            rows = connection.execute(select(FINDINGS).where(C.id.in_(numbers)).order_by(C.id)).all()
        return [_finding(row) for row in rows]

    def get(self, number: int) -> Finding | None:
        if not 0 < number <= MAX_NUMBER:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(select(FINDINGS).where(C.id == number)).first()
        return _finding(row) if row is not None else None

    def list(self, which: FindingFilter, now: float) -> list[Finding]:
        """The findings that match, oldest first, each as it stands at ``now``."""
        query = select(FINDINGS).order_by(C.id)
        accepted = C.state == str(FindingState.ACCEPTED_RISK)
        if which.state is FindingState.OPEN:  # an acceptance that ran out is open again
            expired = and_(accepted, C.accepted_until <= now)
            query = query.where(or_(C.state == str(FindingState.OPEN), expired))
        elif which.state is FindingState.ACCEPTED_RISK:
            query = query.where(accepted, C.accepted_until > now)
        elif which.state is not None:
            query = query.where(C.state == str(which.state))
        if which.scenario is not None:
            query = query.where(C.scenario_id == which.scenario)
        if which.owner is not None:
            query = query.where(C.owner == which.owner)
        if which.channels is not None:
            query = query.where(C.channel.in_(list(which.channels)))
        if which.gameday is not None:
            query = query.where(C.gameday_id == which.gameday)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [as_of(_finding(row), now) for row in rows]

    def replace(self, before: Finding, after: Finding) -> bool:
        """Write ``after`` over ``before`` only if nobody changed the finding since it was read."""
        values: dict[str, Any] = {column: getattr(after, column) for column in CHANGING}
        values["state"] = str(after.state)
        values["notes"] = [note.model_dump(mode="json") for note in after.notes]
        values["version"] = after.version
        statement = (
            update(FINDINGS).where(C.id == before.number, C.version == before.version).values(**values)
        )
        with self.engine.begin() as connection:
            result = connection.execute(statement)
        return bool(result.rowcount)

    def ticket_of(self, number: int) -> str | None:
        """The ticket opened for finding ``number`` (its URL or key), or None."""
        if not 0 < number <= MAX_NUMBER:
            return None
        with self.engine.connect() as connection:
            return connection.execute(select(C.ticket).where(C.id == number)).scalar()

    def set_ticket(self, number: int, ref: str) -> bool:
        """Store the finding's ticket only if it has none: of two people opening one at once, one wins."""
        statement = update(FINDINGS).where(C.id == number, C.ticket.is_(None)).values(ticket=ref)
        with self.engine.begin() as connection:
            result = connection.execute(statement)
        return bool(result.rowcount)

    def ticketed(self) -> tuple[tuple[Finding, str], ...]:
        """Open and fixing findings with a ticket, oldest first: the ones `sce findings sync` asks about."""
        states = [str(FindingState.OPEN), str(FindingState.FIXING)]
        query = select(FINDINGS).where(C.ticket.is_not(None), C.state.in_(states)).order_by(C.id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return tuple((_finding(row), row.ticket) for row in rows)

    def by_ticket(self, ref: str) -> Finding | None:
        """The finding whose ticket is ``ref`` exactly (an issue URL or a Jira key), or None: a webhook
        counts only for a finding's own ticket."""
        if not ref or len(ref) > 300:  # the column's width: a longer reference is nobody's ticket
            return None
        with self.engine.connect() as connection:
            row = connection.execute(select(FINDINGS).where(C.ticket == ref).order_by(C.id)).first()
        return _finding(row) if row is not None else None


@dataclass(frozen=True)
class LoopRow:
    """A finding as the learning loop sees it (bot/gameday/findings/loop.py), read without its text."""

    scenario: str
    channel: str
    state: FindingState
    created_at: float
    fixed_at: float | None
    verified_at: float | None


def _as_of(state: str, accepted_until: float | None, now: float) -> FindingState:
    lapsed = state == str(FindingState.ACCEPTED_RISK) and accepted_until is not None and accepted_until <= now
    return FindingState.OPEN if lapsed else FindingState(state)


def loop_rows(engine: Engine, now: float) -> list[LoopRow]:
    """Every finding's loop columns in one query (`/metrics`: 50,000 findings stay a cheap scrape); an
    acceptance that ran out by ``now`` counts as open, as everywhere."""
    columns = (C.scenario_id, C.channel, C.state, C.created_at, C.fixed_at, C.verified_at, C.accepted_until)
    with engine.connect() as connection:
        rows = connection.execute(select(*columns)).all()
    return [
        LoopRow(
            scenario,
            channel,
            _as_of(state, until, now),
            created,
            fixed,
            verified,
        )
        for scenario, channel, state, created, fixed, verified, until in rows
    ]

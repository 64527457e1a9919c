"""The tables. The timeline (event) is the source of truth; the rest are indexes and durable timers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Float, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class GameDayRow(SQLModel, table=True):
    __tablename__ = "gameday"
    # `sce history` finds a scenario's finished runs in this index alone, never in the rows
    __table_args__ = (Index("ix_gameday_history", "scenario_id", "status", "channel", "id"),)

    id: str = Field(primary_key=True, max_length=64)
    scenario_id: str = Field(index=True, max_length=128)
    scenario_text: str = Field(sa_column=Column(Text, nullable=False))
    scenario_hash: str = Field(max_length=64)
    channel: str = Field(index=True, max_length=64)
    thread_ts: str | None = Field(default=None, index=True, max_length=32)
    started_by: str = Field(max_length=64)
    roster: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: float = Field(sa_column=Column(Float(precision=53), nullable=False, index=True))
    status: str = Field(index=True, max_length=32)
    dry_run: bool = False


class EventRow(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (UniqueConstraint("gameday_id", "seq", name="uq_event_gameday_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    gameday_id: str = Field(foreign_key="gameday.id", index=True, max_length=64)
    seq: int
    kind: str = Field(max_length=32)
    at: float = Field(sa_column=Column(Float(precision=53), nullable=False))
    actor: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class TimerRow(SQLModel, table=True):
    __tablename__ = "timer"

    id: int | None = Field(default=None, primary_key=True)
    gameday_id: str = Field(foreign_key="gameday.id", index=True, max_length=64)
    key: str = Field(unique=True, max_length=200)
    due_at: float = Field(sa_column=Column(Float(precision=53), nullable=False, index=True))
    kind: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", index=True, max_length=16)
    attempts: int = 0
    claimed_at: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))


class DeliveryRow(SQLModel, table=True):
    """A Slack delivery already processed: its id makes a retry a no-op."""

    __tablename__ = "delivery"

    id: str = Field(primary_key=True, max_length=200)
    gameday_id: str = Field(index=True, max_length=64)


class PageMessageRow(SQLModel, table=True):
    """Which page (or handoff) a Slack message stands for, so a reaction or click finds it."""

    __tablename__ = "page_message"

    channel: str = Field(primary_key=True, max_length=64)
    message_ts: str = Field(primary_key=True, max_length=32)
    gameday_id: str = Field(index=True, max_length=64)
    target_id: str = Field(max_length=32)


class ScheduleRow(SQLModel, table=True):
    """A game day booked for later (once, or every N days); its next start and reminders owed."""

    __tablename__ = "schedule"

    id: str = Field(primary_key=True, max_length=32)
    scenario_id: str = Field(max_length=128)
    channel: str = Field(index=True, max_length=64)
    created_by: str = Field(max_length=64)
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    next_at: float = Field(sa_column=Column(Float(precision=53), nullable=False, index=True))
    every_seconds: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    reminders_sent: int = 0
    state: str = Field(
        default="active", index=True, max_length=16
    )  # active | starting | reminding | cancelled | done
    last_gameday_id: str | None = Field(default=None, max_length=64)
    claimed_at: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    created_at: float = Field(sa_column=Column(Float(precision=53), nullable=False))


class SeenRequestRow(SQLModel, table=True):
    """A signed request already taken (its signature's hash), kept until its 5-minute window closes."""

    __tablename__ = "seen_request"

    key: str = Field(primary_key=True, max_length=64)
    expires_at: float = Field(sa_column=Column(Float(precision=53), nullable=False, index=True))


class RunSummaryRow(SQLModel, table=True):
    """What `sce history` shows of a finished game day, kept with the timeline length it was computed
    from: a longer timeline (a note after the end) makes it stale, and it is computed again."""

    __tablename__ = "gameday_summary"

    gameday_id: str = Field(foreign_key="gameday.id", primary_key=True, max_length=64)
    events: int
    started_at: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    verdict: str = Field(max_length=32)
    mtta: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    ttd: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    ttc: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    # for the programme report (migration 0009): the techniques an alert detected in time, and whether
    # the game day was a dry run; None in a row written before, which is then computed again
    detected: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    dry_run: bool | None = None


class FindingRow(SQLModel, table=True):
    """A finding of a finished game day (``F-<id>``); (gameday_id, key) makes recording it twice a no-op,
    ``version`` makes each change a compare-and-set (bot/gameday/findings)."""

    __tablename__ = "finding"
    __table_args__ = (
        UniqueConstraint("gameday_id", "key", name="uq_finding_gameday_key"),
        {"sqlite_autoincrement": True},  # an id is never handed out twice, even after a delete
    )

    # 64 bits on PostgreSQL, so every id F-<n> parses to (up to 2**63 - 1) can be asked for; SQLite's
    # INTEGER PRIMARY KEY is 64 bits already, and only it numbers rows by itself (a BIGINT key does not)
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    )
    gameday_id: str = Field(foreign_key="gameday.id", index=True, max_length=64)
    key: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    scenario_id: str = Field(index=True, max_length=128)
    channel: str = Field(index=True, max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(index=True, max_length=16)
    step: int | None = None
    technique: str | None = Field(default=None, max_length=16)
    owner: str | None = Field(default=None, index=True, max_length=64)
    due: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    created_at: float = Field(sa_column=Column(Float(precision=53), nullable=False))
    fixing_at: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    fixed_at: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    verified_at: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    accepted_until: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    accepted_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    notes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = 1
    # the ticket opened for it (a GitHub issue URL or a Jira issue key); None: none yet (migration 0008);
    # indexed (0011): a tracker's webhook looks its finding up by it
    ticket: str | None = Field(default=None, index=True, max_length=300)
    # the regression run that verified it (migration 0009)
    verified_by: str | None = Field(default=None, max_length=64)


class StandingApprovalRow(SQLModel, table=True):
    """A standing approval: an approver's yes, given in Slack, for unattended runs (`sce run`, regression
    runs) of one scenario file's exact content (its hash) until an expiry; an edited file has another
    hash, so the approval no longer matches it. Revoked ones are kept for the record."""

    __tablename__ = "standing_approval"
    __table_args__ = (Index("ix_standing_approval_scenario", "scenario_id", "scenario_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    scenario_id: str = Field(max_length=128)
    scenario_hash: str = Field(max_length=64)
    channel: str = Field(max_length=64)
    granted_by: str = Field(max_length=64)
    granted_at: float = Field(sa_column=Column(Float(precision=53), nullable=False))
    expires_at: float = Field(sa_column=Column(Float(precision=53), nullable=False))
    revoked_at: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    revoked_by: str | None = Field(default=None, max_length=64)


class DigestSentRow(SQLModel, table=True):
    """One weekly digest of overdue findings per channel and ISO week: inserting the row is the claim, so
    two replicas never both post it."""

    __tablename__ = "finding_digest"

    channel: str = Field(primary_key=True, max_length=64)
    week: str = Field(primary_key=True, max_length=16)
    sent_at: float = Field(sa_column=Column(Float(precision=53), nullable=False))


class AuditRow(SQLModel, table=True):
    """One entry of the audit ledger's hash chain (bot/gameday/audit/chain.py). ``body`` is the entry
    (canonical JSON) and what is hashed; ``gameday_id`` and ``kind`` repeat it to be looked up by."""

    __tablename__ = "audit_entry"

    seq: int = Field(sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True))
    gameday_id: str | None = Field(default=None, index=True, max_length=64)
    kind: str = Field(max_length=32)
    body: str = Field(sa_column=Column(Text, nullable=False))
    prev: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class HaltRow(SQLModel, table=True):
    """A pull of the halt lever, kept after it is lifted. ``active`` is 1 while it holds and NULL after:
    its unique index lets at most one halt hold at a time, whichever replica pulls it."""

    __tablename__ = "halt"

    id: int | None = Field(default=None, primary_key=True)
    active: int | None = Field(default=None, sa_column=Column(Integer, nullable=True, unique=True))
    halted_at: float = Field(sa_column=Column(Float(precision=53), nullable=False))
    halted_by: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(max_length=32)
    lifted_at: float | None = Field(default=None, sa_column=Column(Float(precision=53), nullable=True))
    lifted_by: str | None = Field(default=None, max_length=64)

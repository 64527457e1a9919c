"""Scheduled game days as rows; each reminder and start is claimed with a compare-and-set update, so
several replicas polling the same table send each reminder once and start each game day once."""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, or_, update
from sqlmodel import Session, col, select

from bot.gameday.running.recurrence import Recurrence
from bot.gameday.running.schedule import (
    ScheduleRequest,
    due_action,
    next_event_at,
    reminder_offsets,
    reminders_skipped,
)
from storage.tables import ScheduleRow

STALE_START_SECONDS = 300.0


@dataclass(frozen=True)
class Schedule:
    id: str
    scenario_id: str
    channel: str
    created_by: str
    options: dict[str, Any]
    next_at: float
    every_seconds: float | None
    reminders_sent: int
    state: str


@dataclass(frozen=True)
class Claimed:
    schedule: Schedule
    action: str  # "remind" | "start"


def _schedule(row: ScheduleRow) -> Schedule:
    return Schedule(
        row.id,
        row.scenario_id,
        row.channel,
        row.created_by,
        dict(row.options),
        row.next_at,
        row.every_seconds,
        row.reminders_sent,
        row.state,
    )


class ScheduleStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def create(self, request: ScheduleRequest, channel: str, created_by: str, now: float) -> Schedule:
        """The rule of a recurring booking goes into ``options`` under reserved keys (no schema change)."""
        options = dict(request.options)
        if request.recurrence is not None:
            options.update(request.recurrence.to_options())
        row = ScheduleRow(
            id=f"sch-{secrets.token_hex(3)}",
            scenario_id=request.scenario_id,
            channel=channel,
            created_by=created_by,
            options=options,
            next_at=request.first_at,
            every_seconds=request.every_seconds,
            reminders_sent=reminders_skipped(request.first_at, now, reminder_offsets(options)),
            state="active",
            created_at=now,
        )
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            session.add(row)
        return _schedule(row)

    def active(self, channel: str | None = None) -> list[Schedule]:
        with Session(self.engine) as session:
            query = select(ScheduleRow).where(col(ScheduleRow.state).in_(["active", "starting", "reminding"]))
            if channel is not None:
                query = query.where(ScheduleRow.channel == channel)
            return [_schedule(r) for r in session.exec(query.order_by(col(ScheduleRow.next_at)))]

    def cancel(self, schedule_id: str, channel: str | None = None) -> bool:
        """Cancel an active schedule; with ``channel``, only one booked into that channel."""
        query = update(ScheduleRow).where(
            col(ScheduleRow.id) == schedule_id, col(ScheduleRow.state) == "active"
        )
        if channel is not None:
            query = query.where(col(ScheduleRow.channel) == channel)
        with Session(self.engine) as session, session.begin():
            result = session.execute(query.values(state="cancelled"))
            # an UPDATE's result is a CursorResult, which has rowcount:
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def next_due_at(self) -> float | None:
        return min(
            (
                next_event_at(s.next_at, s.reminders_sent, reminder_offsets(s.options))
                for s in self.active()
                if s.state == "active"
            ),
            default=None,
        )

    def claim_due(self, now: float, skip: Collection[str] = ()) -> list[Claimed]:
        """Claim what is owed now, but for the schedules in ``skip`` (a failed reminder waiting out its
        retry); a claim only succeeds if nobody changed the row since it was read."""
        claimed: list[Claimed] = []
        for schedule in self.active():
            if schedule.state != "active" or schedule.id in skip:
                continue
            action = due_action(
                schedule.next_at, schedule.reminders_sent, now, reminder_offsets(schedule.options)
            )
            if action is None:
                continue
            # a claim is a lease: a process that dies holding it leaves it to reset_stale_claims
            values: dict[str, Any] = {
                "state": "starting" if action == "start" else "reminding",
                "claimed_at": time.time(),  # wall clock: replicas share it, whatever the game-day clock does
            }
            with Session(self.engine) as session, session.begin():
                result = session.execute(
                    update(ScheduleRow)
                    .where(
                        col(ScheduleRow.id) == schedule.id,
                        col(ScheduleRow.state) == "active",
                        col(ScheduleRow.next_at) == schedule.next_at,
                        col(ScheduleRow.reminders_sent) == schedule.reminders_sent,
                    )
                    .values(**values)
                )
            # an UPDATE's result is a CursorResult, which has rowcount:
            if result.rowcount:  # type: ignore[attr-defined]
                claimed.append(Claimed(schedule, action))
        return claimed

    def reminded(self, claim: Claimed, now: float) -> None:
        """A reminder got out: counted, and the schedule waits for its next reminder or its start."""
        s = claim.schedule
        self._release(s.id, reminders_sent=reminders_skipped(s.next_at, now, reminder_offsets(s.options)))

    def remind_again(self, claim: Claimed, now: float) -> None:
        """A reminder that did not get out is owed again (the next poll claims it)."""
        self._release(claim.schedule.id)

    def _release(self, schedule_id: str, **values: Any) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(ScheduleRow)
                .where(col(ScheduleRow.id) == schedule_id, col(ScheduleRow.state) == "reminding")
                .values(state="active", claimed_at=None, **values)
            )

    def started(self, schedule_id: str, gameday_id: str | None, now: float) -> None:
        """After a start: the next occurrence (repeating schedules: the rule's, in its zone, else every
        ``every_seconds``) or done (a one-off, or a rule whose COUNT or UNTIL is reached)."""
        with Session(self.engine) as session, session.begin():
            row = session.get(ScheduleRow, schedule_id)
            if row is None:
                return
            row.last_gameday_id, row.claimed_at = gameday_id, None
            recurrence = Recurrence.from_options(row.options)
            following = recurrence.next_after(max(now, row.next_at)) if recurrence is not None else None
            if following is not None:
                row.next_at, row.state = following, "active"
                row.reminders_sent = reminders_skipped(following, now, reminder_offsets(row.options))
            elif recurrence is not None:
                row.state = "done"
            elif row.every_seconds:
                upcoming = row.next_at + row.every_seconds
                while upcoming <= now:
                    upcoming += row.every_seconds
                row.next_at, row.state = upcoming, "active"
                row.reminders_sent = reminders_skipped(upcoming, now, reminder_offsets(row.options))
            else:
                row.state = "done"
            session.add(row)

    def reset_stale_starts(self, min_age: float = STALE_START_SECONDS) -> int:
        """Schedules left 'starting' or 'reminding' longer than a start takes (their process died, or a
        claim from before claims were leases) become active again: the start or reminder is owed again."""
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(ScheduleRow)
                .where(
                    col(ScheduleRow.state).in_(["starting", "reminding"]),
                    or_(
                        col(ScheduleRow.claimed_at).is_(None),
                        col(ScheduleRow.claimed_at) < time.time() - min_age,
                    ),
                )
                .values(state="active", claimed_at=None)
            )
            # an UPDATE's result is a CursorResult, which has rowcount:
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

"""Scheduled game days: `/sce schedule <scenario> <date> <time> [channel] [every 90d | rrule=...]`,
reminders before.

Pure rules: parsing what the facilitator typed, and what a schedule owes at a moment (a reminder 24 h
before, another 1 h before, then the start). The rows and the claiming live in storage/.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.gameday.people.mentions import literal
from bot.gameday.running.recurrence import RESERVED_PREFIX, Recurrence, RecurrenceError, parse_rule
from bot.gameday.scenario.durations import DurationError, parse_span

REMIND_BEFORE = (24 * 3600.0, 3600.0)  # the reminders, in order
USAGE = (
    "/sce schedule <scenario> <YYYY-MM-DD> <HH:MM> [#channel] [every 90d | rrule=FREQ=WEEKLY;BYDAY=MO] "
    "[tz=Europe/Berlin] [oncall=@a ...]"
)
_CHANNEL = re.compile(r"^<#(?P<id>[CG][A-Z0-9]+)(?:\|[^>]*)?>$|^(?P<bare>[CG][A-Z0-9]{2,})$")
CLASH_HORIZON = 366 * 86400.0
"""How far ahead two bookings of one channel are compared, repeats included (a year of drills)."""


class ScheduleError(ValueError):
    """A schedule request that cannot be used; the message says what would work."""


@dataclass(frozen=True)
class ScheduleRequest:
    scenario_id: str
    first_at: float
    every_seconds: float | None
    channel: str | None
    options: dict[str, str] = field(default_factory=dict)
    recurrence: Recurrence | None = None  # rrule=...: the starts follow the rule in the booking's zone


def parse_schedule(args: list[str], options: dict[str, str], now: float) -> ScheduleRequest:
    """Read `<scenario> <date> <time> [channel] [every <duration>]` plus key=value options."""
    if len(args) < 3:
        raise ScheduleError(f"Usage: `{USAGE}`")
    scenario_id, day, clock, *rest = args
    zone_name = options.get("tz", "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(
            f"`{zone_name}` is not a time zone; use a name such as Europe/Berlin or UTC."
        ) from None
    try:
        when = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone)
    except ValueError:
        raise ScheduleError(
            f"`{day} {clock}` is not a date and time; write it as 2026-12-03 14:00."
        ) from None
    first_at = when.timestamp()
    if first_at <= now:
        raise ScheduleError(f"{day} {clock} {zone_name} is in the past; pick a time ahead.")
    channel, every = None, None
    words = list(rest)
    while words:
        word = words.pop(0)
        match = _CHANNEL.match(word)
        if match:
            channel = match["id"] or match["bare"]
        elif word.lower() == "every" and words:
            every = _every(words.pop(0))
        elif word.startswith("#"):
            raise ScheduleError(
                f"`{literal(word)}` is not a channel Slack linked: type # and pick the channel from the "
                "list (one you are in), or leave it out to book into this channel."
            )
        else:
            raise ScheduleError(f"`{word}` is not understood here. Usage: `{USAGE}`")
    people = {k: v for k, v in options.items() if k in ("oncall", "primary", "secondary")}
    recurrence = None
    if "rrule" in options:
        if every is not None:
            raise ScheduleError("Give `every` or `rrule=`, not both: one booking repeats one way.")
        try:
            recurrence = parse_rule(options["rrule"], when, now)
        except RecurrenceError as exc:
            raise ScheduleError(str(exc)) from None
    return ScheduleRequest(scenario_id, first_at, every, channel, people, recurrence)


def roster_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """A schedule's options as the roster reads them: the bot's own reserved keys (the rule) left out."""
    return {k: v for k, v in options.items() if not k.startswith(RESERVED_PREFIX)}


def _every(text: str) -> float:
    try:
        seconds = parse_span(text)
    except DurationError:
        raise ScheduleError(
            f"`every {text}` is not a period; write it like `every 90d` or `every 7d`."
        ) from None
    if seconds < 3600:
        raise ScheduleError("Repeat at most once an hour (`every 1h` or longer).")
    return seconds


COMMS_REMIND_KEY = "_remind_before"
"""A booking's own reminder (its scenario's ``comms.remind_before``, for the announce channels), kept in
the schedule's options under a reserved key: no schema change."""


def comms_reminder(options: Mapping[str, Any]) -> float | None:
    """The booking's comms reminder (seconds before its start), or None."""
    try:
        seconds = float(str(options.get(COMMS_REMIND_KEY)))
    except ValueError:
        return None
    return seconds if 0 < seconds < math.inf else None


def reminder_offsets(options: Mapping[str, Any]) -> tuple[float, ...]:
    """A booking's reminders, the earliest first: the channel's (``REMIND_BEFORE``) and its comms' one."""
    extra = comms_reminder(options)
    return tuple(sorted({*REMIND_BEFORE, *([extra] if extra else [])}, reverse=True))


def due_action(
    next_at: float, reminders_sent: int, now: float, offsets: Sequence[float] = REMIND_BEFORE
) -> str | None:
    """What a schedule owes at ``now``: "remind" (the next reminder), "start", or nothing yet."""
    if now >= next_at:
        return "start"
    pending = [before for before in offsets[reminders_sent:] if now >= next_at - before]
    return "remind" if pending else None


def reminders_skipped(next_at: float, now: float, offsets: Sequence[float] = REMIND_BEFORE) -> int:
    """Reminders whose moment had already passed when the schedule was made (never sent late)."""
    return sum(1 for before in offsets if now >= next_at - before)


def reminders_due(
    next_at: float, reminders_sent: int, now: float, offsets: Sequence[float] = REMIND_BEFORE
) -> tuple[float, ...]:
    """The reminders (their offsets) a claimed "remind" at ``now`` stands for: one, or several whose
    moments all passed while nobody looked (they go out as one)."""
    return tuple(offsets[reminders_sent : reminders_skipped(next_at, now, offsets)])


def next_event_at(next_at: float, reminders_sent: int, offsets: Sequence[float] = REMIND_BEFORE) -> float:
    """When this schedule next needs attention."""
    upcoming = [next_at - before for before in offsets[reminders_sent:]]
    return min([*upcoming, next_at])


@dataclass(frozen=True)
class Slot:
    """When a booking runs: its first start, its repeat, and how long each run may last (time box)."""

    first_at: float
    every_seconds: float | None
    duration: float
    recurrence: Recurrence | None = None  # when set, the starts are the rule's from first_at on


def _runs(slot: Slot, until: float) -> Iterator[tuple[float, float]]:
    if slot.recurrence is not None:
        for start in slot.recurrence.occurrences(slot.first_at, until):
            yield start, start + slot.duration
        return
    start = slot.first_at
    while start < until:
        yield start, start + slot.duration
        if not slot.every_seconds:
            return
        start += slot.every_seconds


def first_clash(new: Slot, booked: Slot, now: float, horizon: float = CLASH_HORIZON) -> float | None:
    """The first moment two bookings of one channel would run at once, or None; repeats are followed up to
    ``horizon`` after the later of the two first starts.

    A channel runs one game day at a time, so a booking whose run would overlap another's (each run
    lasting its scenario's time box) is refused when it is made, instead of failing when it comes due.
    """
    until = max(now, new.first_at, booked.first_at) + horizon
    ours, theirs = _runs(new, until), _runs(booked, until)
    a, b = next(ours, None), next(theirs, None)
    while a is not None and b is not None:
        if a[0] < b[1] and b[0] < a[1]:
            return max(a[0], b[0])
        if a[1] <= b[1]:
            a = next(ours, None)
        else:
            b = next(theirs, None)
    return None


def clashing(new: Slot, booked: Iterable[tuple[str, Slot]], now: float) -> tuple[str, float] | None:
    """The first booking (id, when) ``new`` would overlap, or None."""
    found = [(at, label) for label, slot in booked if (at := first_clash(new, slot, now)) is not None]
    if not found:
        return None
    at, label = min(found)
    return label, at

"""Every booked game day as a calendar event (`sce calendar`, `GET /calendar.ics`): pure, schedules in,
events out; the RFC 5545 text is written at the edge (``bot/debrief/calendar_file.py``).

A booking's UID is its schedule id at a domain of the product's own (``UID_DOMAIN``), so a calendar that
subscribes to the feed updates the same event when the booking moves on after a run, and drops it when the
booking is cancelled. A rule's event starts at the rule's first game day in the rule's zone, so its COUNT
and its dates are the bot's; an `every` booking starts at its next run in UTC, repeating in fixed steps as
the bot does (`every 90d` is 90 × 24 hours, whatever daylight saving does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.gameday.running.recurrence import Recurrence
from bot.gameday.scenario.model import Guardrails, Scenario

UID_DOMAIN = "sce.invalid"  # .invalid (RFC 2606): never anybody's real domain


class Booking(Protocol):
    """What a calendar needs of a schedule (storage's ``Schedule`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def scenario_id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def next_at(self) -> float: ...
    @property
    def every_seconds(self) -> float | None: ...
    @property
    def options(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: datetime  # aware: in UTC, or in the rule's zone (a TZID)
    duration: timedelta  # the scenario's guardrails.max_duration: its time box
    scenario_id: str
    title: str  # the scenario's title (untrusted text from its file), or its id when it no longer loads
    channel: str
    hypothesis: str | None
    rrule: str | None


def every_rule(seconds: float) -> str:
    """`every 90d` as an RRULE: FREQ=DAILY;INTERVAL=90 (hours, minutes or seconds when not whole days)."""
    whole = round(seconds)
    for freq, unit in (("DAILY", 86400), ("HOURLY", 3600), ("MINUTELY", 60)):
        if whole % unit == 0:
            return f"FREQ={freq};INTERVAL={whole // unit}"
    return f"FREQ=SECONDLY;INTERVAL={whole}"


def calendar_events(
    bookings: Iterable[Booking], scenario_of: Callable[[str], Scenario | None], channel: str | None = None
) -> list[CalendarEvent]:
    """One event per active booking (only ``channel``'s when given), in the order of their next run."""
    events = []
    for booking in sorted(bookings, key=lambda b: (b.next_at, b.id)):
        if channel is not None and booking.channel != channel:
            continue
        scenario = scenario_of(booking.scenario_id)
        events.append(_event(booking, scenario))
    return events


def _event(booking: Booking, scenario: Scenario | None) -> CalendarEvent:
    recurrence = Recurrence.from_options(booking.options)
    rule: str | None
    if recurrence is not None:
        start, rule = recurrence.first.replace(tzinfo=recurrence.tz), recurrence.rule
    else:
        start = datetime.fromtimestamp(booking.next_at, UTC)
        rule = every_rule(booking.every_seconds) if booking.every_seconds else None
    max_duration = (scenario.guardrails if scenario else Guardrails()).max_duration
    return CalendarEvent(
        uid=f"{booking.id}@{UID_DOMAIN}",
        start=start,
        duration=timedelta(seconds=max_duration),
        scenario_id=booking.scenario_id,
        title=scenario.title if scenario else booking.scenario_id,
        channel=booking.channel,
        hypothesis=scenario.charter.hypothesis if scenario else None,
        rrule=rule,
    )

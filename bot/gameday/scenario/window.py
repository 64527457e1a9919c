"""A scenario's change window: the days and hours a change board allows its game days to start.

    window: {days: [mon, tue, wed, thu], from: "10:00", to: "16:00", tz: Europe/Berlin,
             blackout: [2026-12-24]}

A start is inside the window when, in the window's zone, the day is one of ``days``, it is not a
``blackout`` date (a whole local day), and the local time is at or after ``from`` and before ``to``.
``days`` left out means every day. A window does not cross midnight (``from`` must be before ``to``):
an overnight change is two scenarios, or a window ending at 23:59, so "which day" is never ambiguous.
Local time is read through zoneinfo, so a window keeps its wall-clock hours across a daylight-saving
change. Only the start is checked: a game day that starts inside its window runs to its time box.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, field_validator, model_validator

from bot.gameday.scenario.fields import StrictModel

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
MAX_BLACKOUT = 366
"""Blackout dates one window lists: a year of days; more is a mistake, not a calendar."""
SEARCH_DAYS = 366
"""How far ahead the next opening is looked for; none within a year says the window never opens."""
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_ZONE = re.compile(r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+){0,2}$")


def _weekday(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return value.strip().lower()
    shown = repr(value) if len(repr(value)) <= 20 else repr(value)[:17] + "..."
    raise ValueError(f"{shown} is not a weekday; write mon, tue, wed, thu, fri, sat or sun")


def _clock(value: object) -> object:
    """``HH:MM`` on a 24-hour clock; YAML reads an unquoted 10:00 as the number 600 (base 60)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = f"{value // 60:02d}:{value % 60:02d}"  # 25:00 unquoted is 1500: shown as written
    if isinstance(value, str) and _CLOCK.match(value.strip()):
        return value.strip()
    shown = repr(value) if len(repr(value)) <= 20 else repr(value)[:17] + "..."
    raise ValueError(f'{shown} is not a time of day; write it as "HH:MM" on a 24-hour clock, such as "10:00"')


def _iso_date(value: object) -> object:
    """A date as YAML reads ``2026-12-24``, or the same text quoted; nothing else (no number, no time)."""
    if type(value) is date:
        return value
    if isinstance(value, datetime):
        raise ValueError(
            f"{value.isoformat(' ')} is a date and time; a blackout date is a whole day: 2026-12-24"
        )
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    shown = repr(value) if len(repr(value)) <= 30 else repr(value)[:27] + "..."
    raise ValueError(f"{shown} is not a date; write blackout dates as YYYY-MM-DD, such as 2026-12-24")


Weekday = Annotated[str, BeforeValidator(_weekday)]
Clock = Annotated[str, BeforeValidator(_clock)]
BlackoutDate = Annotated[date, BeforeValidator(_iso_date)]


def zone_problem(name: str) -> str | None:
    """None when ``name`` is an IANA time zone zoneinfo knows; else the sentence saying it is not."""
    if _ZONE.match(name) and len(name) <= 64:
        try:
            ZoneInfo(name)
            return None
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    shown = name if len(name) <= 40 else name[:37] + "..."
    return f"`{shown}` is not a time zone (IANA name such as Europe/Berlin)"


class Window(StrictModel):
    """When the scenario's game days may start (see the module's docstring)."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1, max_length=7)
    from_: Clock = Field(alias="from")
    to: Clock
    tz: str
    blackout: list[BlackoutDate] = []

    @field_validator("tz")
    @classmethod
    def _zone(cls, tz: str) -> str:
        problem = zone_problem(tz)
        if problem:
            raise ValueError(problem)
        return tz

    @field_validator("blackout")
    @classmethod
    def _bounded(cls, blackout: list[date]) -> list[date]:
        if len(blackout) > MAX_BLACKOUT:
            raise ValueError(
                f"lists {len(blackout)} dates; a window has at most {MAX_BLACKOUT} blackout dates"
            )
        return blackout

    @model_validator(mode="after")
    def _opens_before_it_closes(self) -> Window:
        if self.from_ >= self.to:
            raise ValueError(
                f"`from: {self.from_}` must be before `to: {self.to}` (a window does not cross midnight)"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def opens(self) -> time:
        return time.fromisoformat(self.from_)

    @property
    def closes(self) -> time:
        return time.fromisoformat(self.to)

    def allows_day(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.days and day not in self.blackout


def in_window(window: Window, at: float) -> bool:
    """Whether a start at ``at`` (epoch seconds) is inside the window, read in the window's zone."""
    local = datetime.fromtimestamp(at, window.zone)
    return window.allows_day(local.date()) and window.opens <= local.time() < window.closes


def next_opening(window: Window, at: float) -> float | None:
    """The first instant at or after ``at`` inside the window (``at`` itself when it is inside), or None
    when the window does not open within a year. A day whose opening falls in a daylight-saving gap
    opens at the first instant of the window that exists."""
    if in_window(window, at):
        return at
    zone = window.zone
    today = datetime.fromtimestamp(at, zone).date()
    for offset in range(SEARCH_DAYS + 1):
        day = today + timedelta(days=offset)
        if not window.allows_day(day):
            continue
        opening = datetime.combine(day, window.opens, zone).timestamp()
        if opening < at:
            continue
        if in_window(window, opening):
            return opening
        closing = datetime.combine(day, window.closes, zone).timestamp()
        inside = _first_inside(window, opening, closing)
        if inside is not None:
            return inside
    return None


def _first_inside(window: Window, start: float, end: float) -> float | None:
    """The first whole minute in [start, end) inside the window (only a DST gap gets here)."""
    minute = start - start % 60
    while minute < end:
        if minute >= start and in_window(window, minute):
            return minute
        minute += 60
    return None


def describe_days(days: list[str]) -> str:
    """``Mon-Thu`` for a run of days, ``Mon, Wed, Fri`` otherwise (in week order)."""
    ordered = sorted(set(days), key=WEEKDAYS.index)
    indexes = [WEEKDAYS.index(d) for d in ordered]
    names = [d.capitalize() for d in ordered]
    if len(ordered) > 2 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        return f"{names[0]}-{names[-1]}"
    return ", ".join(names)


def describe_window(window: Window) -> str:
    """``Mon-Thu 10:00-16:00 Europe/Berlin`` (the blackout dates are said apart)."""
    return f"{describe_days(window.days)} {window.from_}-{window.to} {window.tz}"


SHOWN_BLACKOUT = 5


def describe_blackout(window: Window) -> str:
    """``blackout 2026-12-24, 2026-12-31`` (the first few, in date order, and how many more), or ""."""
    if not window.blackout:
        return ""
    dates = sorted(window.blackout)
    shown = ", ".join(d.isoformat() for d in dates[:SHOWN_BLACKOUT])
    more = f" and {len(dates) - SHOWN_BLACKOUT} more" if len(dates) > SHOWN_BLACKOUT else ""
    return f"blackout {shown}{more}"


def describe_window_in_full(window: Window) -> str:
    """The window and its blackout dates, as the kickoff and the debriefs show it."""
    blackout = describe_blackout(window)
    return describe_window(window) + (f"; {blackout}" if blackout else "")


def describe_instant(at: float, zone: ZoneInfo) -> str:
    """``Mon 2026-12-07 10:00 CET (09:00 UTC)``: the local wall clock, its zone's abbreviation, and UTC."""
    local = datetime.fromtimestamp(at, zone)
    utc = datetime.fromtimestamp(at, ZoneInfo("UTC"))
    same_day = utc.date() == local.date()
    shown_utc = utc.strftime("%H:%M") if same_day else utc.strftime("%a %Y-%m-%d %H:%M")
    return f"{local.strftime('%a %Y-%m-%d %H:%M')} {local.tzname()} ({shown_utc} UTC)"


def window_refusal(window: Window | None, at: float) -> str | None:
    """None when a start at ``at`` may go ahead; else the sentence refusing it, with the next opening."""
    if window is None or in_window(window, at):
        return None
    local_day = datetime.fromtimestamp(at, window.zone).date()
    blackout = f" ({local_day.isoformat()} is a blackout date)" if local_day in window.blackout else ""
    opening = next_opening(window, at)
    then = (
        f"the next opening is {describe_instant(opening, window.zone)}"
        if opening is not None
        else "it does not open within the next year"
    )
    return f"Outside this scenario's change window ({describe_window(window)}){blackout}; {then}."

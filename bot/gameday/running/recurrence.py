"""A booking that repeats by an RFC 5545 RRULE: `/sce schedule ... rrule=FREQ=WEEKLY;INTERVAL=13;BYDAY=MO`.

The rule is typed into Slack by anyone who may book, so it is bounded before it is used: at most
``RULE_LIMIT`` characters, only a game day's frequencies (daily to yearly, never more often than once a
day: the time of day comes from the booking's HH:MM, so BYHOUR, BYMINUTE and BYSECOND are refused),
COUNT at most ``MAX_COUNT``, an UNTIL ahead, and its first occurrence the booked date itself, so the
bot and every calendar application (which always counts DTSTART) agree on the dates.

Occurrences are wall-clock times in the booking's zone (10:00 in Berlin stays 10:00 across daylight
saving), as RFC 5545 defines them for a DTSTART with a TZID. dateutil searches up to the year 9999 for
a rule that matches nothing (a 30 February every day: seconds of CPU for one slash command); rules are
therefore evaluated in a frame shifted by whole 400-year Gregorian cycles (the same weekdays, the same
leap years) to just below 9999, which caps that search at a few centuries.

The rule lives in the schedule row's ``options`` under reserved keys (``RESERVED_PREFIX``), never read
as the roster's options; no schema change was needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

RULE_LIMIT = 200  # characters of a typed rule
MAX_COUNT = 1000
MAX_INTERVAL = 1000
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
PARTS: tuple[str, ...] = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYYEARDAY")
PARTS += ("BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST")  # in this order in a normalised rule
TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
# RFC 5545 3.3.10: parts some frequencies MUST NOT carry (calendar applications read them differently)
ONLY_WITH = {
    "BYWEEKNO": ("YEARLY",),
    "BYYEARDAY": ("YEARLY",),
    "BYMONTHDAY": ("DAILY", "MONTHLY", "YEARLY"),
}
_ORDINAL_DAY = re.compile(r"[+-]?\d")
MIN_GAP = 23 * 3600.0  # a day, the short one of a spring-forward included
CHECK_SPAN = 366 * 86400.0  # how far ahead the gaps between occurrences are checked when booking
EXAMPLE = "rrule=FREQ=WEEKLY;INTERVAL=13;BYDAY=MO"

RESERVED_PREFIX = "_"  # options under these keys are the bot's own, never a roster's
RULE_KEY, ZONE_KEY, FIRST_KEY = "_rrule", "_tz", "_first"

_SAFE_TEXT = re.compile(r"[A-Za-z0-9=;,+\- ]*")
_UNTIL = re.compile(r"(\d{8})(?:T(\d{6})(Z?))?")
_SHIFT_TARGET = 9600  # evaluated in years from here to 9999: at most ~400 years of search
_CYCLE = 400


class RecurrenceError(ValueError):
    """A rule that cannot be used; the message says what would work."""


def _shift_years(year: int) -> int:
    return max(0, (_SHIFT_TARGET - year) // _CYCLE * _CYCLE)


@dataclass(frozen=True)
class Recurrence:
    """A normalised rule (``FREQ=...;...``, UNTIL in UTC), its zone and its first occurrence (wall clock)."""

    rule: str
    zone: str
    first: datetime  # naive: wall-clock time in ``zone``

    def to_options(self) -> dict[str, str]:
        return {RULE_KEY: self.rule, ZONE_KEY: self.zone, FIRST_KEY: self.first.isoformat()}

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Recurrence | None:
        """The rule kept in a schedule's options, or None (no rule, or one that no longer reads)."""
        rule, zone, first = options.get(RULE_KEY), options.get(ZONE_KEY), options.get(FIRST_KEY)
        if not (isinstance(rule, str) and isinstance(zone, str) and isinstance(first, str)):
            return None
        try:
            found = cls(rule, zone, datetime.fromisoformat(first).replace(tzinfo=None))
            found._rule()
            ZoneInfo(zone)
        except (ValueError, TypeError, ZoneInfoNotFoundError, OSError):
            return None
        return found

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def first_at(self) -> float:
        return self.first.replace(tzinfo=self.tz).timestamp()

    def _rule(self) -> rrule:
        shift = _shift_years(self.first.year)
        text, until = _without_until(self.rule)
        found = rrulestr(text, dtstart=self.first.replace(year=self.first.year + shift))
        assert isinstance(found, rrule)  # one RRULE line, never a set
        if until is not None:
            local = until.astimezone(self.tz).replace(tzinfo=None)
            found = found.replace(until=_shifted(local, shift))
        return found

    def _local(self, moment: float) -> datetime:
        return datetime.fromtimestamp(moment, self.tz).replace(tzinfo=None)

    def _at(self, shifted: datetime) -> float:
        shift = _shift_years(self.first.year)
        return shifted.replace(year=shifted.year - shift, tzinfo=self.tz).timestamp()

    def occurrences(self, since: float, until: float) -> Iterator[float]:
        """Starts in ``[since, until)``, in order."""
        shift = _shift_years(self.first.year)
        rule = self._rule()
        start = _shifted(self._local(since) - timedelta(days=1), shift)
        for shifted in rule.xafter(start, inc=True):
            at = self._at(shifted)
            if at >= until:
                return
            if at >= since:
                yield at

    def next_after(self, moment: float) -> float | None:
        """The first start after ``moment``, or None when the rule has ended (COUNT or UNTIL)."""
        return next(self.occurrences(moment + 1e-6, float("inf")), None)


def _shifted(moment: datetime, shift: int) -> datetime:
    """``moment`` in the evaluation frame; past its end, the frame's last day (nothing is found there)."""
    if moment.year + shift > 9999:
        return datetime(9999, 12, 31)
    return moment.replace(year=moment.year + shift)


def _without_until(rule: str) -> tuple[str, datetime | None]:
    kept, until = [], None
    for part in rule.split(";"):
        if part.startswith("UNTIL="):
            until = datetime.strptime(part[6:], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        else:
            kept.append(part)
    return ";".join(kept), until


def parse_rule(text: str, first: datetime, now: float) -> Recurrence:
    """Read the rule typed after ``rrule=`` for a booking whose first start is ``first`` (aware, in the
    booking's zone); RecurrenceError with one sentence saying what would work."""
    raw = text.strip()
    if len(raw) > RULE_LIMIT:
        raise RecurrenceError(
            f"An RRULE is at most {RULE_LIMIT} characters; a game day needs only FREQ, INTERVAL, BYDAY and "
            f"COUNT or UNTIL, e.g. `{EXAMPLE}`."
        )
    if raw.upper().startswith("RRULE:"):
        raw = raw[6:]
    if not _SAFE_TEXT.fullmatch(raw):
        raise RecurrenceError(
            f"An RRULE has only letters, digits and `= ; , + -`; write it like `{EXAMPLE}`."
        )
    zone = first.tzinfo
    assert isinstance(zone, ZoneInfo), "a booking's start carries its zone"
    parts = _parts(raw)
    _check_frequency(parts)
    for key, limit in (("COUNT", MAX_COUNT), ("INTERVAL", MAX_INTERVAL)):
        if key in parts and not (parts[key].isdigit() and 1 <= int(parts[key]) <= limit):
            raise RecurrenceError(
                f"`{key}={parts[key][:12]}` is out of bounds: {key} is a whole number from 1 to {limit:,}."
            )
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceError("Give COUNT or UNTIL, not both (RFC 5545 allows one of them).")
    if "UNTIL" in parts:
        parts["UNTIL"] = _until(parts["UNTIL"], zone, now)
    rule = ";".join(f"{key}={parts[key]}" for key in PARTS if key in parts)
    recurrence = Recurrence(rule, zone.key, first.replace(tzinfo=None))
    _check_occurrences(recurrence, first)
    return recurrence


def _parts(raw: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for piece in (p.strip() for p in raw.split(";")):
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if key in TIME_PARTS:
            raise RecurrenceError(
                f"`{key}` is not taken: the time of day is the booking's HH:MM and a game day repeats at "
                "most daily; leave it out."
            )
        if key not in PARTS or not sep or not value:
            raise RecurrenceError(
                f"`{piece[:40]}` is not a part of a game-day RRULE; use FREQ, INTERVAL, COUNT, UNTIL and "
                f"BY... parts, e.g. `{EXAMPLE}`."
            )
        if key in parts:
            raise RecurrenceError(f"`{key}` is given twice; give each part of the RRULE once.")
        parts[key] = value
    return parts


def _check_frequency(parts: dict[str, str]) -> None:
    freq = parts.get("FREQ")
    if freq is None:
        raise RecurrenceError(f"An RRULE starts with FREQ (DAILY, WEEKLY, MONTHLY or YEARLY): `{EXAMPLE}`.")
    if freq not in FREQUENCIES:
        raise RecurrenceError(
            f"`FREQ={freq[:12]}` is not taken: a game day repeats at most once a day (FREQ=DAILY, WEEKLY, "
            "MONTHLY or YEARLY)."
        )
    for key, frequencies in ONLY_WITH.items():
        if key in parts and freq not in frequencies:
            raise RecurrenceError(f"`{key}` goes with FREQ={' or '.join(frequencies)} only (RFC 5545).")
    if freq not in ("MONTHLY", "YEARLY") and _ORDINAL_DAY.search(parts.get("BYDAY", "")):
        raise RecurrenceError(
            "A numbered BYDAY such as `1MO` goes with FREQ=MONTHLY or YEARLY only; write `BYDAY=MO` here."
        )


def _until(value: str, zone: ZoneInfo, now: float) -> str:
    """UNTIL in UTC, as RFC 5545 wants beside a DTSTART with a TZID; a bare date is the end of that day."""
    match = _UNTIL.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        day, clock, utc = match.groups()
        if clock is None:
            moment = datetime.strptime(day + "235959", "%Y%m%d%H%M%S").replace(tzinfo=zone)
        else:
            moment = datetime.strptime(day + clock, "%Y%m%d%H%M%S").replace(tzinfo=UTC if utc else zone)
    except ValueError:
        raise RecurrenceError(
            f"`UNTIL={value[:20]}` is not a date; write it like UNTIL=20281231 (or 20281231T120000Z)."
        ) from None
    if moment.timestamp() <= now:
        raise RecurrenceError(f"`UNTIL={value[:20]}` has passed; give a date ahead, e.g. UNTIL=20281231.")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _check_occurrences(recurrence: Recurrence, first: datetime) -> None:
    try:
        starts = list(recurrence.occurrences(first.timestamp() - 1, first.timestamp() + CHECK_SPAN))
    except (ValueError, TypeError, OverflowError, KeyError, IndexError):
        raise RecurrenceError(
            f"`{recurrence.rule[:60]}` is not an RRULE that can be read; write it like `{EXAMPLE}`."
        ) from None
    if not starts:
        raise RecurrenceError(
            "This rule has no date within a year of the booking, whose date must be its first; check its "
            f"BY... parts, e.g. `{EXAMPLE}`."
        )
    if starts[0] != first.timestamp():
        day = datetime.fromtimestamp(starts[0], first.tzinfo).strftime("%Y-%m-%d %H:%M")
        raise RecurrenceError(
            f"{first:%Y-%m-%d} is not a day of this rule, whose first game day would be {day}; book that "
            "date instead, so calendars and the bot agree."
        )
    for before, after in zip(starts, starts[1:], strict=False):
        if after - before < MIN_GAP:
            raise RecurrenceError("A game day repeats at most once a day; widen the rule's INTERVAL.")

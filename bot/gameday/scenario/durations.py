"""Durations as people write them in scenario files and commands: ``90s``, ``5m``, ``1h30m``."""

from __future__ import annotations

import math
import re

_DURATION = re.compile(r"^(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+(?:\.[0-9]+)?)s)?$")
_ZERO = re.compile(r"^0+(?:\.0+)?$")  # zero needs no unit
_FORMS = "use forms like 90s, 5m or 1h30m"


class DurationError(ValueError):
    """A duration that cannot be read; the message says what would work."""


def parse_duration(value: object) -> float:
    """Return the number of seconds in ``value``.

    Integers and floats are taken as seconds (YAML ``at: 0``); strings use ``h``, ``m`` and ``s``
    units in that order, each at most once.
    """
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration; {_FORMS}")
    if isinstance(value, int | float):
        if value < 0:
            raise DurationError(f"{value!r} is negative; durations count forward from zero")
        return _finite(value, value)
    if not isinstance(value, str):
        raise DurationError(f"{_shown(value)} is not a duration; {_FORMS}")
    text = value.strip().replace(" ", "")
    if _ZERO.match(text):
        return 0.0
    match = _DURATION.match(text)
    if not text or match is None or not any(match.groupdict().values()):
        raise DurationError(f"{_shown(value)} is not a duration; {_FORMS}")
    try:
        hours = int(match["h"] or 0)
        minutes = int(match["m"] or 0)
        seconds = float(match["s"] or 0)
    except ValueError:  # more digits than int() will read
        raise DurationError(f"{_shown(value)} is too long to be a duration; {_FORMS}") from None
    try:
        total = float(hours * 3600 + minutes * 60) + seconds
    except OverflowError:
        total = math.inf
    return _finite(total, value)


def _finite(seconds: float, value: object) -> float:
    try:
        result = float(seconds)
    except OverflowError:  # an int beyond float range
        result = math.inf
    if not math.isfinite(result):
        raise DurationError(f"{_shown(value)} is too large (or not a number) to be a duration; {_FORMS}")
    return result


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_duration(seconds: float | None) -> str:
    """Render seconds the way the scenario file writes them, for messages and debriefs."""
    if seconds is None:
        return "-"
    negative = seconds < 0
    remaining = round(abs(seconds), 3)  # round first, so 59.9996 shows as 1m and not 60s
    hours, remaining = divmod(remaining, 3600)
    minutes, secs = divmod(remaining, 60)
    parts = []
    if hours:
        parts.append(f"{int(hours)}h")
    if minutes:
        parts.append(f"{int(minutes)}m")
    if secs or not parts:
        parts.append(f"{secs:.3f}".rstrip("0").rstrip(".") + "s")
    return ("-" if negative else "") + "".join(parts)


def format_offset(at: float | None, origin: float | None) -> str:
    """A point in time as whole seconds after ``origin`` (T0), written like a duration: ``+1m40s``.

    The one function behind every time a debrief shows, in every format, so the same event never reads
    differently in two of them; whole seconds because a person reads a log, not a stopwatch.
    """
    if at is None or origin is None:
        return "-"
    delta = round(at - origin)
    return ("+" if delta >= 0 else "") + format_duration(delta)


_DAYS = re.compile(r"^([0-9]{1,6})([dw])$")


def parse_span(value: object) -> float:
    """A longer duration as people write it in commands and governance fields: whole days (``90d``) or
    weeks (``2w``), up to six digits, or any form ``parse_duration`` reads (``24h``, ``90m``).
    DurationError with the sentence otherwise."""
    if isinstance(value, str):
        days = _DAYS.match(value.strip().lower())
        if days:
            return int(days[1]) * (7 * 86400.0 if days[2] == "w" else 86400.0)
    return parse_duration(value)

"""Durations as people write them in scenario files and commands: ``90s``, ``5m``, ``1h30m``."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$")


class DurationError(ValueError):
    """A duration that cannot be read; the message says what would work."""


def parse_duration(value: object) -> float:
    """Return the number of seconds in ``value``.

    Integers and floats are taken as seconds (YAML ``at: 0``); strings use ``h``, ``m`` and ``s``
    units in that order, each at most once.
    """
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration; use forms like 90s, 5m or 1h30m")
    if isinstance(value, int | float):
        if value < 0:
            raise DurationError(f"{value!r} is negative; durations count forward from zero")
        return float(value)
    if not isinstance(value, str):
        raise DurationError(f"{value!r} is not a duration; use forms like 90s, 5m or 1h30m")
    text = value.strip().replace(" ", "")
    match = _DURATION.match(text)
    if not text or match is None or not any(match.groupdict().values()):
        raise DurationError(f"{value!r} is not a duration; use forms like 90s, 5m or 1h30m")
    hours = int(match["h"] or 0)
    minutes = int(match["m"] or 0)
    seconds = float(match["s"] or 0)
    return hours * 3600 + minutes * 60 + seconds


def format_duration(seconds: float | None) -> str:
    """Render seconds the way the scenario file writes them, for messages and debriefs."""
    if seconds is None:
        return "-"
    negative = seconds < 0
    remaining = abs(seconds)
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

"""How values look in a debrief: the filters every template shares."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.gameday.measuring.report_models import ExpectationReport
from bot.gameday.scenario.durations import format_offset

# XML 1.0 forbids most control characters even when escaped; user text may carry them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def iso(at: float | None) -> str:
    """A Unix time as UTC ISO 8601 with milliseconds; ``-`` for nothing."""
    if at is None:
        return "-"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def offset(at: float | None, origin: float | None) -> str:
    """A time as seconds after T0, written like a scenario duration: ``+1m30s`` (``format_offset``)."""
    return format_offset(at, origin)


def number(value: float | None) -> str:
    """A measured value, four significant digits (``0.002``, ``1.235e+06``); ``-`` for none."""
    return "-" if value is None else f"{value:.4g}"


def percent(ratio: float | None) -> str:
    """A 0..1 ratio as a whole percentage; ``-`` when there was nothing to measure."""
    return "-" if ratio is None else f"{ratio * 100:.0f}%"


# Inline markup anywhere in a line (CommonMark and GitHub's tables and strikethrough); an entity (&amp;)
# would show as the character it names. Each gets a backslash before it; the backslash itself comes first,
# so the backslashes added for the others are not escaped again (several times faster than re.sub).
_MD_INLINE = "\\`*_[]<>|&~!"
# Block markup where the text starts a list item or a line: a heading, a list, a quote, a rule.
_MD_LEADING = re.compile(r"^([#+\-=]|\d+(?=[.)]))")


def md_escape(value: object) -> str:
    """User text shown literally in Markdown (and inside table cells): on one line, every character
    that could start markup escaped with a backslash, as CommonMark allows for any ASCII punctuation."""
    text = " ".join(str(value).split())
    for char in _MD_INLINE:
        if char in text:
            text = text.replace(char, "\\" + char)
    match = _MD_LEADING.match(text)
    if match is None:
        return text
    lead = match[1]
    return (lead + "\\" if lead[0].isdigit() else "\\" + lead) + text[match.end() :]


def xml_text(value: object) -> str:
    """User text that XML 1.0 can hold (escaping is left to the template's autoescape)."""
    return _XML_INVALID.sub("\ufffd", str(value))


def who(user: str | None, roster: dict[str, str], people: dict[str, str] | None = None) -> str:
    """A person by name with the roster role they filled, e.g. ``alice (primary)``; the id itself when
    ``people`` has no name for it."""
    if not user:
        return "-"
    name = (people or {}).get(user) or user
    roles = [role for role, member in roster.items() if member == user]
    return f"{name} ({', '.join(roles)})" if roles else name


def name(user: str | None, people: dict[str, str]) -> str:
    """A person by the name people know them by; the id when unknown, ``-`` for nobody."""
    if not user:
        return "-"
    return people.get(user) or user


_TIMING = {"in_time": "in time", "late": "late", "never": "never happened", "pending": "still open"}


def outcome_text(expectation: ExpectationReport) -> str:
    """An expectation's outcome as every format words it: ``met, in time``, ``missed, late``, ``not
    measured``; a detection also says who made it (an alert, or a person)."""
    if not expectation.measured:
        return "not applicable" if expectation.outcome == "not_applicable" else "not measured"
    words = expectation.outcome.replace("_", " ")
    if expectation.timing and expectation.outcome in ("met", "missed"):
        words += ", " + _TIMING.get(expectation.timing, expectation.timing)
    if expectation.detected_by:
        words += f" (detected by {'an alert' if expectation.detected_by == 'alert' else 'a person'})"
    return words

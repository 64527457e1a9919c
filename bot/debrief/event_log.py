"""The debrief's event log as people read it: one line per timeline event, its time from T0 and in UTC,
and a sentence from ``templates/event_log.txt.j2`` that names people and never shows internal ids or
Python values. Plain text: the Markdown and HTML templates escape it their own way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.gameday.measuring.report_models import Debrief
from bot.gameday.scenario.durations import format_duration, format_offset

# <@U123> or <@U123|alice>, as Slack writes a mention inside message text
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_SOURCES = {
    "command": "/sce detected or /sce contain",
    "button": "a button in the thread",
    "alertmanager": "an Alertmanager alert",
    "webhook": "an alert on the webhook",
    "slack": "an alert message in Slack",
}


@dataclass(frozen=True)
class LogLine:
    offset: str  # "+1m40s" from the debrief's time origin
    utc: str  # "14:03:20"
    text: str


def person(user: object, d: Debrief) -> str:
    """Who did something: a name, an alert's name, or sce itself."""
    if not isinstance(user, str):
        user = plain(user)
    if not user:
        return "sce"
    if user in d.people:
        return d.people[user]
    if ":" in user:  # an alert's actor: "alertmanager:HighErrorRate"
        return "alert " + user.split(":", 1)[1]
    return user


def mentions(text: object, d: Debrief) -> str:
    """Text with Slack mentions shown as @name."""

    def named(match: re.Match[str]) -> str:
        return "@" + (d.people.get(match[1]) or match[2] or match[1])

    return _MENTION.sub(named, plain(text))


def source(value: object) -> str:
    text = plain(value)
    return _SOURCES.get(text, text or "unknown source")


def plain(value: object) -> str:
    """Any value as a person reads it: no Python repr of None, booleans, lists or dicts."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{plain(k)}={plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return ", ".join(plain(v) for v in value)
    return str(value)


def listed(value: object) -> list[object]:
    """A value as a list of its items (an event written with a single value, or none, still reads)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]  # None reads as "" (a filter's default still applies to it)
    return [plain(value)]


def findings(value: object) -> str:
    """A steady-state look's probes, ``; name: finding`` each (anything else in their place: nothing)."""
    probes = value if isinstance(value, list) else []
    return "".join(
        f"; {plain(p.get('name')).removeprefix('steady state: ')}: {plain(p.get('finding'))}"
        for p in probes
        if isinstance(p, dict)
    )


def wall_clock(at: float) -> str:
    """A time of day in UTC, to the second (the date is in the debrief's header)."""
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S")


_env = Environment(
    loader=PackageLoader("bot.debrief", "templates"),
    undefined=StrictUndefined,
    autoescape=False,
    auto_reload=False,
    finalize=plain,  # whatever an event's data holds, it is printed as plain text
)
_env.filters.update(
    person=person,
    mentions=mentions,
    source=source,
    plain=plain,
    listed=listed,
    dur=format_duration,
    findings=findings,
)
# a standing approval's given and expiry times: a date as well, days or weeks from the game day's own
_env.filters["day_time"] = lambda at: (
    datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC") if isinstance(at, int | float) else "?"
)


def compile_templates() -> int:
    """Compile the event log's template now (``sce serve`` at start): compiled at the first game day's
    end instead, by each publishing thread at once, it held the interpreter for a second."""
    _env.get_template("event_log.txt.j2")
    return 1


def event_log(debrief: Debrief) -> list[LogLine]:
    """Every timeline event of ``debrief`` as a line a person reads."""
    # jinja2 makes a template's macros module attributes at run time:
    line: Any = _env.get_template("event_log.txt.j2").module.line  # type: ignore[attr-defined]
    origin = debrief.time_origin
    return [
        LogLine(format_offset(e["at"], origin), wall_clock(e["at"]), " ".join(str(line(e, debrief)).split()))
        for e in debrief.timeline
    ]

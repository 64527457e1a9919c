"""The debrief in its formats: Markdown from a template, JSON from the typed model."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.gameday.durations import format_duration
from bot.gameday.report import Debrief

FORMATS = ("md", "json")


def _iso(at: float | None) -> str:
    if at is None:
        return "-"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _md_escape(value: object) -> str:
    """User text shown literally in Markdown (and inside table cells)."""
    text = " ".join(str(value).split())
    for char in ("\\", "`", "*", "|", "<", ">", "["):
        text = text.replace(char, "\\" + char)
    return text


def _details(data: dict[str, object]) -> str:
    """A timeline event's data as short `key: value` pairs for a table cell."""
    hidden = {"message_ts", "scenario_hash"}
    return ", ".join(
        f"{key}: {value}" for key, value in data.items() if key not in hidden and value is not None
    )


_env = Environment(
    loader=PackageLoader("bot.debrief", "templates"), undefined=StrictUndefined, autoescape=False
)
_env.filters["dur"] = format_duration
_env.filters["iso"] = _iso
_env.filters["mdesc"] = _md_escape
_env.filters["details"] = _details


def render_debrief(debrief: Debrief, fmt: str) -> str:
    if fmt == "json":
        return debrief.model_dump_json(indent=2) + "\n"
    if fmt == "md":
        start = debrief.started_at or 0.0
        return _env.get_template("debrief.md.j2").render(d=debrief, start=start)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")

"""`sce report`: the programme report as Markdown, a standalone HTML page (a CSS heat map of ATT&CK
coverage, no script), JSON (schema: bot/gameday/programme/schema) or an ATT&CK Navigator layer."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.debrief import formatting
from bot.debrief.render import NAVIGATOR_MAX, NAVIGATOR_VERSIONS
from bot.gameday.programme.model import ProgrammeReport
from bot.gameday.scenario.durations import format_duration

REPORT_FORMATS = ("md", "html", "json", "navigator")
COLORS = {"verified": "#31a354", "decayed": "#fdae61", "untested": "#de2d26"}
_TEMPLATES = {"md": "report.md.j2", "html": "report.html.j2", "navigator": "report.navigator.json.j2"}

_env = Environment(
    loader=PackageLoader("bot.debrief", "templates"),
    undefined=StrictUndefined,
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    auto_reload=False,
)
_env.filters["dur"] = format_duration
_env.filters["iso"] = formatting.iso
_env.filters["mdesc"] = formatting.md_escape
_env.filters["signed"] = lambda s: "-" if s is None else ("+" if s > 0 else "") + format_duration(s)
_env.filters["day"] = lambda at: "-" if at is None else formatting.iso(at)[:10]


def _parents(report: ProgrammeReport) -> dict[str, list[str]]:
    """Each parent of a listed sub-technique and its sub-techniques: the layer shows the parent expanded
    so the Navigator shows the sub-technique (as the debrief's layer does)."""
    parents: dict[str, list[str]] = {}
    for technique in report.coverage.techniques:
        if "." in technique.id:
            parents.setdefault(technique.id.split(".", 1)[0], []).append(technique.id)
    return parents


def render_report(report: ProgrammeReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    if fmt not in _TEMPLATES:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(REPORT_FORMATS)}")
    context: dict[str, Any] = {
        "r": report,
        "colors": COLORS,
        "titles": report.titles,
        "navigator": NAVIGATOR_VERSIONS,
        "score_max": NAVIGATOR_MAX,
        "parents": _parents(report),
    }
    text = _env.get_template(_TEMPLATES[fmt]).render(**context)
    return text.strip() + "\n"

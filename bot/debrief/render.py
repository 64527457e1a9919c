"""The debrief in its formats: each text from a jinja2 template, JSON from the typed model.

md and html are for people; json is the documented contract; junit puts each expectation in a CI
test report; navigator is an ATT&CK Navigator layer of the techniques simulated.
"""

from __future__ import annotations

import json

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.debrief import formatting
from bot.debrief.chart import chart_origin, timeline_chart
from bot.gameday.durations import format_duration
from bot.gameday.report import Debrief

FORMATS = ("md", "json", "html", "junit", "navigator")
# The file name each format gets in a bundle (and `sce demo`'s output folder).
EXTENSIONS = {
    "md": "md",
    "json": "json",
    "html": "html",
    "junit": "junit.xml",
    "navigator": "navigator.json",
}
_TEMPLATES = {
    "md": "debrief.md.j2",
    "html": "debrief.html.j2",
    "junit": "debrief.junit.xml.j2",
    "navigator": "debrief.navigator.json.j2",
}
# ATT&CK Navigator layer format this renderer writes, and the ATT&CK release it names.
NAVIGATOR_VERSIONS = {"attack": "16", "navigator": "5.1.0", "layer": "4.5"}
DETECTED_COLOR = "#31a354"
MISSED_COLOR = "#de2d26"

_env = Environment(
    loader=PackageLoader("bot.debrief", "templates"),
    undefined=StrictUndefined,
    autoescape=select_autoescape(enabled_extensions=("html.j2", "xml.j2"), default_for_string=False),
    trim_blocks=False,
)
_env.filters["dur"] = format_duration
_env.filters["iso"] = formatting.iso
_env.filters["mdesc"] = formatting.md_escape
_env.filters["details"] = formatting.details
_env.filters["pct"] = formatting.percent
_env.filters["xmltext"] = formatting.xml_text


def render_debrief(debrief: Debrief, fmt: str) -> str:
    """The debrief as text in one of ``FORMATS``."""
    if fmt == "json":
        return debrief.model_dump_json(indent=2) + "\n"
    if fmt not in _TEMPLATES:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    origin = chart_origin(debrief)
    template = _env.get_template(_TEMPLATES[fmt])
    text = template.render(
        d=debrief,
        start=debrief.started_at or 0.0,
        origin=origin,
        rel=lambda at: formatting.offset(at, origin),
        who=lambda user: formatting.who(user, debrief.roster),
        pages={p.id: p for p in debrief.pages},
        chart=timeline_chart(debrief) if fmt == "html" else None,
        navigator=NAVIGATOR_VERSIONS,
        colors={"detected": DETECTED_COLOR, "missed": MISSED_COLOR},
    )
    if fmt == "navigator":  # a template typo must never ship a layer Navigator refuses
        json.loads(text)
    return text

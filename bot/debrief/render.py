"""The debrief in its formats: each text from a jinja2 template, JSON from the typed model.

md and html are for people; json is the documented contract; junit puts each expectation in a CI
test report; navigator is an ATT&CK Navigator layer of the techniques simulated.
"""

from __future__ import annotations

import json
from itertools import islice
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from bot.debrief import formatting
from bot.debrief.chart import chart_origin, timeline_chart
from bot.debrief.event_log import event_log, mentions
from bot.debrief.panels import panel_charts, series_label
from bot.gameday.measuring.redaction import redact
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.scenario.attack_ids import attack_release
from bot.gameday.scenario.durations import format_duration

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
# ATT&CK Navigator layer format this renderer writes, and the ATT&CK release it names: the major version of
# the Enterprise release whose data checks the scenarios' technique ids (bot/gameday/scenario/data).
NAVIGATOR_VERSIONS = {"attack": attack_release().major, "navigator": "5.1.0", "layer": "4.5"}
# Navigator colours by TechniqueStatus: green only for an alert within detect_within
NAVIGATOR_COLORS = {
    "in_time": "#31a354",
    "late": "#fdae61",
    "missed": "#de2d26",
    "person_only": "#bdbdbd",
    "not_measured": "#bdbdbd",
    "pending": "#bdbdbd",
}
# whole numbers on 0-100: mitreattack-python builds its gradient in whole steps, and a 0-1 range with
# three colours failed to load there
NAVIGATOR_SCORES = {"in_time": 100, "late": 50, "missed": 0}  # grey ones carry no score
NAVIGATOR_MAX = 100

_env = Environment(
    loader=PackageLoader("bot.debrief", "templates"),
    undefined=StrictUndefined,
    autoescape=select_autoescape(enabled_extensions=("html.j2", "xml.j2"), default_for_string=False),
    trim_blocks=False,
    auto_reload=False,  # the templates ship with the package: compiled once, never looked at again
)
_env.filters["dur"] = format_duration
_env.filters["iso"] = formatting.iso
_env.filters["mdesc"] = formatting.md_escape
_env.filters["pct"] = formatting.percent
_env.filters["num"] = formatting.number
_env.filters["series_label"] = series_label
_env.filters["xmltext"] = formatting.xml_text
# Filters, not functions in the context: a template calls a filter directly, without Context.call's
# inspection of every callable, which costs more than the formatting itself on a long timeline.
_env.filters["rel"] = formatting.offset  # {{ at | rel(origin) }}
_env.filters["who"] = formatting.who  # {{ user | who(d.roster, d.people) }}
_env.filters["name"] = formatting.name
_env.filters["outcome_text"] = formatting.outcome_text
_env.filters["mentions"] = (
    mentions  # {{ text | mentions(d) }}: <@U1> as @alice  # {{ user | name(d.people) }}
)


def compile_templates() -> int:
    """Compile every debrief template now (``sce serve`` at start), not in the first game day's end."""
    for name in _TEMPLATES.values():
        _env.get_template(name)
    return len(_TEMPLATES)


def redacted(debrief: Debrief) -> Debrief:
    """The debrief with every literal credential in its text replaced
    (``bot.gameday.measuring.redaction``): what each format and the evidence bundle's derived files are made
    from. The same debrief when none."""
    data = debrief.model_dump()
    clean = _redact_strings(data)
    return debrief if clean is data else Debrief.model_validate(clean)


def _redact_strings(value: Any) -> Any:
    """``value`` with its strings redacted; the very same object when nothing in it changed."""
    if isinstance(value, str):
        clean = redact(value)
        return value if clean == value else clean
    if isinstance(value, dict):
        copy: dict[Any, Any] | None = None
        for key, item in value.items():
            clean = _redact_strings(item)
            if clean is not item:
                copy = copy if copy is not None else dict(value)
                copy[key] = clean
        return value if copy is None else copy
    if isinstance(value, list):
        elements = [_redact_strings(item) for item in value]
        return elements if any(a is not b for a, b in zip(elements, value, strict=True)) else value
    return value


def render_debrief(debrief: Debrief, fmt: str) -> str:
    """The debrief as text in one of ``FORMATS``, its literal credentials redacted."""
    return render_redacted(redacted(debrief), fmt)


def render_redacted(debrief: Debrief, fmt: str) -> str:
    """``render_debrief`` of a debrief ``redacted`` already (the bundle renders every format of one)."""
    if fmt == "json":
        return debrief.model_dump_json(indent=2) + "\n"
    if fmt not in _TEMPLATES:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    text = _render(_env.get_template(_TEMPLATES[fmt]), **_context(debrief, fmt))
    if fmt == "navigator":  # a template typo must never ship a layer Navigator refuses
        json.loads(text)
    return text


def _context(debrief: Debrief, fmt: str) -> dict[str, Any]:
    """What the templates see."""
    origin = chart_origin(debrief)
    return {
        "d": debrief,
        "origin": origin,
        "pages": {p.id: p for p in debrief.pages},
        "chart": timeline_chart(debrief) if fmt == "html" else None,
        "panels": panel_charts(debrief) if fmt == "html" and debrief.panels else [],
        "log": event_log(debrief) if fmt in ("md", "html") else [],
        "navigator": NAVIGATOR_VERSIONS,
        "colors": NAVIGATOR_COLORS,
        "scores": NAVIGATOR_SCORES,
        "score_max": NAVIGATOR_MAX,
        "parents": parents_shown(debrief) if fmt == "navigator" else {},
    }


def parents_shown(debrief: Debrief) -> dict[str, list[str]]:
    """Each parent technique of a sub-technique in the layer, with its sub-techniques: the layer lists
    the parent expanded (``showSubtechniques``) so the Navigator shows the sub-technique, not the
    parent's cell alone."""
    parents: dict[str, list[str]] = {}
    for technique in debrief.coverage.techniques:
        if "." in technique.id:
            parents.setdefault(technique.id.split(".", 1)[0], []).append(technique.id)
    return parents


def _render(template: Template, **context: Any) -> str:
    """``template.render(**context)``, joined as it goes.

    ``render`` keeps every piece until the end, and with autoescape each piece is a Markup, an object the
    garbage collector tracks: the HTML of a 10,000-event game day is about 100,000 of them, enough to set
    off full collections that scan the whole heap. Joined a few hundred at a time (fewer than the 700
    allocations that start a young collection), they go before the collector ever sees them.
    """
    pieces = template.generate(**context)
    chunks = []
    while chunk := list(islice(pieces, _CHUNK)):
        chunks.append("".join(chunk))
    return "".join(chunks)


_CHUNK = 256

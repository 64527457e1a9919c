"""The debrief's panels as charts (matplotlib, Agg, no display): each panel's series over the game day's
window, each fault a shaded band from applied to reverted, pages, acknowledgements, detections and
containments as vertical lines, time in seconds from the debrief's one origin (T0) as every format shows it.

SVG goes into the HTML debrief and the evidence bundle, PNG into the game day's thread. matplotlib is
imported only when a debrief has panels, so the bot starts, and other debriefs render, without it.
Titles and label values are the scenario's and Prometheus', so the SVG is made safe to inline twice over:
matplotlib escapes text, and the result is then checked against an allow-list of elements and attributes
(no script, no event handler, no reference outside the chart); a chart that fails the check is not shown.
SVG output is deterministic (fixed ids salt, no date), so the same debrief gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.debrief.chart import chart_origin
from bot.gameday.measuring.report_models import Debrief, PanelReport, SeriesReport
from bot.gameday.scenario.durations import format_offset
from bot.gameday.scenario.steady_state import parse_tolerance

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

SIZE = (9.0, 3.6)  # inches; at DPI, the PNG's pixels
DPI = 100
FAULT_COLOR = "#dc2626"
LARGEST = 1e100
MARKS = {  # kind: (legend text, colour, line style), colours as in the HTML timeline chart
    "page": ("page", "#2563eb", "-"),
    "acknowledged": ("acknowledged", "#16a34a", "--"),
    "detected": ("detected", "#ca8a04", "-."),
    "contained": ("contained", "#0f766e", ":"),
}
_RC: dict[Any, Any] = {
    "svg.hashsalt": "sce-debrief",  # ids from a fixed salt: the same chart gives the same bytes
    "svg.fonttype": "none",  # text as text (escaped by matplotlib), not glyph outlines
    "text.parse_math": False,  # a "$" in a title is a dollar, not TeX
    "text.usetex": False,
}
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_URL = re.compile(r"url\(#([\w.-]+)\)")
_SVG = "{http://www.w3.org/2000/svg}"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_ALLOWED = frozenset(
    f"{_SVG}{tag}"
    for tag in ("svg", "defs", "g", "path", "clipPath", "rect", "use", "text", "tspan", "title", "line")
)
_LOCK = threading.Lock()  # matplotlib's state is shared: one drawing at a time
_CACHE: OrderedDict[tuple[str, str], Any] = OrderedDict()  # the HTML, bundle and upload draw the same
_CACHE_SIZE = 64


@dataclass(frozen=True)
class PanelChart:
    """One panel drawn: its title, the inline ``<svg>`` element ("" when it could not be shown safely),
    and the sentence of its problem, if any."""

    number: int
    title: str
    svg: str
    problem: str | None


def panel_charts(debrief: Debrief) -> list[PanelChart]:
    """Every panel of ``debrief`` as inline SVG, in order (empty, without importing matplotlib, when none)."""
    charts = []
    for number, panel in enumerate(debrief.panels, start=1):
        svg = _drawn(debrief, panel, "svg")
        inline = _inline(svg, number) if isinstance(svg, str) else ""
        charts.append(PanelChart(number, chart_title(panel), inline, panel.problem))
    return charts


def panel_svgs(debrief: Debrief) -> dict[str, bytes]:
    """Each panel's standalone SVG file by name (``panel-1.svg``...), for the evidence bundle."""
    drawn = {f"panel-{n}.svg": _drawn(debrief, p, "svg") for n, p in _numbered(debrief)}
    return {name: svg.encode() for name, svg in drawn.items() if isinstance(svg, str)}


def panel_pngs(debrief: Debrief) -> list[tuple[str, bytes, PanelReport]]:
    """Each panel's PNG, its file name (``panel-1.png``...) and its panel: uploaded to the thread."""
    drawn = [(f"panel-{n}.png", _drawn(debrief, p, "png"), p) for n, p in _numbered(debrief)]
    return [(name, png, panel) for name, png, panel in drawn if isinstance(png, bytes)]


def chart_title(panel: PanelReport) -> str:
    title = printable(panel.title)
    return f"steady state: {title}" if panel.source == "steady_state" else title


def printable(text: str, limit: int = 120) -> str:
    """Text a chart can hold: no control characters (XML forbids them), one line, at most ``limit``."""
    text = " ".join(_UNPRINTABLE.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def series_label(series: SeriesReport) -> str:
    """A series as Prometheus writes it: ``name{label="value", ...}``."""
    labels = dict(series.labels)
    name = labels.pop("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    label = printable(f"{name}{{{inner}}}" if inner or not name else name, 80) or "{}"
    return " " + label if label.startswith("_") else label  # matplotlib hides labels starting with "_"


def _numbered(debrief: Debrief) -> list[tuple[int, PanelReport]]:
    return list(enumerate(debrief.panels, start=1))


def _drawn(debrief: Debrief, panel: PanelReport, fmt: str) -> str | bytes | None:
    """The chart in ``fmt`` ("svg" text or "png" bytes), drawn once per distinct chart; None when it
    could not be drawn (logged: a chart never keeps the debrief from posting)."""
    key = (fmt, _chart_key(debrief, panel))
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]  # type: ignore[no-any-return]
        try:
            drawn = _save(figure(debrief, panel), fmt)
        except Exception:
            log.exception("could not draw the panel %r", panel.title)
            return None
        _CACHE[key] = drawn
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return drawn


def _chart_key(debrief: Debrief, panel: PanelReport) -> str:
    """A digest of everything a chart shows: the panel, the faults, the marks and the origin."""
    faults = [(f.applied_at, f.reverted_at) for f in debrief.controls.faults]
    shown = json.dumps([panel.model_dump(), marks_of(debrief), faults, chart_origin(debrief)])
    return hashlib.sha256(shown.encode()).hexdigest()


def marks_of(debrief: Debrief) -> list[tuple[str, float]]:
    """The moments drawn as lines: each page, acknowledgement, detection and containment."""
    marks = [("page", p.paged_at) for p in debrief.pages]
    marks += [("acknowledged", p.acknowledged_at) for p in debrief.pages if p.acknowledged_at is not None]
    marks += [("detected", m.at) for m in debrief.detections]
    marks += [("contained", m.at) for m in debrief.containments]
    return marks


def fault_bands(debrief: Debrief, panel: PanelReport) -> list[tuple[float, float]]:
    """Each fault as ``(applied, reverted)`` in seconds from the origin; one still in place ends at the
    window's end."""
    origin = chart_origin(debrief)
    return [
        (f.applied_at - origin, (f.reverted_at if f.reverted_at is not None else panel.end) - origin)
        for f in debrief.controls.faults
    ]


def figure(debrief: Debrief, panel: PanelReport) -> Figure:
    """The panel's chart as a matplotlib Figure (no pyplot: nothing global, nothing shown)."""
    import matplotlib
    from matplotlib.figure import Figure

    origin = chart_origin(debrief)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
        axes = fig.add_subplot()
        for series in panel.series:
            xs = [t - origin for t, _ in series.points]
            ys = [_drawable(v) for _, v in series.points]
            few = len(xs) < 3  # a point or two shows as a dot, not as nothing
            axes.plot(xs, ys, linewidth=1.5, marker="o" if few else None, label=series_label(series))
        _tolerance(axes, panel)
        for index, (applied, reverted) in enumerate(fault_bands(debrief, panel)):
            label = "fault (applied to reverted)" if index == 0 else "_nolegend_"
            gid = f"fault-{index + 1}"  # ids in the SVG, so a reader (or a test) finds each band
            axes.axvspan(applied, reverted, color=FAULT_COLOR, alpha=0.13, linewidth=0, label=label, gid=gid)
        counts: dict[str, int] = {}
        for kind, at in marks_of(debrief):
            text, color, style = MARKS[kind]
            label = text if kind not in counts else "_nolegend_"
            counts[kind] = counts.get(kind, 0) + 1
            gid = f"{kind}-{counts[kind]}"
            axes.axvline(at - origin, color=color, linestyle=style, linewidth=1.2, label=label, gid=gid)
        axes.patch.set_gid("plot-area")
        axes.set_xlim(panel.start - origin, max(panel.end, panel.start + 1) - origin)
        axes.xaxis.set_major_formatter(lambda x, _: format_offset(origin + x, origin))
        axes.set_xlabel("time from T0")
        axes.set_title(chart_title(panel), loc="left", fontsize=11)
        axes.grid(True, alpha=0.3)
        if panel.problem:
            axes.text(
                0.5,
                0.5,
                printable(panel.problem, 160),
                transform=axes.transAxes,
                ha="center",
                va="center",
                wrap=True,
                color="#7f1d1d",
                fontsize=9,
            )
        if axes.get_legend_handles_labels()[0]:
            fig.legend(loc="outside right upper", fontsize=8, frameon=False)
    return fig


def _drawable(value: float | None) -> float:
    """A value matplotlib can scale: none is a gap, and beyond ``LARGEST`` is drawn at it (the axis of
    ±1e308 overflows; the data keeps the value)."""
    if value is None:
        return math.nan
    return max(-LARGEST, min(LARGEST, value))


def _tolerance(axes: Axes, panel: PanelReport) -> None:
    """A steady-state probe's tolerance: a band for a range, a line for a bound."""
    if not panel.expect:
        return
    try:
        tolerance = parse_tolerance(panel.expect)
    except ValueError:
        return
    label = f"tolerance {tolerance}"
    if tolerance.op == "..":
        axes.axhspan(tolerance.low, tolerance.high, color="#16a34a", alpha=0.10, label=label, gid="tolerance")
    else:
        axes.axhline(
            tolerance.low, color="#16a34a", linestyle=":", linewidth=1.2, label=label, gid="tolerance"
        )


def _save(fig: Figure, fmt: str) -> str | bytes:
    import matplotlib

    with matplotlib.rc_context(_RC):
        if fmt == "svg":
            text = io.StringIO()
            fig.savefig(text, format="svg", metadata={"Date": None, "Creator": None})
            return text.getvalue()
        data = io.BytesIO()
        fig.savefig(data, format="png", metadata={"Software": None})
        return data.getvalue()


def _inline(svg: str, number: int) -> str:
    """The ``<svg>`` element to put inside HTML, "" when it is not safe (never expected: matplotlib
    escapes text). Parsed and written again: no XML prolog, metadata or page-wide style, every id
    prefixed with the panel's number (several charts share one page), ``href`` without the xlink prefix."""
    try:
        root = fromstring(svg)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        log.error("panel %d was not shown: not well-formed XML (%s)", number, exc)
        return ""
    for dropped in [e for e in root if e.tag in (f"{_SVG}metadata", f"{_SVG}style")]:
        root.remove(dropped)
    for defs in root.iter(f"{_SVG}defs"):
        for dropped in [e for e in defs if e.tag == f"{_SVG}style"]:
            defs.remove(dropped)
    problem = unsafe(root)
    if problem:
        log.error("panel %d was not shown: %s", number, problem)
        return ""
    prefix = f"panel-{number}-"
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            if name == _XLINK_HREF:
                del element.attrib[name]
                name = "href"
            if name == "id" or name == "href":
                value = value.replace("#", "#" + prefix, 1) if name == "href" else prefix + value
            element.set(name, _URL.sub(lambda m: f"url(#{prefix}{m[1]})", value))
        element.tag = element.tag.removeprefix(_SVG)  # HTML puts <svg> and its content in SVG's namespace
    root.set("xmlns", _SVG[1:-1])
    root.set("id", f"panel-chart-{number}")
    root.set("class", "panel-chart")
    root.set("role", "img")
    return ElementTree.tostring(root, encoding="unicode")


def unsafe(root: ElementTree.Element) -> str | None:
    """Why the SVG under ``root`` is not safe to inline in HTML, or None: an element outside the
    allow-list, an event handler, or a reference to anything but an element of the chart itself."""
    for element in root.iter():
        if element.tag not in _ALLOWED:
            return f"element {element.tag} is not allowed"
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                return f"attribute {local} is not allowed"
            if local == "href" and not re.fullmatch(r"#[\w.-]+", value):
                return "a reference outside the chart"
            if "url(" in value.replace(" ", "").lower() and not _URL.fullmatch(value.strip()):
                return "a url() outside the chart"
    return None

"""The geometry of the debrief's timeline chart: one row per page on a time axis in seconds from T0.

Only numbers and labels are computed here; the SVG markup lives in ``templates/debrief.html.j2``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.debrief.formatting import offset
from bot.gameday.measuring.report_models import Debrief, HandoffReport, MarkReport, PageReport
from bot.gameday.scenario.durations import format_duration

WIDTH = 1000.0
LEFT = 170.0  # room for the row labels
RIGHT = 30.0
TOP = 34.0  # room for the labels of game-day-wide marks
ROW_HEIGHT = 40.0
AXIS_HEIGHT = 34.0
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)


@dataclass(frozen=True)
class ChartMark:
    """A point on a row; ``kind`` picks the symbol (page, escalated, acknowledged, handoff_*, ...)."""

    x: float
    kind: str
    title: str


@dataclass(frozen=True)
class ChartSpan:
    """A stretch on a row: waiting for an acknowledgement, or a handoff in flight."""

    x1: float
    x2: float
    kind: str


@dataclass(frozen=True)
class ChartRow:
    page_id: str
    label: str
    y: float
    acknowledged: bool
    marks: list[ChartMark] = field(default_factory=list)
    spans: list[ChartSpan] = field(default_factory=list)


@dataclass(frozen=True)
class ChartLine:
    """A detection or containment that names no page: it concerns every row."""

    x: float
    kind: str
    title: str

    @property
    def anchor(self) -> str:
        """Labels near the right edge run leftwards so they are not cut off."""
        return "end" if self.x > WIDTH - RIGHT - 80 else "start"


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    row_height: float
    rows: list[ChartRow]
    lines: list[ChartLine]
    ticks: list[Tick]


def timeline_chart(debrief: Debrief) -> Chart:
    """Lay out every page of the debrief as a row of marks on a shared axis starting at T0."""
    origin = chart_origin(debrief)
    people = debrief.people

    def who(user: str | None) -> str:
        return "?" if not user else people.get(user, user)

    times = _all_times(debrief)
    lo = min([0.0, *(t - origin for t in times)])
    hi = max([lo + 60.0, *(t - origin for t in times)])
    scale = _Scale(lo, hi)
    end = debrief.ended_at or max(times)
    pages = _first_page_by_id(debrief.pages)
    handoffs = _handoffs_by_page(debrief.handoffs)
    marks = _marks_by_page(debrief)
    rows = []
    for index, page in enumerate(debrief.pages):
        y = TOP + index * ROW_HEIGHT + ROW_HEIGHT / 2
        row = ChartRow(
            page.id,
            f"{page.id} · {page.severity} · {who(page.responder)}",
            y,
            page.acknowledged_at is not None,
        )
        _page_marks(
            row, pages[page.id], handoffs.get(page.id, []), marks.get(page.id, []), end, origin, scale, who
        )
        rows.append(row)
    lines = [
        ChartLine(scale.x(m.at - origin), kind, f"{kind} {offset(m.at, origin)} by {who(m.by)}")
        for kind, page_marks in (("detected", debrief.detections), ("contained", debrief.containments))
        for m in page_marks
        if m.page_id is None or m.page_id not in pages
    ]
    bottom = TOP + max(1, len(rows)) * ROW_HEIGHT
    ticks = [Tick(scale.x(t), ("+" if t > 0 else "") + format_duration(t)) for t in scale.ticks()]
    return Chart(
        WIDTH, bottom + AXIS_HEIGHT, LEFT, WIDTH - RIGHT, TOP, bottom, ROW_HEIGHT, rows, lines, ticks
    )


def chart_origin(debrief: Debrief) -> float:
    """The debrief's one time origin (``Debrief.time_origin``: T0, else the start), as every format uses."""
    return debrief.time_origin if debrief.time_origin is not None else 0.0


def _first_page_by_id(pages: list[PageReport]) -> dict[str, PageReport]:
    """Each page id to the first page carrying it: every row of an id sent twice shows that page."""
    first: dict[str, PageReport] = {}
    for page in pages:
        first.setdefault(page.id, page)
    return first


def _handoffs_by_page(handoffs: list[HandoffReport]) -> dict[str, list[HandoffReport]]:
    """The handoffs of each page, in timeline order; a handoff naming a page twice counts once."""
    by_page: dict[str, list[HandoffReport]] = {}
    for handoff in handoffs:
        for page_id in dict.fromkeys(handoff.page_ids):
            by_page.setdefault(page_id, []).append(handoff)
    return by_page


def _marks_by_page(debrief: Debrief) -> dict[str | None, list[tuple[str, MarkReport]]]:
    """The detections, then the containments, that name each page."""
    by_page: dict[str | None, list[tuple[str, MarkReport]]] = {}
    for kind, marks in (("detected", debrief.detections), ("contained", debrief.containments)):
        for mark in marks:
            by_page.setdefault(mark.page_id, []).append((kind, mark))
    return by_page


def _page_marks(
    row: ChartRow,
    page: PageReport,
    handoffs: list[HandoffReport],
    marks: list[tuple[str, MarkReport]],
    end: float,
    origin: float,
    scale: _Scale,
    who: Callable[[str | None], str],
) -> None:
    def add(at: float, kind: str, what: str) -> None:
        row.marks.append(ChartMark(scale.x(at - origin), kind, f"{what} {offset(at, origin)}"))

    until = page.acknowledged_at if page.acknowledged_at is not None else end
    row.spans.append(
        ChartSpan(
            scale.x(page.paged_at - origin), scale.x(until - origin), "wait" if row.acknowledged else "open"
        )
    )
    add(page.paged_at, "page", f"{page.id} paged {who(page.responder)}")
    if page.escalated_at is not None:
        add(page.escalated_at, "escalated", f"escalated to {who(page.escalated_to)}")
    for handoff in handoffs:
        done = handoff.completed_at
        row.spans.append(
            ChartSpan(scale.x(handoff.requested_at - origin), scale.x((done or end) - origin), "handoff")
        )
        add(
            handoff.requested_at,
            "handoff_requested",
            f"handoff {who(handoff.from_user)} → {who(handoff.to_user)}",
        )
        if done is not None:
            add(done, "handoff_completed", f"handoff taken by {who(handoff.to_user)}")
    for kind, mark in marks:
        add(mark.at, kind, f"{kind} by {who(mark.by)}")
    if page.acknowledged_at is not None:
        add(page.acknowledged_at, "acknowledged", f"acknowledged by {who(page.acknowledged_by)}")


def _all_times(debrief: Debrief) -> list[float]:
    times = [p.paged_at for p in debrief.pages]
    times += [t for p in debrief.pages for t in (p.acknowledged_at, p.escalated_at) if t is not None]
    times += [t for h in debrief.handoffs for t in (h.requested_at, h.completed_at) if t is not None]
    times += [m.at for m in (*debrief.detections, *debrief.containments)]
    if debrief.ended_at is not None:
        times.append(debrief.ended_at)
    return times or [chart_origin(debrief)]


class _Scale:
    """Seconds from T0 to x, with round-numbered ticks (at most about ten)."""

    def __init__(self, lo: float, hi: float):
        span = max(hi - lo, 1e-9)
        # beyond the largest round step, whole multiples of it, so any span keeps about ten ticks
        self.step = next(
            (s for s in _STEPS if span / s <= 10), _STEPS[-1] * math.ceil(span / 10 / _STEPS[-1])
        )
        self.lo = self.step * (lo // self.step)
        self.hi = max(self.lo + self.step, -self.step * (-hi // self.step))

    def x(self, seconds: float) -> float:
        return round(LEFT + (seconds - self.lo) / (self.hi - self.lo) * (WIDTH - LEFT - RIGHT), 2)

    def ticks(self) -> list[float]:
        count = int(round((self.hi - self.lo) / self.step))
        return [self.lo + i * self.step for i in range(count + 1)]

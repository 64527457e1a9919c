"""The panels of a game day, captured once at its end: each of the scenario's ``panels:`` and each PromQL
probe of its ``steady_state:`` asked of the team's Prometheus over the game day's window (from ``LEAD``
seconds before its start to its end), so the debrief can draw what the system did while it ran.

The queries go out before any lock is taken (``Finishing.publish`` calls ``capture`` and records what it
returns under the game day's lock, one ``panel_sampled`` event per panel). What comes back is bounded
(``MAX_SERIES`` series of ``MAX_POINTS`` points each, whatever the source sent) and a query that fails is
recorded as its one-sentence problem: a Prometheus that is down never keeps the debrief from posting.
The core asks through ``RangeQuery``, a function the edge passes in (``Prometheus.query_range``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.gameday.preflight import ProbeFailed
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import fold
from bot.gameday.timeline import Event, Kind

LEAD = 120.0  # the window opens this long before the start: how the system looked before the drill
MAX_SERIES = 10
MAX_POINTS = 400
MAX_STEADY_DRAWN = 12  # steady-state probes drawn beside the panels (the first ones)
LABEL_MAX = 200  # characters of one label name or value kept
LABELS_MAX = 30  # labels kept per series
BUDGET_SECONDS = 30.0  # real time all of one game day's queries may take; the rest are not asked


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and its ``(unix time, value)`` points (None: not a finite
    number, such as NaN or an infinity)."""

    labels: dict[str, str]
    points: list[tuple[float, float | None]]


@dataclass(frozen=True)
class RangeResult:
    """What a range query returned: at most ``MAX_SERIES`` series, and how many it had before the cap."""

    series: list[Series] = field(default_factory=list)
    total: int = 0


RangeQuery = Callable[[str, float, float, float], RangeResult]  # (promql, start, end, step); ProbeFailed


@dataclass(frozen=True)
class Wanted:
    """One chart to capture: a panel, or a steady-state probe (``expect`` its tolerance)."""

    title: str
    promql: str
    source: str  # "panel" | "steady_state"
    expect: str | None = None


def wanted(scenario: Scenario) -> list[Wanted]:
    """What the scenario asks to be drawn: its panels, then its PromQL steady-state probes."""
    charts = [Wanted(p.title, p.promql, "panel") for p in scenario.panels]
    probes = [p for p in scenario.steady_state if p.promql is not None][:MAX_STEADY_DRAWN]
    charts += [Wanted(p.name, p.promql or "", "steady_state", p.expect) for p in probes]
    return charts


def captured(events: list[Event]) -> bool:
    """Whether the panels were captured already (a replayed publish does not ask again)."""
    return any(e.kind is Kind.PANEL_SAMPLED for e in events)


def window(events: list[Event], fallback: float) -> tuple[float, float, float]:
    """``(start, end, step)``: from ``LEAD`` before the start to the end, in steps that keep every series
    within ``MAX_POINTS`` points (whole seconds, at least one)."""
    state = fold(events)
    began = (
        state.started_at if state.started_at is not None else min((e.at for e in events), default=fallback)
    )
    end = state.ended_at if state.ended_at is not None else fallback
    start = min(began - LEAD, end - 1.0)
    return start, end, step_for(start, end)


def step_for(start: float, end: float) -> float:
    """The resolution that fits ``[start, end]`` into ``MAX_POINTS`` points (at least 1 s)."""
    return float(max(1, math.ceil((end - start) / (MAX_POINTS - 1))))


def capture(
    scenario: Scenario,
    events: list[Event],
    query: RangeQuery,
    now: float,
    monotonic: Callable[[], float] = time.monotonic,
) -> list[dict[str, Any]]:
    """The data of one ``panel_sampled`` event per chart wanted (asked outside every lock).

    ``monotonic`` bounds the real time the queries take together (``BUDGET_SECONDS``): a Prometheus that
    answers each query just inside its timeout cannot hold the debrief for minutes.
    """
    start, end, step = window(events, now)
    began = monotonic()
    found = []
    for chart in wanted(scenario):
        data: dict[str, Any] = {
            "title": chart.title,
            "promql": chart.promql,
            "source": chart.source,
            "expect": chart.expect,
            "start": start,
            "end": end,
            "step": step,
            "series": [],
            "series_total": 0,
            "problem": None,
        }
        if monotonic() - began > BUDGET_SECONDS:
            data["problem"] = (
                f"not asked: Prometheus had taken more than {BUDGET_SECONDS:g} s over the charts before it"
            )
        else:
            try:
                result = query(chart.promql, start, end, step)
            except ProbeFailed as exc:
                data["problem"] = _text(str(exc), 500)
            else:
                data["series"] = [_bounded(s) for s in result.series[:MAX_SERIES]]
                data["series_total"] = max(result.total, len(result.series))
                if not result.series:
                    data["problem"] = "the query returned no data over the game day's window"
        found.append(data)
    return found


def _bounded(series: Series) -> dict[str, Any]:
    """A series as the timeline keeps it: labels and points bounded, values finite or None."""
    labels = {_text(k, LABEL_MAX): _text(v, LABEL_MAX) for k, v in list(series.labels.items())[:LABELS_MAX]}
    points = [(t, v if v is not None and math.isfinite(v) else None) for t, v in series.points]
    return {"labels": labels, "points": [list(p) for p in thinned(points)]}


def _text(text: str, limit: int) -> str:
    """Text from the network as the timeline can keep it: valid Unicode (a lone surrogate JSON can carry
    is not, and would fail every debrief built from it), at most ``limit`` characters."""
    return text[:limit].encode("utf-8", "replace").decode("utf-8")


def thinned(points: list[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    """At most ``MAX_POINTS`` of ``points``, evenly spaced, first and last kept."""
    if len(points) <= MAX_POINTS:
        return points
    last = len(points) - 1
    return [points[round(i * last / (MAX_POINTS - 1))] for i in range(MAX_POINTS)]

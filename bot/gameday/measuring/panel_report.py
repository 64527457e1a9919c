"""The panels' section of the debrief, from the timeline's ``panel_sampled`` events (``panel_capture``):
each chart's series as captured at the end, with the least, greatest and last value of each, or the one
sentence that says why it has nothing to draw. Events are read defensively: whatever a stored event holds,
the debrief still builds."""

from __future__ import annotations

import math
from typing import Any

from bot.gameday.measuring.report_models import PanelReport, SeriesReport
from bot.gameday.timeline import Event, Kind


def panel_reports(events: list[Event]) -> list[PanelReport]:
    """One report per panel captured, in the order they were recorded (one capture per game day)."""
    return [_panel(e.data) for e in events if e.kind is Kind.PANEL_SAMPLED]


def _panel(data: dict[str, Any]) -> PanelReport:
    series = [_series(s) for s in _list(data.get("series")) if isinstance(s, dict)]
    problem = data.get("problem")
    return PanelReport(
        title=str(data.get("title") or ""),
        promql=str(data.get("promql") or ""),
        source=str(data.get("source") or "panel"),
        expect=str(data["expect"]) if data.get("expect") is not None else None,
        start=_number(data.get("start")) or 0.0,
        end=_number(data.get("end")) or 0.0,
        step=_number(data.get("step")) or 0.0,
        series=series,
        series_total=max(int(_number(data.get("series_total")) or 0), len(series)),
        problem=str(problem) if problem else None,
    )


def _series(data: dict[str, Any]) -> SeriesReport:
    labels = data.get("labels")
    points = []
    for pair in _list(data.get("points")):
        if isinstance(pair, list | tuple) and len(pair) == 2 and _number(pair[0]) is not None:
            points.append((float(pair[0]), _number(pair[1])))
    values = [v for _, v in points if v is not None]
    return SeriesReport(
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        points=points,
        min=min(values, default=None),
        max=max(values, default=None),
        last=values[-1] if values else None,
    )


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []

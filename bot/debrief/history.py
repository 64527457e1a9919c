"""`sce history` and `/sce history`: the trend of one scenario as text, JSON or an SVG chart."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.debrief import formatting
from bot.gameday.measuring.report_models import LearningLoopReport
from bot.gameday.measuring.trends import HistoryRow, medians
from bot.gameday.scenario.durations import format_duration

HISTORY_FORMATS = ("text", "json", "svg")
LATEST = 20
"""Runs the text and the chart show, the newest; the medians and JSON cover every run. A scenario run
weekly for years stays one screen (and inside a Slack message), and 10,000 runs render in a millisecond."""
SERIES = (("MTTA", "mtta", "#3182bd"), ("TTD", "ttd", "#e6550d"), ("TTC", "ttc", "#31a354"))

_env = Environment(
    loader=PackageLoader("bot.debrief", "templates"),
    undefined=StrictUndefined,
    autoescape=select_autoescape(enabled_extensions=("svg.j2",), default_for_string=False),
    auto_reload=False,
)
_env.filters["dur"] = format_duration
_env.filters["iso"] = formatting.iso
_env.filters["signed"] = lambda seconds: ("+" if seconds > 0 else "") + format_duration(seconds)


def compile_templates() -> int:
    """Compile the history's templates now (``sce serve`` at start), not on the first `/sce history`."""
    for name in ("history.md.j2", "history.svg.j2"):
        _env.get_template(name)
    return 2


def render_history(
    scenario: str,
    rows: list[HistoryRow],
    fmt: str,
    latest: int = LATEST,
    learning_loop: LearningLoopReport | None = None,
) -> str:
    """``latest``: how many of the newest runs the text and the chart show (0: every run);
    ``learning_loop``: the scenario's findings from found to fixed to verified (text and JSON)."""
    if fmt == "json":
        document: dict[str, object] = {"scenario": scenario, "runs": [asdict(r) for r in rows]}
        if learning_loop is not None:
            document["learning_loop"] = learning_loop.model_dump(mode="json", exclude={"team", "this_run"})
        return json.dumps(document, indent=2) + "\n"
    shown = rows[-latest:] if latest > 0 else rows
    if fmt == "text":
        text = _env.get_template("history.md.j2").render(
            scenario=scenario, rows=shown, total=len(rows), medians=medians(rows), ll=learning_loop
        )
        return text.strip() + "\n"
    if fmt == "svg":
        return history_chart(scenario, shown)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(HISTORY_FORMATS)}")


def history_chart(scenario: str, rows: list[HistoryRow]) -> str:
    """A line per metric, a point per run; runs without a value leave a gap in the points."""
    width, height, left, right, top, bottom = 720, 320, 60, 620, 40, 280
    values = [getattr(r, key) for r in rows for _, key, _ in SERIES if getattr(r, key) is not None]
    peak = max(values, default=1.0) or 1.0
    step = (right - left) / max(1, len(rows) - 1)
    lines = []
    for index, (name, key, color) in enumerate(SERIES):
        marks = [
            (
                round(left + i * step, 1),
                round(bottom - (getattr(r, key) / peak) * (bottom - top), 1),
                format_duration(getattr(r, key)),
            )
            for i, r in enumerate(rows)
            if getattr(r, key) is not None
        ]
        points = " ".join(f"{x},{y}" for x, y, _ in marks)
        lines.append(
            {"name": name, "color": color, "points": points, "marks": marks, "label_y": top + 16 * index}
        )
    ticks = [
        (round(left + i * step, 1), datetime.fromtimestamp(r.started_at or 0, UTC).strftime("%m-%d"))
        for i, r in enumerate(rows)
    ]
    return _env.get_template("history.svg.j2").render(
        scenario=scenario,
        rows=rows,
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        peak=peak,
        lines=lines,
        ticks=ticks,
    )

"""How cost grows with history: the debrief and a thread reply against the size of the timeline, `sce
history` against the number of past game days. Each curve is a table, a chart (PNG) and one line on how
it grows.

In this process: the timelines are `bench.debrief`'s busy pager-stress game day; past game days are rows
written straight into a migrated SQLite file (a finished run of a dozen events each), then read the way
`sce history` reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select

from bench import reply_curve
from bench.databases import sqlite_url
from bench.debrief import T0, finished_record, timed, timeline
from bench.procs import ROOT
from bench.results import Curve, Row, Section
from bot.debrief.history import render_history
from bot.debrief.render import render_debrief
from bot.gameday.measuring.trends import finished_summaries
from bot.gameday.measuring.trends import history as history_rows
from bot.gameday.ports import GameDayRecord
from bot.gameday.running.engine import build_debrief_for
from bot.gameday.timeline import Event, Kind
from storage.database import make_engine, migrate
from storage.sql_store import EVENT_TABLE, GAMEDAY_TABLE, SqlStore

HISTORY_TARGET_S = 0.5  # `sce history` over 10,000 past game days


@dataclass(frozen=True)
class Config:
    events: tuple[int, ...]
    past: tuple[int, ...]
    repeats: int
    replies: int  # notes timed at each timeline size


FULL = Config(events=(1_000, 10_000, 100_000), past=(100, 1_000, 10_000), repeats=3, replies=50)
QUICK = Config(events=(100, 1_000), past=(10, 100), repeats=1, replies=5)


def debrief_curve(config: Config, text: str) -> Curve:
    ours: list[float | None] = []
    floor: list[float | None] = []
    for size in config.events:
        events = timeline(size, text)
        record = finished_record("gd-bench", text, T0)
        repeats = 1 if size >= 100_000 else config.repeats

        def build(record: GameDayRecord = record, events: list[Event] = events) -> str:
            return render_debrief(build_debrief_for(record, events), "json")

        def dump(events: list[Event] = events) -> str:
            return json.dumps([e.to_json() for e in events])

        _, built = timed(build, repeats)
        _, dumped = timed(dump, repeats)
        ours.append(built * 1000)
        floor.append(dumped * 1000)
    return Curve(
        "debrief-by-timeline",
        "Debrief (build + JSON) against timeline size",
        "events in the timeline",
        "ms",
        list(config.events),
        {"sce debrief --format json": ours, "json.dumps of the timeline": floor},
        why="the debrief folds each event once and renders each note and page once; nothing in it compares "
        "events with each other.",
        baselines=frozenset({"json.dumps of the timeline"}),
    )


def _past_run(index: int) -> list[tuple[Kind, float, str | None, dict[str, object]]]:
    """A finished pager-stress run: two pages acknowledged, detected, contained, ended."""
    t0 = T0 + index * 3600.0
    late = index % 7  # runs differ, so the history's changes are not all zero

    def page(page_id: str, step: int, responder: str) -> dict[str, object]:
        summary = "Simulated: impossible travel"
        return {
            "page_id": page_id,
            "step": step,
            "responder": responder,
            "severity": "SEV-2",
            "summary": summary,
            "message_ts": f"{t0 + step:.6f}",
        }

    return [
        (Kind.STARTED, t0, "UFAC", {"scenario": "pager-stress", "status": "running", "dry_run": False}),
        (Kind.PAGE_SENT, t0 + 60, None, page("p0", 0, "U1")),
        (Kind.STEP_RAN, t0 + 60, None, {"step": 0, "kind": "page"}),
        (Kind.ACKNOWLEDGED, t0 + 90 + late, "U1", {"page_id": "p0"}),
        (Kind.PAGE_SENT, t0 + 120, None, page("p1", 1, "U2")),
        (Kind.STEP_RAN, t0 + 120, None, {"step": 1, "kind": "page"}),
        (Kind.ACKNOWLEDGED, t0 + 180 + late, "U2", {"page_id": "p1"}),
        (Kind.DETECTED, t0 + 200 + late, "U1", {"source": "slack", "page_id": "p0"}),
        (Kind.NOTE, t0 + 220, "U1", {"kind": "gap", "text": "no step for the token", "step": 1}),
        (Kind.CONTAINED, t0 + 400 + late, "U2", {"source": "slack", "page_id": "p1"}),
        (Kind.ENDED, t0 + 420, None, {"status": "completed", "reason": "every step ran"}),
    ]


def write_past_runs(url: str, count: int, text: str) -> SqlStore:
    """``count`` finished runs written in one transaction, as rows (what sce would have stored)."""
    engine = make_engine(url)
    migrate(engine)
    gamedays, events = [], []
    for i in range(count):
        gameday_id = f"gd-{i:08x}"
        record = finished_record(gameday_id, text, T0 + i * 3600.0)
        gamedays.append({**record.__dict__})
        for seq, (kind, at, actor, data) in enumerate(_past_run(i), start=1):
            if kind is Kind.STARTED:
                data = {**data, "scenario_hash": record.scenario_hash, "roster": record.roster}
            events.append(
                {
                    "gameday_id": gameday_id,
                    "seq": seq,
                    "kind": kind.value,
                    "at": at,
                    "actor": actor,
                    "data": data,
                }
            )
    with engine.begin() as connection:
        connection.execute(insert(GAMEDAY_TABLE), [_columns(g) for g in gamedays])
        connection.execute(insert(EVENT_TABLE), events)
    return SqlStore(engine)


def _columns(row: dict[str, object]) -> dict[str, object]:
    return {c.name: row[c.name] for c in GAMEDAY_TABLE.columns if c.name in row}


def history_curve(config: Config, text: str, run_dir: Path) -> tuple[Curve, list[float]]:
    """The curve (warm runs: every summary kept), and each size's first run, which computes them all."""
    ours: list[float | None] = []
    floor: list[float | None] = []
    colds: list[float] = []
    for count in config.past:
        store = write_past_runs(sqlite_url(run_dir, f"history-{count}"), count, text)

        def sce_history(store: SqlStore = store) -> str:
            return render_history(
                "pager-stress", history_rows(finished_summaries(store, "pager-stress")), "text"
            )

        def read_rows(store: SqlStore = store) -> int:
            with store.engine.connect() as connection:
                return len(connection.execute(select(EVENT_TABLE)).all())

        cold, took = timed(sce_history, config.repeats)
        _, read = timed(read_rows, config.repeats)
        colds.append(cold)
        ours.append(took * 1000)
        floor.append(read * 1000)
        store.engine.dispose()
    curve = Curve(
        "history-by-past-gamedays",
        "sce history against past game days",
        "finished game days of the scenario",
        "ms",
        list(config.past),
        {"sce history": ours, "reading their events (SELECT)": floor},
        why="one kept summary row per past run, read in one indexed query; the medians sort the runs' "
        "figures (n log n), and the text shows only the newest 20.",
        baselines=frozenset({"reading their events (SELECT)"}),
    )
    return curve, colds


def run(run_dir: Path, quick: bool) -> Section:
    config = QUICK if quick else FULL
    text = (ROOT / "scenarios" / "pager-stress.yaml").read_text()
    section = Section(
        "Growth with history",
        "json.dumps of the timeline (debrief); one event row inserted and committed (a note); a SELECT of "
        "the same game days' events (history)",
    )
    history, colds = history_curve(config, text, run_dir)
    section.notes.append(
        "`sce history` keeps a summary per finished run (`gameday_summary`); the curve is of runs that "
        "find them kept. The first run over runs without one builds every debrief and keeps its summary: "
        + ", ".join(f"{cold:.2f} s at {n:,}" for n, cold in zip(config.past, colds, strict=True))
        + "."
    )
    replies = reply_curve.curve(run_dir, config.events, config.replies, text)
    for curve in (debrief_curve(config, text), replies, history):
        section.curves.append(curve)
        name, values = next(iter(curve.series.items()))
        base = list(curve.series.values())[1]
        last = len(curve.xs) - 1
        target, met = ("", None)
        if curve.name.startswith("history"):  # judged at 10,000 past game days only
            target = f"< {HISTORY_TARGET_S * 1000:.0f} ms at 10,000"
            met = (values[last] or 0) < HISTORY_TARGET_S * 1000 if curve.xs[last] >= 10_000 else None
        section.add(
            Row(f"{name} at {curve.xs[last]:,} {curve.x_label}", values[last], "ms", base[last], target, met)
        )
    return section

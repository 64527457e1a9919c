"""Debrief rendering: every format for one very long game day, against json.dumps of its timeline.

The timeline is a pager-stress game day grown to N events the way a busy one grows: pages, some
escalated, acknowledgements, handoffs, detections, containments, log lines and many thread notes.
Each format is timed as `sce debrief` and `/sce debrief` do it: fold the timeline into the debrief,
then render. Times are the median of a few warm runs (the first, cold run is reported in the notes).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.procs import ROOT
from bench.results import Row, Section
from bench.stats import median
from bot.debrief.render import FORMATS, render_debrief
from bot.gameday.ports import GameDayRecord
from bot.gameday.running.engine import build_debrief_for
from bot.gameday.scenario.model import content_hash
from bot.gameday.timeline import Event, Kind

T0 = 1_800_000_000.0
NOTE_KINDS = ("gap", "note", "action", "decision", "update")
TARGET_S = 1.0


@dataclass(frozen=True)
class Config:
    events: int
    repeats: int


FULL, QUICK = Config(events=10_000, repeats=5), Config(events=500, repeats=1)


class Timeline:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.at = T0

    def add(self, kind: Kind, actor: str | None, data: dict[str, Any], after: float = 5.0) -> None:
        self.at += after
        self.events.append(Event(len(self.events) + 1, kind, self.at, actor, data))


def timeline(size: int, scenario_text: str) -> list[Event]:
    """A finished game day of exactly ``size`` events."""
    t = Timeline()
    roster = {"primary": "U1", "secondary": "U2"}
    t.add(
        Kind.STARTED,
        "UFAC",
        {
            "scenario": "pager-stress",
            "scenario_hash": content_hash(scenario_text),
            "roster": roster,
            "status": "running",
            "dry_run": False,
        },
        after=0,
    )
    k = 0
    while len(t.events) < size - 1:
        page_id, step = f"p{k}", k % 4
        t.add(
            Kind.PAGE_SENT,
            None,
            {
                "page_id": page_id,
                "step": step,
                "responder": "U1",
                "severity": "SEV-2",
                "summary": f"Simulated: impossible travel #{k} <b>&</b>",
                "message_ts": f"{t.at:.6f}",
            },
        )
        t.add(Kind.STEP_RAN, None, {"step": step, "kind": "page"}, after=0.2)
        t.add(
            Kind.SAID,
            None,
            {
                "step": step,
                "text": f"log excerpt {k}: `login ok ip=203.0.113.{k % 250}`",
                "message_ts": f"{t.at:.6f}",
            },
        )
        if k % 3 == 0:
            t.add(
                Kind.ESCALATED, None, {"page_id": page_id, "to": "U2", "message_ts": f"{t.at:.6f}"}, after=180
            )
        t.add(Kind.ACKNOWLEDGED, "U2" if k % 3 == 0 else "U1", {"page_id": page_id}, after=30)
        if k % 5 == 0:
            t.add(
                Kind.HANDOFF_REQUESTED,
                None,
                {
                    "handoff_id": f"h{k}",
                    "page_ids": [page_id],
                    "from": "U1",
                    "to": "U2",
                    "message_ts": f"{t.at:.6f}",
                },
            )
            t.add(Kind.HANDOFF_COMPLETED, "U2", {"handoff_id": f"h{k}"}, after=60)
        t.add(Kind.DETECTED, "U1", {"source": "slack", "page_id": page_id})
        for n in range(10):
            kind = NOTE_KINDS[n % len(NOTE_KINDS)]
            t.add(
                Kind.NOTE,
                "U1" if n % 2 else "U2",
                {"kind": kind, "text": f"{kind} {k}.{n}: checked <the> runbook & logs", "step": step},
                after=7,
            )
        t.add(Kind.CONTAINED, "U2", {"source": "slack", "page_id": page_id})
        k += 1
    del t.events[size - 1 :]
    t.add(Kind.ENDED, None, {"status": "completed", "reason": "ended by <@UFAC>"})
    return t.events


def finished_record(gameday_id: str, text: str, created_at: float) -> GameDayRecord:
    """A completed pager-stress game day's record in channel C1."""
    return GameDayRecord(
        id=gameday_id,
        scenario_id="pager-stress",
        scenario_text=text,
        scenario_hash=content_hash(text),
        channel="C1",
        started_by="UFAC",
        roster={"primary": "U1", "secondary": "U2"},
        created_at=created_at,
        status="completed",
        thread_ts=f"{created_at:.6f}",
    )


def timed(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(first run, median of the warm runs after it) in seconds."""
    runs = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        call()
        runs.append(time.perf_counter() - start)
    return runs[0], median(runs[1:] or runs)


def run(quick: bool) -> Section:
    config = QUICK if quick else FULL
    section = Section("Debrief rendering", "json.dumps of the same timeline (list of events as dicts)")
    text = (ROOT / "scenarios" / "pager-stress.yaml").read_text()
    events = timeline(config.events, text)
    record = finished_record("gd-bench", text, T0)
    _, floor = timed(lambda: json.dumps([e.to_json() for e in events]), config.repeats)
    cold_build, build = timed(lambda: build_debrief_for(record, events), config.repeats)
    debrief = build_debrief_for(record, events)
    colds = []
    for fmt in FORMATS:
        cold, warm = timed(lambda fmt=fmt: render_debrief(debrief, fmt), config.repeats)  # type: ignore[misc]
        colds.append(f"{fmt} {(cold_build + cold) * 1000:.0f} ms")
        size = len(render_debrief(debrief, fmt))
        section.add(
            Row(
                f"{fmt}: build + render ({size / 1024:,.0f} KiB)",
                (build + warm) * 1000,
                "ms",
                floor * 1000,
                f"< {TARGET_S:g} s",
                build + warm < TARGET_S,
            )
        )
    section.notes.append(
        f"{len(events):,} events ({len(debrief.pages)} pages, "
        f"{len(debrief.notes) + len(debrief.gaps)} notes and gaps); "
        f"building the debrief (fold + metrics) takes {build * 1000:.0f} ms of each figure. Median of "
        f"{config.repeats} warm runs; first (cold) runs: {', '.join(colds)}."
    )
    return section

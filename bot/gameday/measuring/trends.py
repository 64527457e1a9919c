"""Trends across runs of one scenario: MTTA, TTD and TTC per run and the change against the run before."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.gameday.measuring.run_summary import RunSummary, kept_summary
from bot.gameday.ports import GameDayStore
from bot.gameday.running.engine import build_debrief_for

BATCH = 500  # summaries computed between two writes


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


@dataclass(frozen=True)
class HistoryRow(RunSummary):
    """A run as the history shows it: its summary and the change against the run before."""

    mtta_change: float | None
    ttd_change: float | None
    ttc_change: float | None


def history(runs: Sequence[RunSummary]) -> list[HistoryRow]:
    """One row per run, oldest first; a change is this run minus the previous run (negative: faster)."""
    ordered = sorted(runs, key=lambda r: (r.started_at or 0.0, r.gameday_id))
    rows: list[HistoryRow] = []
    previous: RunSummary | None = None
    for r in ordered:
        p = previous
        rows.append(
            HistoryRow(
                gameday_id=r.gameday_id,
                started_at=r.started_at,
                verdict=r.verdict,
                mtta=r.mtta,
                ttd=r.ttd,
                ttc=r.ttc,
                mtta_change=_change(r.mtta, p.mtta if p else None),
                ttd_change=_change(r.ttd, p.ttd if p else None),
                ttc_change=_change(r.ttc, p.ttc if p else None),
            )
        )
        previous = r
    return rows


def medians(runs: Sequence[RunSummary]) -> dict[str, float | None]:
    """The median MTTA, TTD and TTC over the runs that have each (None: no run has it)."""
    out: dict[str, float | None] = {}
    for key in ("mtta", "ttd", "ttc"):
        values = [v for v in (getattr(r, key) for r in runs) if v is not None]
        out[key] = statistics.median(values) if values else None
    return out


def finished_summaries(store: GameDayStore, scenario_id: str, channel: str | None = None) -> list[RunSummary]:
    """Every finished run of one scenario (in one channel, when given): the stored summaries, and for
    a run without one (or with a stale one) its debrief computed now and its summary kept for next time."""
    return [RunSummary.from_json(kept) for kept in kept_summaries(store, scenario_id, channel)]


def kept_summaries(
    store: GameDayStore, scenario_id: str | None, channel: str | None = None, batch: int = BATCH
) -> list[dict[str, Any]]:
    """The kept summary (``kept_summary``) of every finished run of a scenario (of every scenario:
    None). One query reads those kept; a missing or stale one is computed from its timeline and kept,
    ``batch`` at a time, so an interrupted first run keeps what it computed."""
    found: list[dict[str, Any]] = []
    missing: list[str] = []
    for gameday_id, kept in store.run_summaries(scenario_id, channel):
        if kept is not None:
            found.append(kept)
        else:
            missing.append(gameday_id)
    for first in range(0, len(missing), batch):
        fresh: dict[str, tuple[int, dict[str, Any]]] = {}
        for gameday_id in missing[first : first + batch]:
            record, events = store.get(gameday_id), store.events(gameday_id)
            if record is None:
                continue
            summary = kept_summary(record, build_debrief_for(record, events))
            fresh[gameday_id] = (len(events), summary)
            found.append(summary)
        store.save_run_summaries(fresh)
    return found

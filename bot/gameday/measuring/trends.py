"""Trends across runs of one scenario: MTTA, TTD and TTC per run and the change against the run before."""

from __future__ import annotations

from dataclasses import dataclass

from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import GameDayStore
from bot.gameday.running.engine import build_debrief_for


@dataclass(frozen=True)
class HistoryRow:
    gameday_id: str
    started_at: float | None
    verdict: str
    mtta: float | None
    ttd: float | None
    ttc: float | None
    mtta_change: float | None
    ttd_change: float | None
    ttc_change: float | None


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def history(debriefs: list[Debrief]) -> list[HistoryRow]:
    """One row per run, oldest first; a change is this run minus the previous run (negative: faster)."""
    ordered = sorted(debriefs, key=lambda d: d.started_at or 0.0)
    rows: list[HistoryRow] = []
    previous: Debrief | None = None
    for d in ordered:
        m, p = d.metrics, previous.metrics if previous else None
        rows.append(
            HistoryRow(
                gameday_id=d.id,
                started_at=d.started_at,
                verdict=d.verdict,
                mtta=m.mtta_seconds,
                ttd=m.ttd_seconds,
                ttc=m.ttc_seconds,
                mtta_change=_change(m.mtta_seconds, p.mtta_seconds if p else None),
                ttd_change=_change(m.ttd_seconds, p.ttd_seconds if p else None),
                ttc_change=_change(m.ttc_seconds, p.ttc_seconds if p else None),
            )
        )
        previous = d
    return rows


def finished_debriefs(store: GameDayStore, scenario_id: str, channel: str | None = None) -> list[Debrief]:
    """The debriefs of every finished run of one scenario (in one channel, when given), recomputed."""
    return [
        build_debrief_for(r, store.events(r.id))
        for r in store.all()
        if r.scenario_id == scenario_id
        and r.status in ("completed", "aborted", "failed")
        and (channel is None or r.channel == channel)
    ]

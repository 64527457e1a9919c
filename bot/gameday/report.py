"""The debrief as data: computed from the timeline alone, so it can be recomputed at any time.

Its JSON form (``sce debrief --format json``) is a product contract documented in the README.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from bot.gameday import metrics
from bot.gameday.scenario import Scenario
from bot.gameday.state import GameDayState, Note, PageState, Status, fold
from bot.gameday.timeline import Event

SCHEMA_VERSION = 1


class PageReport(BaseModel):
    id: str
    step: int
    severity: str
    summary: str
    responder: str
    paged_at: float
    acknowledged_at: float | None
    acknowledged_by: str | None
    tta_seconds: float | None
    escalated: bool
    escalated_to: str | None
    escalated_at: float | None


class HandoffReport(BaseModel):
    id: str
    from_user: str | None
    to_user: str
    requested_at: float
    completed_at: float | None
    latency_seconds: float | None


class ExpectationReport(BaseModel):
    name: str
    target_seconds: float
    actual_seconds: float | None
    met: bool | None
    outcome: str


class NoteReport(BaseModel):
    kind: str
    text: str
    by: str | None
    at: float
    step: int | None


class MetricsReport(BaseModel):
    mtta_seconds: float | None
    mttc_seconds: float | None
    ttd_seconds: float | None
    ttc_seconds: float | None
    pages_total: int
    pages_unacknowledged: int
    escalations: int
    handoff_latency_seconds: list[float]


class Debrief(BaseModel):
    schema_version: int = SCHEMA_VERSION
    id: str
    scenario: str
    title: str
    status: str
    verdict: str
    hypothesis: str
    started_at: float | None
    ended_at: float | None
    end_reason: str | None
    roster: dict[str, str]
    metrics: MetricsReport
    pages: list[PageReport]
    handoffs: list[HandoffReport]
    expectations: list[ExpectationReport]
    missed: list[str]
    gaps: list[NoteReport]
    notes: list[NoteReport]
    questions: list[str]
    timeline: list[dict[str, Any]]


def build_debrief(
    gameday_id: str, scenario: Scenario, roster: dict[str, str], events: list[Event], now: float
) -> Debrief:
    """Compute the whole debrief from the timeline; ``now`` decides expectations still open."""
    state = fold(events)
    final = state.status.is_over
    results = metrics.expectation_results(state, scenario.expect, now=now, final=final)
    verdict = metrics.verdict(state, results)
    return Debrief(
        id=gameday_id,
        scenario=scenario.id,
        title=scenario.title,
        status=str(state.status),
        verdict=str(verdict),
        hypothesis=scenario.charter.hypothesis,
        started_at=state.started_at,
        ended_at=state.ended_at,
        end_reason=state.end_reason,
        roster=roster,
        metrics=_metrics(state),
        pages=[_page(p) for p in state.pages.values()],
        handoffs=[
            HandoffReport(
                id=h.handoff_id,
                from_user=h.from_user,
                to_user=h.to_user,
                requested_at=h.requested_at,
                completed_at=h.completed_at,
                latency_seconds=h.latency,
            )
            for h in state.handoffs
        ],
        expectations=[
            ExpectationReport(
                name=r.name,
                target_seconds=r.target_seconds,
                actual_seconds=r.actual_seconds,
                met=r.met,
                outcome=str(r.outcome),
            )
            for r in results
        ],
        missed=[r.name for r in results if r.outcome is metrics.Outcome.MISSED],
        gaps=[_note(n) for n in state.notes if n.kind == "gap"],
        notes=[_note(n) for n in state.notes if n.kind != "gap"],
        questions=list(scenario.debrief.questions),
        timeline=[e.to_json() for e in events],
    )


def _metrics(state: GameDayState) -> MetricsReport:
    return MetricsReport(
        mtta_seconds=metrics.mean_time_to_acknowledge(state),
        mttc_seconds=metrics.mean_time_to_contain(state),
        ttd_seconds=metrics.time_to_detect(state),
        ttc_seconds=metrics.time_to_contain(state),
        pages_total=len(state.pages),
        pages_unacknowledged=len(state.open_pages()),
        escalations=sum(1 for p in state.pages.values() if p.escalated_at is not None),
        handoff_latency_seconds=list(metrics.handoff_latencies(state).values()),
    )


def _page(page: PageState) -> PageReport:
    return PageReport(
        id=page.page_id,
        step=page.step,
        severity=page.severity,
        summary=page.summary,
        responder=page.responder,
        paged_at=page.paged_at,
        acknowledged_at=page.acknowledged_at,
        acknowledged_by=page.acknowledged_by,
        tta_seconds=page.tta,
        escalated=page.escalated_at is not None,
        escalated_to=page.escalated_to,
        escalated_at=page.escalated_at,
    )


def _note(note: Note) -> NoteReport:
    return NoteReport(kind=note.kind, text=note.text, by=note.by, at=note.at, step=note.step)


def is_over(events: list[Event]) -> bool:
    return fold(events).status in (Status.COMPLETED, Status.ABORTED, Status.FAILED)

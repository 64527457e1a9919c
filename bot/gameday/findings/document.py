"""A finding as `sce findings --format json` prints it: the contract fields of the spec (``id``,
``state``, ``scenario``, ``gameday``, ``kind``, ``text``, ``owner``, ``created_at``, ``fixed_at``,
``verified_at``) and the others. Fields are only ever added; the JSON Schema in ``schema/`` is
generated from this model (``python -m bot.gameday.findings.schema``)."""

from __future__ import annotations

from pydantic import BaseModel

from bot.gameday.findings.model import Finding, FindingKind, FindingNote, FindingState
from bot.gameday.findings.speed import loop_durations


class FindingDocument(BaseModel):
    id: str
    state: FindingState
    scenario: str
    gameday: str
    kind: FindingKind
    text: str
    owner: str | None
    created_at: float
    fixed_at: float | None
    verified_at: float | None
    step: int | None = None
    technique: str | None = None
    due: float | None = None
    fixing_at: float | None = None
    accepted_until: float | None = None
    accepted_reason: str | None = None
    notes: list[FindingNote] = []
    found_to_fixed_seconds: float | None = None
    fixed_to_verified_seconds: float | None = None
    verified_by: str | None = None  # the regression run (its game day id) that verified it


def finding_document(finding: Finding) -> FindingDocument:
    durations = loop_durations(finding)
    return FindingDocument(
        id=finding.id,
        state=finding.state,
        scenario=finding.scenario,
        gameday=finding.gameday,
        kind=finding.kind,
        text=finding.text,
        owner=finding.owner,
        created_at=finding.created_at,
        fixed_at=finding.fixed_at,
        verified_at=finding.verified_at,
        step=finding.step,
        technique=finding.technique,
        due=finding.due,
        fixing_at=finding.fixing_at,
        accepted_until=finding.accepted_until,
        accepted_reason=finding.accepted_reason,
        notes=list(finding.notes),
        found_to_fixed_seconds=durations.found_to_fixed,
        fixed_to_verified_seconds=durations.fixed_to_verified,
        verified_by=finding.verified_by,
    )

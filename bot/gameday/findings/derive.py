"""The findings a finished game day yields, read off its debrief.

Every gap note and every action item, every expectation the verdict counts as missed and every inject
that nothing detected. Each has a key stable for its game day: a note's is a digest of when, by whom and
what was written (a note processed late still gets the same key), an expectation's its name, an inject's
its id; so recording a debrief again (a replayed publish, a late note) adds only what is new.
"""

from __future__ import annotations

import hashlib

from bot.gameday.findings.model import FindingDraft, FindingKind
from bot.gameday.measuring.report_models import Debrief, ExpectationReport, InjectReport, NoteReport
from bot.gameday.scenario.durations import format_duration
from bot.gameday.state import Status

TEXT_LIMIT = 2000
"""Characters of a note kept as a finding's text (the debrief keeps the whole note)."""


def findings_from(debrief: Debrief) -> list[FindingDraft]:
    """The findings of a finished game day (none of one still running: its gaps may yet be answered)."""
    if debrief.status not in {str(s) for s in Status if s.is_over}:
        return []
    technique = debrief.attack[0] if debrief.attack else None

    def draft(key: str, kind: FindingKind, text: str, step: int | None, owner: str | None) -> FindingDraft:
        return FindingDraft(
            gameday=debrief.id,
            scenario=debrief.scenario,
            technique=technique,
            key=key,
            kind=kind,
            text=text.strip()[:TEXT_LIMIT],
            step=step,
            owner=owner,
        )

    # whoever raised a gap or an action item owns it until someone else takes it
    drafts = [draft(_note_key(n, "gap"), FindingKind.GAP, n.text, n.step, n.by) for n in debrief.gaps]
    drafts += [
        draft(_note_key(n, "action"), FindingKind.ACTION, n.text, n.step, n.by) for n in debrief.actions
    ]
    drafts += [
        draft(f"missed:{e.name}", FindingKind.MISSED, _missed_text(e), None, None)
        for e in debrief.expectations
        if e.name in debrief.missed
    ]
    drafts += [
        draft(f"missed-inject:{i.id}", FindingKind.MISSED, _inject_text(i), i.step, None)
        for i in debrief.injects
        if i.status == "missed"
    ]
    return drafts


def _note_key(note: NoteReport, kind: str) -> str:
    digest = hashlib.sha256(f"{note.at!r}|{note.by}|{note.text}".encode()).hexdigest()[:16]
    return f"{kind}:{digest}"


def _missed_text(expectation: ExpectationReport) -> str:
    target = format_duration(expectation.target_seconds)
    if expectation.actual_seconds is None:
        return f"Expectation {expectation.name} missed: it never happened (target {target})."
    actual = format_duration(expectation.actual_seconds)
    return f"Expectation {expectation.name} missed: it took {actual} (target {target})."


def _inject_text(inject: InjectReport) -> str:
    where = f" at step {inject.step}" if inject.step is not None else ""
    why = f": {inject.comment}" if inject.comment else ""
    return f"Inject {inject.id} ({inject.type}){where} was not detected{why}"

"""Regression runs verify fixes: when an unattended run of a scenario ends, each of its ``fixed`` findings
that the run now meets moves to ``verified`` (``verified_by``: the run's game day id).

What "meets" means, per kind of finding:

- a missed expectation (key ``missed:<name>``): the run's expectation of that name is ``met``; ``missed``
  is a failure; not judged (not applicable, not measured, absent) decides nothing.
- an undetected inject (``missed-inject:<id>``): the run's inject with that id (else the one at that
  step) was detected in time; late or missed is a failure; not measured decides nothing.
- a gap or an action item: words a person wrote, which no machine can judge one by one. The run's
  machine-judged verdict stands for them: ``validated`` verifies, ``falsified`` fails, inconclusive
  decides nothing.

A failure leaves the finding ``fixed`` with a note naming the run, instead of opening it again: a fix may
not have rolled out everywhere yet, the next run (a CronJob's, a CI pipeline's) looks again, and a
finding whose ticket is closed would be moved back to fixed by the ticket sync at once, starting a loop
of runs. Only a run started after the fix counts (``fixed_at`` at or before its start), only an
unattended one, and never a dry run, which sends nothing and so proves nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.gameday.findings.model import Finding, FindingKind, FindingNote, FindingState
from bot.gameday.findings.recording import FindingFilter, FindingPort
from bot.gameday.findings.transitions import NOTE_LIMIT, move
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import GameDayRecord
from bot.gameday.running.outbound import sends

log = logging.getLogger(__name__)
DETECTED = {"in_time"}
NOT_DETECTED = {"late", "missed"}


@dataclass(frozen=True)
class Judgement:
    """What a run says of one fixed finding: ``met`` True (verified), False (not met), None (undecided)."""

    finding: Finding
    met: bool | None
    why: str


def judge(finding: Finding, debrief: Debrief) -> Judgement:
    """Whether the run of ``debrief`` meets what ``finding`` was about, and why (a sentence)."""
    if finding.kind is FindingKind.MISSED and finding.key.startswith("missed:"):
        name = finding.key.removeprefix("missed:")
        expectation = next((e for e in debrief.expectations if e.name == name), None)
        if expectation is None or expectation.outcome not in ("met", "missed"):
            return Judgement(finding, None, f"{debrief.id} did not judge {name}")
        met = expectation.outcome == "met"
        return Judgement(finding, met, f"{debrief.id} {'met' if met else 'missed'} {name}")
    if finding.kind is FindingKind.MISSED and finding.key.startswith("missed-inject:"):
        inject_id = finding.key.removeprefix("missed-inject:")
        inject = next((i for i in debrief.injects if i.id == inject_id), None)
        if inject is None and finding.step is not None:
            inject = next((i for i in debrief.injects if i.step == finding.step), None)
        if inject is None or inject.status not in DETECTED | NOT_DETECTED:
            return Judgement(finding, None, f"{debrief.id} did not measure inject {inject_id}")
        met = inject.status in DETECTED
        said = "detected in time" if met else f"was {inject.status}"
        return Judgement(finding, met, f"in {debrief.id} inject {inject.id} {said}")
    if debrief.verdict == "validated":
        return Judgement(finding, True, f"{debrief.id} validated the hypothesis")
    if debrief.verdict == "falsified":
        return Judgement(finding, False, f"{debrief.id} falsified the hypothesis")
    return Judgement(finding, None, f"{debrief.id} was {debrief.verdict}")


def regression_judgements(
    findings: list[Finding], record: GameDayRecord, debrief: Debrief
) -> list[Judgement]:
    """The judgements of an unattended, real run on the fixed findings of its scenario, fixed before it
    started; none for a dry run or a game day people attended."""
    if not sends(record) or not debrief.unattended:
        return []
    return [
        judge(f, debrief)
        for f in findings
        if f.state is FindingState.FIXED
        and f.scenario == record.scenario_id
        and f.fixed_at is not None
        and f.fixed_at <= record.created_at
    ]


def apply(judgement: Judgement, run_id: str, at: float) -> Finding | None:
    """The finding as the judgement leaves it: verified, or still fixed with a note naming the run;
    None when the run decided nothing (no note: a run that cannot judge says nothing of the fix)."""
    finding = judgement.finding
    if judgement.met is None or any(n.by == run_id for n in finding.notes):
        return None  # undecided, or said already (a debrief built again after a replayed publish)
    if judgement.met:
        verified = move(finding, FindingState.VERIFIED, at, run_id, f"regression run: {judgement.why}")
        return verified.model_copy(update={"verified_by": run_id})
    text = f"regression run: {judgement.why}; still fixed, not verified"[:NOTE_LIMIT]
    note = FindingNote(at=at, by=run_id, state=finding.state, text=text)
    return finding.model_copy(update={"notes": (*finding.notes, note), "version": finding.version + 1})


class RegressionVerifier:
    """The finishing hook (after the debrief is built, outside every lock): verifies or notes the fixed
    findings of the run's scenario. Best-effort: a store that fails is logged, the debrief posts."""

    def __init__(self, store: FindingPort, clock: Callable[[], float]):
        self.store = store
        self.now = clock

    def __call__(self, record: GameDayRecord, debrief: Debrief) -> list[Finding]:
        if not sends(record) or not debrief.unattended:
            return []
        try:
            which = FindingFilter(state=FindingState.FIXED, scenario=record.scenario_id)
            fixed = self.store.list(which, self.now())
            changed = []
            for judgement in regression_judgements(fixed, record, debrief):
                after = apply(judgement, record.id, self.now())
                # written over the version read: a finding someone moved meanwhile is theirs
                if after is not None and self.store.replace(judgement.finding, after):
                    changed.append(after)
            if changed:
                log.info("%s: %s", record.id, ", ".join(f"{f.id} {f.state}" for f in changed))
            return changed
        except Exception:
            log.exception("could not verify the fixed findings of %s with %s", record.scenario_id, record.id)
            return []


@dataclass(frozen=True)
class Owed:
    """A scenario owed a regression run: its fixed findings, the latest fix (a run must start after it),
    and the channel of that finding's game day (where the run's thread and summary go)."""

    scenario: str
    since: float
    channel: str
    findings: tuple[str, ...]


def owed_regressions(fixed: list[Finding]) -> list[Owed]:
    """Per scenario with findings in state ``fixed``, what a regression run is owed for, scenarios in
    name order; whether one ran since is the store's to say."""
    by_scenario: dict[str, list[Finding]] = {}
    for finding in fixed:
        if finding.state is FindingState.FIXED and finding.fixed_at is not None:
            by_scenario.setdefault(finding.scenario, []).append(finding)
    owed = []
    for scenario in sorted(by_scenario):
        latest = max(by_scenario[scenario], key=lambda f: (f.fixed_at or 0.0, f.number))
        ids = tuple(f.id for f in by_scenario[scenario])
        owed.append(Owed(scenario, latest.fixed_at or 0.0, latest.channel, ids))
    return owed

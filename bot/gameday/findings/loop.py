"""Learning-loop speed as a debrief, `sce history` and `/metrics` show it: how this scenario's findings
(and its team's: the channel its game days run in) have moved from found to fixed to verified.

Pure: it takes findings as they stand now (an expired acceptance is open again) and the game day whose
debrief it joins; the medians come from ``speed``. Findings of any state count in ``by_state``; only those
that got as far count in a median.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

from bot.gameday.findings.model import FindingState
from bot.gameday.findings.speed import Timed, loop_speed
from bot.gameday.measuring.report_models import LearningLoopReport


class LoopFact(Timed, Protocol):
    """What the loop needs of a finding (a stored ``Finding`` has it; so does the store's lean row)."""

    @property
    def channel(self) -> str: ...
    @property
    def state(self) -> FindingState: ...


def learning_loop(
    scenario: str, team: str, findings: Iterable[LoopFact], this_run: Sequence[str] = ()
) -> LearningLoopReport:
    """The loop of ``scenario`` and of the team that runs it in channel ``team``, from every finding of
    either (the caller hands both sets, or more: the rest is left out)."""
    facts = list(findings)
    mine = [f for f in facts if f.scenario == scenario]
    teams = [f for f in facts if f.channel == team]
    speed, team_speed = loop_speed(scenario, mine), loop_speed(team, teams)
    states = Counter(str(f.state) for f in mine)
    return LearningLoopReport(
        scenario=scenario,
        team=team,
        this_run=list(this_run),
        findings=len(mine),
        by_state={str(s): states.get(str(s), 0) for s in FindingState},
        found_to_fixed_seconds=speed.found_to_fixed,
        fixed_to_verified_seconds=speed.fixed_to_verified,
        fixed=speed.fixed,
        verified=speed.verified,
        team_found_to_fixed_seconds=team_speed.found_to_fixed,
        team_fixed_to_verified_seconds=team_speed.fixed_to_verified,
    )

"""Default scripted responders for a scenario without a script of its own in ``scripts/``.

They rehearse the drill as a team that meets its targets would: the person paged acknowledges well
inside ``acknowledge_within`` (and before the escalation), the person a handoff goes to takes it, one
``gap:`` reply is posted for the debrief, and detection and containment are marked halfway to their
targets when the scenario expects them. A tabletop is advanced with ``/sce next`` on its planned times.
"""

from __future__ import annotations

from bot.gameday.scenario.model import Scenario, Step
from bot.workspace.responders import Cue, Script

ROLES = ("primary", "secondary", "facilitator")
PEOPLE = {"primary": "alice", "secondary": "bob", "facilitator": "carol"}
ACK_AFTER = 60.0  # seconds, when no target or escalation asks for sooner
MARGIN = 15.0  # seconds between two actions of one person
GAP = "gap: rehearsed with default responders; write down here what your team found missing"


def default_script(scenario: Scenario) -> Script:
    """Cues derived from the scenario's steps and expectations (see the module docstring)."""
    ack = _ack_after(scenario)
    cues: list[Cue] = []
    pages = [(index, step) for index, step in enumerate(scenario.steps) if step.page is not None]
    for index, step in pages:
        assert step.page is not None
        cues.append(
            Cue(who=_role(step.page.to, "primary"), when=f"page:p{index}", after=ack, click="sce_ack")
        )
    handoffs = [step for step in scenario.steps if step.handoff is not None]
    take = min(ACK_AFTER, scenario.expect.handoff_within / 2) if scenario.expect.handoff_within else ACK_AFTER
    for number, step in enumerate(handoffs, start=1):
        assert step.handoff is not None
        cues.append(
            Cue(who=_role(step.handoff.to, "secondary"), when=f"handoff:h{number}", after=take, reply="ack")
        )
    if pages:
        cues += _first_page_cues(scenario, *pages[0], ack)
    if scenario.mode == "tabletop":
        cues += _releases(scenario)
    return Script(dict(PEOPLE), cues)


def _role(to: str, otherwise: str) -> str:
    name = to.lstrip("@")
    return name if name in ROLES else otherwise


def _ack_after(scenario: Scenario) -> float:
    """Half of the tightest of acknowledge_within and escalate_after, at most ACK_AFTER."""
    limits = [ACK_AFTER]
    if scenario.expect.acknowledge_within:
        limits.append(scenario.expect.acknowledge_within / 2)
    if scenario.oncall.escalate_after:
        limits.append(scenario.oncall.escalate_after / 2)
    return min(limits)


def _first_page_cues(scenario: Scenario, index: int, page: Step, ack: float) -> list[Cue]:
    """The gap reply, then detection and containment, all on the first page's message.

    Detection and containment are measured from T0, the first page or fault; ``lead`` is how long
    before this page T0 came, so the marks land halfway to their targets as measured in the debrief.
    """
    who = _role(page.page.to if page.page else "primary", "primary")
    marker = f"page:p{index}"
    cues = [Cue(who=who, when=marker, after=ack / 2, reply=GAP)]  # a note, not an acknowledgement
    injects = [step.at for step in scenario.steps if step.page is not None or step.fault is not None]
    lead = page.at - min(injects)
    done = ack
    for target, click in (
        (scenario.expect.detect_within, "sce_detected"),
        (scenario.expect.contain_within, "sce_contained"),
    ):
        if target is None:
            continue
        done = max(done + MARGIN, target / 2 - lead)
        cues.append(Cue(who=who, when=marker, after=done, click=click))
    return cues


def _releases(scenario: Scenario) -> list[Cue]:
    """The facilitator's `/sce next` for each step after the first, on its planned time from the
    kickoff, and never while the step before still streams its log (a `next` then releases nothing)."""
    cues = []
    free_at = _streaming(scenario.steps[0], scenario.steps[0].at)
    for step in scenario.steps[1:]:
        at = max(step.at, free_at + MARGIN)
        cues.append(Cue(who="facilitator", when="start", after=at, command="next"))
        free_at = _streaming(step, at)
    return cues


def _streaming(step: Step, released_at: float) -> float:
    """When a step is done: its last log line out, or at once."""
    if step.logs is None:
        return released_at
    return released_at + max(0, len(step.logs.lines) - 1) * step.logs.every

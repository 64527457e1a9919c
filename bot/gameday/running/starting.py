"""Starting a game day: refuse a scenario the guardrails do not allow, create it, post its kickoff
message, schedule its steps; and the two-person approval that lets an approved scenario's steps run.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.gameday.halt import Halt
from bot.gameday.measuring.redaction import redact
from bot.gameday.measuring.unattended import ID_PREFIX
from bot.gameday.people.mentions import literal
from bot.gameday.policy.enforcing import ApproverRule, approval_rules, approver_refusal, policy_refusals
from bot.gameday.policy.model import Policy
from bot.gameday.ports import Announcer, GameDayRecord, GameDayStore, GameDayTx
from bot.gameday.running.finishing import Finishing
from bot.gameday.running.injects import STEP, TIME_BOX, Injector
from bot.gameday.running.operations import duplicate
from bot.gameday.running.outcome import Outcome
from bot.gameday.running.standing import StandingApproval
from bot.gameday.scenario.guardrails import (
    DEFAULT_MAX_TTL,
    approval_refusal,
    ceiling_refusals,
    check_fault_allowed,
    image_refusals,
)
from bot.gameday.scenario.loading import ScenarioError, cached_scenario
from bot.gameday.scenario.log_sources import namespace_refusal
from bot.gameday.scenario.model import Scenario, content_hash
from bot.gameday.scenario.window import window_refusal
from bot.gameday.state import Status, fold
from bot.gameday.timeline import Kind

if TYPE_CHECKING:
    from bot.gameday.running.canary import CanaryWait
    from bot.gameday.running.steady_watch import SteadyWatch

log = logging.getLogger(__name__)


class Starting:
    """``attack_images``: the images attack pods may run (empty leaves the check to the driver);
    ``max_ttl``: the ceiling of every fault ttl and of the time box; ``approvers``: the deployment's."""

    def __init__(
        self,
        store: GameDayStore,
        announcer: Announcer,
        clock: Callable[[], float],
        injects: Injector,
        finishing: Finishing,
        allowed_namespaces: frozenset[str] = frozenset(),
        attack_images: frozenset[str] = frozenset(),
        max_ttl: float = DEFAULT_MAX_TTL,
        approvers: frozenset[str] = frozenset(),
    ):
        self.store = store
        self.announcer = announcer
        self.now = clock
        self.injects = injects
        self.finishing = finishing
        self.allowed_namespaces = allowed_namespaces
        self.attack_images = attack_images
        self.max_ttl = max_ttl
        self.approvers = approvers
        self.steady: SteadyWatch | None = None  # the engine's: the steady state's first look
        self.canary: CanaryWait | None = None  # the engine's: the preflight's canary alert
        # what else a start commits with it, under its lock (the comms' announcements: bot/slack/comms.py)
        self.after_start: list[Callable[[GameDayTx, Scenario], None]] = []
        # the halt lever (bot/gameday/halt.py): while a halt holds, nothing starts; asked at every start
        self.halted: Callable[[], Halt | None] = lambda: None
        # the deployment's policy file (SCE_POLICY; bot/gameday/policy): checked at every start and approval;
        # ``default_image`` is what an attack pod runs when its step names no image; ``expand_people``
        # turns the policy's user groups into people (the edge's: a Slack call, made outside every lock)
        self.policy: Policy | None = None
        self.default_image: str | None = None
        self.expand_people: Callable[[list[str]], frozenset[str]] = frozenset

    def _refusal(self, scenario: Scenario) -> str | None:
        """The first reason the guardrails give not to run this scenario, if any."""
        over = ceiling_refusals(scenario, self.max_ttl)
        if over:
            return "The scenario cannot run: " + "; ".join(over) + "."
        for step in scenario.steps:
            if step.logs is not None:
                refusal = namespace_refusal(step.logs.source, step.logs.namespace, self.allowed_namespaces)
                if refusal:
                    return refusal
            if step.fault is not None:
                refusal = check_fault_allowed(step.fault, scenario, self.allowed_namespaces)
                if refusal:
                    return refusal
        refusals = image_refusals(scenario, self.attack_images) if self.attack_images else []
        if refusals:
            return refusals[0]
        broken = policy_refusals(scenario, self.policy, self.default_image)
        return "The scenario cannot run: " + "; ".join(broken) + "." if broken else None

    def start(
        self,
        scenario_text: str,
        channel: str,
        started_by: str,
        roster: dict[str, str],
        dry_run: bool = False,
        unattended: bool = False,
        standing: StandingApproval | None = None,
    ) -> Outcome:
        """Create the game day, post its kickoff message (the thread) and schedule its steps.

        ``unattended`` (`sce run`): recorded on the timeline, so it is judged as nobody attended it
        (``bot/gameday/measuring/unattended``); its id marks its timers as its own process's.
        ``standing``: the standing approval that lets an unattended run of a scenario needing approval
        start without waiting; it must hold for this exact text now, and is recorded on the timeline."""
        try:
            scenario = cached_scenario(scenario_text)
        except ScenarioError as exc:
            return Outcome(False, f"The scenario cannot run: {literal(redact(str(exc)))}")  # shown in Slack
        refusal = self._refusal(scenario)
        if refusal:
            return Outcome(False, refusal)
        halt = self.halted()
        if halt is not None:
            return Outcome(False, halt.refusal())
        now = self.now()
        # a dry run changes nothing, so a change window does not hold it back (rehearse any time)
        outside = None if dry_run or scenario.guardrails.dry_run else window_refusal(scenario.window, now)
        if outside:
            return Outcome(False, outside)
        if standing is not None and not (unattended and standing.holds(content_hash(scenario_text), now)):
            return Outcome(False, "The standing approval does not hold for this scenario file now.")
        standing = standing if scenario.approval.required else None
        refusal = self._standing_refusal(scenario, standing)
        if refusal:
            return Outcome(False, refusal)
        awaiting = scenario.approval.required and standing is None
        preflight = scenario.preflight.canary_alert is not None and self.canary is not None
        first = Status.PREFLIGHT if preflight else (Status.AWAITING_APPROVAL if awaiting else Status.RUNNING)
        record = GameDayRecord(
            id=f"{ID_PREFIX if unattended else 'gd-'}{secrets.token_hex(4)}",
            scenario_id=scenario.id,
            scenario_text=scenario_text,
            scenario_hash=content_hash(scenario_text),
            channel=channel,
            started_by=started_by,
            roster=dict(roster),
            created_at=now,
            status=str(first),
            dry_run=dry_run or scenario.guardrails.dry_run,
        )
        self.store.create(record)
        try:
            thread_ts = self.announcer.kickoff(record, scenario)  # before the lock: no Slack call under it
            with self.store.transaction(record.id) as tx:
                tx.record.thread_ts = thread_ts
                data = {
                    "scenario": scenario.id,
                    "scenario_hash": record.scenario_hash,
                    "roster": roster,
                    "status": record.status,
                    "dry_run": record.dry_run,
                    **({"unattended": True} if unattended else {}),
                }
                tx.append(Kind.STARTED, now, started_by, data)
                if standing is not None:
                    tx.append(Kind.STANDING_APPROVED, now, standing.granted_by, standing.event_data())
                for after_start in self.after_start:
                    after_start(tx, scenario)
                if preflight and self.canary is not None:  # nothing runs before the canary alert comes
                    self.canary.begin(tx, scenario, now)
                    self.injects.schedule(tx, "time_box", now + scenario.guardrails.max_duration, TIME_BOX)
                elif not awaiting:
                    self.schedule_steps(tx, scenario, now)
                else:  # unapproved game days expire with their time box
                    self.injects.schedule(tx, "time_box", now + scenario.guardrails.max_duration, TIME_BOX)
        except Exception:
            log.exception("could not start %s", record.id)
            with self.store.transaction(record.id) as tx:
                tx.append(
                    Kind.ENDED, self.now(), None, {"status": str(Status.FAILED), "reason": "start failed"}
                )
                tx.record.status = str(Status.FAILED)
            return Outcome(False, "The game day could not start (Slack did not take the kickoff message).")
        if preflight:
            return Outcome(True, f"Game day {record.id} is waiting for its canary alert.", record.id)
        if awaiting:
            return Outcome(True, f"Game day {record.id} is waiting for an approver.", record.id)
        return Outcome(True, f"Game day {record.id} started: {scenario.title}", record.id)

    def _standing_refusal(self, scenario: Scenario, standing: StandingApproval | None) -> str | None:
        """A standing approval counts only when its giver may approve under the policy (SCE_POLICY) now:
        one given before the policy named its approvers is not enough."""
        if standing is None:
            return None
        rules = approval_rules(scenario, self.policy)
        governing = [ApproverRule(i, rule, self.expand_people(list(rule.approvers))) for i, rule in rules]
        refusal = approver_refusal(governing, standing.granted_by)
        return f"The standing approval does not count: {refusal}" if refusal else None

    def schedule_steps(self, tx: GameDayTx, scenario: Scenario, base: float) -> None:
        """Every step's timer (a tabletop's first only) and the time box, from ``base``."""
        for index, step in enumerate(scenario.steps):
            if scenario.mode == "tabletop" and index > 0:
                continue  # the facilitator advances a tabletop with /sce next
            payload = {"step": index, "fault": step.fault is not None}
            self.injects.schedule(tx, f"step:{index}", base + step.at, STEP, payload)
        self.injects.schedule(tx, f"time_box:{base}", base + scenario.guardrails.max_duration, TIME_BOX)
        if self.steady is not None:
            self.steady.schedule_first(tx, scenario, base)

    def approve(
        self, gameday_id: str, user: str, at: float, delivery_id: str, approvers: frozenset[str] | None = None
    ) -> Outcome:
        """Two-person rule: an approver other than the starter lets the steps (and faults) run.

        ``approvers`` are the deployment's approvers with user groups already expanded by the edge. The
        policy's approval rules (SCE_POLICY) narrow them: the approver must be in every rule governing it.
        """
        record = self.store.get(gameday_id)
        rules = approval_rules(cached_scenario(record.scenario_text), self.policy) if record else []
        governing = [ApproverRule(i, rule, self.expand_people(list(rule.approvers))) for i, rule in rules]
        with self.store.transaction(gameday_id) as tx:
            if duplicate(tx, delivery_id):
                return Outcome(True, "already recorded", gameday_id, repeat=True)
            scenario = cached_scenario(tx.record.scenario_text)
            state = fold(tx.events)
            if state.status is not Status.AWAITING_APPROVAL:
                return Outcome(
                    False, f"This game day is {state.status}, not waiting for approval.", gameday_id
                )
            allowed = self.approvers if approvers is None else approvers
            refusal = approval_refusal(scenario, tx.record.started_by, user, allowed)
            refusal = refusal or approver_refusal(governing, user)
            if refusal:
                return Outcome(False, refusal, gameday_id)
            now = self.now()
            tx.append(Kind.APPROVED, at, user, {"scenario_hash": tx.record.scenario_hash})
            tx.record.status = str(Status.RUNNING)
            self.schedule_steps(tx, scenario, max(now, at))
            self.finishing.show_status(tx, scenario, fold(tx.events), now)
            return Outcome(True, "Approved; the game day is running.", gameday_id)

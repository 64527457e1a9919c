"""The state machine of a game day: start, run steps, page, acknowledge, hand off, escalate, finish.

Every operation is one locked transaction on one game day: it reads the timeline, decides, appends
events and schedules durable timers. Slack input carries its own ``at`` (Slack's ts) and a delivery
id, so a retried delivery changes nothing and queueing never biases a metric.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from bot.gameday import metrics
from bot.gameday.guardrails import approval_refusal, check_fault_allowed
from bot.gameday.injects import ESCALATE, FAULT_EXPIRY, STEP, TIME_BOX, Injector
from bot.gameday.ports import Announcer, FaultDriver, GameDayRecord, GameDayStore, GameDayTx, Timer
from bot.gameday.report import Debrief, build_debrief
from bot.gameday.scenario import Scenario, content_hash
from bot.gameday.scenario_file import cached_scenario
from bot.gameday.state import GameDayState, Status, fold
from bot.gameday.timeline import Event, Kind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What an operation did, as a sentence for the person who asked (ephemeral in Slack)."""

    ok: bool
    message: str
    gameday_id: str | None = None


def _undecided(result: metrics.ExpectationResult, state: GameDayState) -> bool:
    """Pending, and not merely for want of anything to measure (no page, no handoff)."""
    if result.outcome is not metrics.Outcome.PENDING:
        return False
    if result.name == "acknowledge_within":
        return bool(state.pages)
    if result.name == "handoff_within":
        return bool(state.handoffs)
    return True


def build_debrief_for(record: GameDayRecord, events: list[Event], now: float | None = None) -> Debrief:
    """The debrief of a stored game day; ``now`` defaults to its end (or its last event)."""
    scenario = cached_scenario(record.scenario_text)
    if now is None:
        now = max((e.at for e in events), default=record.created_at)
    return build_debrief(record.id, scenario, record.roster, list(events), now)


class Engine:
    def __init__(
        self,
        store: GameDayStore,
        announcer: Announcer,
        clock: Callable[[], float],
        faults: FaultDriver,
        allowed_namespaces: frozenset[str] = frozenset(),
        on_timer_scheduled: Callable[[float], None] | None = None,
        approvers: frozenset[str] = frozenset(),
    ):
        self.approvers = approvers
        self.store = store
        self.announcer = announcer
        self.now = clock
        self.allowed_namespaces = allowed_namespaces
        self.injects = Injector(
            announcer, faults, clock, allowed_namespaces, on_timer_scheduled or (lambda due: None)
        )

    # -- starting -------------------------------------------------------------------------------
    def start(
        self, scenario_text: str, channel: str, started_by: str, roster: dict[str, str], dry_run: bool = False
    ) -> Outcome:
        """Create the game day, post its kickoff message (the thread) and schedule its steps."""
        scenario = cached_scenario(scenario_text)
        for step in scenario.steps:
            if step.fault is not None:
                refusal = check_fault_allowed(step.fault, scenario, self.allowed_namespaces)
                if refusal:
                    return Outcome(False, refusal)
        now = self.now()
        awaiting = scenario.approval.required
        record = GameDayRecord(
            id=f"gd-{secrets.token_hex(4)}",
            scenario_id=scenario.id,
            scenario_text=scenario_text,
            scenario_hash=content_hash(scenario_text),
            channel=channel,
            started_by=started_by,
            roster=dict(roster),
            created_at=now,
            status=str(Status.AWAITING_APPROVAL if awaiting else Status.RUNNING),
            dry_run=dry_run or scenario.guardrails.dry_run,
        )
        self.store.create(record)
        try:
            with self.store.transaction(record.id) as tx:
                tx.record.thread_ts = self.announcer.kickoff(tx.record, scenario)
                data = {
                    "scenario": scenario.id,
                    "scenario_hash": record.scenario_hash,
                    "roster": roster,
                    "status": record.status,
                    "dry_run": record.dry_run,
                }
                tx.append(Kind.STARTED, now, started_by, data)
                if not awaiting:
                    self._schedule_steps(tx, scenario, now)
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
        if awaiting:
            return Outcome(True, f"Game day {record.id} is waiting for an approver.", record.id)
        return Outcome(True, f"Game day {record.id} started: {scenario.title}", record.id)

    def _schedule_steps(self, tx: GameDayTx, scenario: Scenario, base: float) -> None:
        for index, step in enumerate(scenario.steps):
            self.injects.schedule(tx, f"step:{index}", base + step.at, STEP, {"step": index})
        self.injects.schedule(tx, f"time_box:{base}", base + scenario.guardrails.max_duration, TIME_BOX)

    def approve(self, gameday_id: str, user: str, at: float, delivery_id: str) -> Outcome:
        """Two-person rule: an approver other than the starter lets the steps (and faults) run."""
        with self.store.transaction(gameday_id) as tx:
            if self._duplicate(tx, delivery_id):
                return Outcome(True, "already recorded", gameday_id)
            scenario = cached_scenario(tx.record.scenario_text)
            state = fold(tx.events)
            if state.status is not Status.AWAITING_APPROVAL:
                return Outcome(
                    False, f"This game day is {state.status}, not waiting for approval.", gameday_id
                )
            refusal = approval_refusal(scenario, tx.record.started_by, user, self.approvers)
            if refusal:
                return Outcome(False, refusal, gameday_id)
            now = self.now()
            tx.append(Kind.APPROVED, at, user, {"scenario_hash": tx.record.scenario_hash})
            tx.record.status = str(Status.RUNNING)
            self._schedule_steps(tx, scenario, max(now, at))
            self.announcer.refresh_status(tx.record, scenario, fold(tx.events), now)
            return Outcome(True, "Approved; the game day is running.", gameday_id)

    # -- timers ---------------------------------------------------------------------------------
    def fire(self, timer: Timer) -> None:
        """Run one due timer; running it again after a crash is harmless."""
        with self.store.transaction(timer.gameday_id) as tx:
            scenario = cached_scenario(tx.record.scenario_text)
            state = fold(tx.events)
            if not state.status.is_over:
                if timer.kind == STEP and state.status is Status.AWAITING_APPROVAL:
                    pass  # steps are only scheduled after approval; a stray one waits for it
                elif timer.kind == STEP:
                    replay = timer.attempts > 1
                    self.injects.run_step(tx, scenario, state, int(timer.payload["step"]), replay)
                elif timer.kind == ESCALATE:
                    self.injects.escalate(tx, state, timer.payload["page_id"], timer.attempts > 1)
                elif timer.kind == TIME_BOX and state.status is Status.AWAITING_APPROVAL:
                    self._finish(tx, scenario, Status.ABORTED, "never approved", final=True)
                elif timer.kind == TIME_BOX:
                    self._finish(tx, scenario, Status.COMPLETED, "max_duration reached", final=True)
                elif timer.kind == FAULT_EXPIRY:
                    self.injects.revert_fault(tx, scenario, timer.payload["fault_id"])
            tx.complete_timer(timer.id)
            self._settle(tx, scenario)

    # -- human input ------------------------------------------------------------------------------
    def acknowledge(
        self, gameday_id: str, user: str, at: float, delivery_id: str, target_id: str | None = None
    ) -> Outcome:
        """Acknowledge a page (or accept a handoff) at Slack's ``at``."""
        with self.store.transaction(gameday_id) as tx:
            if self._duplicate(tx, delivery_id):
                return Outcome(True, "already recorded", gameday_id)
            scenario = cached_scenario(tx.record.scenario_text)
            state = fold(tx.events)
            if state.status.is_over:
                return Outcome(False, "This game day is over; nothing left to acknowledge.", gameday_id)
            done = self._acknowledge_targets(tx, state, user, at, target_id)
            self._settle(tx, scenario)
            return Outcome(bool(done), "Acknowledged." if done else "Nothing is waiting for you.", gameday_id)

    def _acknowledge_targets(
        self, tx: GameDayTx, state: GameDayState, user: str, at: float, target_id: str | None
    ) -> list[str]:
        done: list[str] = []
        handoffs = [h for h in state.pending_handoffs() if h.to_user == user]
        if target_id is not None:
            handoffs = [h for h in handoffs if h.handoff_id == target_id or target_id in h.page_ids]
            pages = [p for p in state.open_pages() if p.page_id == target_id]
        else:
            mine = [p for p in state.open_pages() if user in (p.responder, p.escalated_to)]
            pages = mine or ([] if handoffs else state.open_pages())
        for handoff in handoffs:
            tx.append(Kind.HANDOFF_COMPLETED, at, user, {"handoff_id": handoff.handoff_id})
            self.announcer.acknowledged(tx.record, user, "the handoff", handoff.latency_at(at))
            done.append(handoff.handoff_id)
        for page in pages:
            tx.append(Kind.ACKNOWLEDGED, at, user, {"page_id": page.page_id})
            self.announcer.acknowledged(tx.record, user, f"page {page.page_id}", at - page.paged_at)
            done.append(page.page_id)
        return done

    def request_handoff(
        self, gameday_id: str, from_user: str, to_user: str, at: float, delivery_id: str
    ) -> Outcome:
        """A handoff request: the pages ``from_user`` owns go to ``to_user`` once they acknowledge."""
        with self.store.transaction(gameday_id) as tx:
            if self._duplicate(tx, delivery_id):
                return Outcome(True, "already recorded", gameday_id)
            scenario = cached_scenario(tx.record.scenario_text)
            state = fold(tx.events)
            if state.status.is_over:
                return Outcome(False, "This game day is over.", gameday_id)
            self.injects.request_handoff(tx, state, from_user, to_user, at, from_user)
            self._settle(tx, scenario)
            return Outcome(True, f"Handoff to <@{to_user}> requested.", gameday_id)

    def mark(
        self,
        gameday_id: str,
        kind: Kind,
        user: str,
        at: float,
        delivery_id: str,
        source: str = "slack",
        page_id: str | None = None,
    ) -> Outcome:
        """Record a detection or a containment."""
        assert kind in (Kind.DETECTED, Kind.CONTAINED)
        with self.store.transaction(gameday_id) as tx:
            if self._duplicate(tx, delivery_id):
                return Outcome(True, "already recorded", gameday_id)
            scenario = cached_scenario(tx.record.scenario_text)
            state = fold(tx.events)
            if state.status.is_over:
                return Outcome(False, "This game day is over.", gameday_id)
            pages = state.pages
            tx.append(kind, at, user, {"source": source, "page_id": page_id if page_id in pages else None})
            self._settle(tx, scenario)
            word = "Detection" if kind is Kind.DETECTED else "Containment"
            return Outcome(True, f"{word} recorded.", gameday_id)

    def add_note(
        self, gameday_id: str, kind: str, text: str, user: str, at: float, delivery_id: str
    ) -> Outcome:
        """Record a gap, note, action, decision or update for the debrief."""
        with self.store.transaction(gameday_id) as tx:
            if self._duplicate(tx, delivery_id):
                return Outcome(True, "already recorded", gameday_id)
            state = fold(tx.events)
            tx.append(Kind.NOTE, at, user, {"kind": kind, "text": text, "step": state.last_step})
            return Outcome(True, f"{kind.capitalize()} recorded for the debrief.", gameday_id)

    # -- ending ---------------------------------------------------------------------------------
    def end(self, gameday_id: str, user: str) -> Outcome:
        """The facilitator ends the game day; outcomes still open count as missed."""
        with self.store.transaction(gameday_id) as tx:
            scenario = cached_scenario(tx.record.scenario_text)
            if fold(tx.events).status.is_over:
                return Outcome(False, "This game day is already over.", gameday_id)
            self._finish(tx, scenario, Status.COMPLETED, f"ended by <@{user}>", final=True)
            return Outcome(True, "Game day ended; the debrief is in the thread.", gameday_id)

    def abort(self, gameday_id: str, user: str, reason: str = "") -> Outcome:
        """Stop at once, revert every fault; the verdict is inconclusive."""
        with self.store.transaction(gameday_id) as tx:
            scenario = cached_scenario(tx.record.scenario_text)
            if fold(tx.events).status.is_over:
                return Outcome(False, "This game day is already over.", gameday_id)
            why = f"aborted by <@{user}>" + (f": {reason}" if reason else "")
            self._finish(tx, scenario, Status.ABORTED, why, final=True)
            return Outcome(True, "Game day aborted; every fault reverted.", gameday_id)

    def _settle(self, tx: GameDayTx, scenario: Scenario) -> None:
        """After any change: finish when everything has an outcome, else refresh the status message."""
        state = fold(tx.events)
        if state.status.is_over:
            return
        now = self.now()
        results = metrics.expectation_results(state, scenario.expect, now=now)
        all_steps = len(state.steps_ran) == len(scenario.steps)
        decided = not any(_undecided(r, state) for r in results)
        if all_steps and not state.open_pages() and not state.pending_handoffs() and decided:
            self._finish(
                tx, scenario, Status.COMPLETED, "every step ran and every expectation has an outcome"
            )
            return
        self.announcer.refresh_status(tx.record, scenario, state, now)

    def _finish(
        self, tx: GameDayTx, scenario: Scenario, status: Status, reason: str, final: bool = False
    ) -> None:
        now = self.now()
        for fault in fold(tx.events).faults.values():
            if fault.reverted_at is None:
                try:
                    self.injects.revert_fault(tx, scenario, fault.fault_id)
                except Exception:  # a failed revert must not stop the others; the reaper retries
                    log.exception("revert of %s failed", fault.fault_id)
        tx.append(Kind.ENDED, now, None, {"status": str(status), "reason": reason})
        tx.record.status = str(status)
        tx.cancel_pending_timers()
        debrief = self.debrief_from(tx.record, tx.events, now)
        try:
            self.announcer.refresh_status(tx.record, scenario, fold(tx.events), now)
            self.announcer.finished(tx.record, debrief)
        except Exception:  # the game day is over even when Slack is not listening
            log.exception("could not post the end of %s", tx.record.id)

    def debrief_from(self, record: GameDayRecord, events: list, now: float | None = None) -> Debrief:
        scenario = cached_scenario(record.scenario_text)
        return build_debrief(
            record.id, scenario, record.roster, list(events), self.now() if now is None else now
        )

    # -- plumbing -------------------------------------------------------------------------------
    @staticmethod
    def _duplicate(tx: GameDayTx, delivery_id: str) -> bool:
        if tx.seen_delivery(delivery_id):
            return True
        tx.record_delivery(delivery_id)
        return False

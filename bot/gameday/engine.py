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
from functools import lru_cache

from bot.gameday import metrics
from bot.gameday.guardrails import check_fault_allowed
from bot.gameday.ports import Announcer, FaultDriver, GameDayRecord, GameDayStore, GameDayTx, Timer
from bot.gameday.report import Debrief, build_debrief
from bot.gameday.scenario import Scenario, Step, content_hash
from bot.gameday.scenario_file import parse_scenario
from bot.gameday.state import GameDayState, Status, fold
from bot.gameday.timeline import Event, Kind

log = logging.getLogger(__name__)

STEP, ESCALATE, CHECK, TIME_BOX, FAULT_EXPIRY = "step", "escalate", "check", "time_box", "fault_expiry"


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


@lru_cache(maxsize=256)
def _scenario_from_text(text: str) -> Scenario:
    return parse_scenario(text)


def build_debrief_for(record: GameDayRecord, events: list[Event], now: float | None = None) -> Debrief:
    """The debrief of a stored game day; ``now`` defaults to its end (or its last event)."""
    scenario = _scenario_from_text(record.scenario_text)
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
    ):
        self.store = store
        self.announcer = announcer
        self.now = clock
        self.faults = faults
        self.allowed_namespaces = allowed_namespaces
        self.on_timer_scheduled = on_timer_scheduled or (lambda due: None)

    # -- starting -------------------------------------------------------------------------------
    def start(
        self, scenario_text: str, channel: str, started_by: str, roster: dict[str, str], dry_run: bool = False
    ) -> Outcome:
        """Create the game day, post its kickoff message (the thread) and schedule its steps."""
        scenario = _scenario_from_text(scenario_text)
        for step in scenario.steps:
            if step.fault is not None:
                refusal = check_fault_allowed(step.fault, scenario, self.allowed_namespaces)
                if refusal:
                    return Outcome(False, refusal)
        now = self.now()
        record = GameDayRecord(
            id=f"gd-{secrets.token_hex(4)}",
            scenario_id=scenario.id,
            scenario_text=scenario_text,
            scenario_hash=content_hash(scenario_text),
            channel=channel,
            started_by=started_by,
            roster=dict(roster),
            created_at=now,
            status=str(Status.RUNNING),
            dry_run=dry_run or scenario.guardrails.dry_run,
        )
        self.store.create(record)
        with self.store.transaction(record.id) as tx:
            tx.record.thread_ts = self.announcer.kickoff(tx.record, scenario)
            tx.append(
                Kind.STARTED,
                now,
                started_by,
                {
                    "scenario": scenario.id,
                    "scenario_hash": record.scenario_hash,
                    "roster": roster,
                    "status": str(Status.RUNNING),
                    "dry_run": record.dry_run,
                },
            )
            for index, step in enumerate(scenario.steps):
                self._schedule(tx, f"step:{index}", now + step.at, STEP, {"step": index})
            self._schedule(tx, "time_box", now + scenario.guardrails.max_duration, TIME_BOX)
        return Outcome(True, f"Game day {record.id} started: {scenario.title}", record.id)

    # -- timers ---------------------------------------------------------------------------------
    def fire(self, timer: Timer) -> None:
        """Run one due timer; running it again after a crash is harmless."""
        with self.store.transaction(timer.gameday_id) as tx:
            scenario = _scenario_from_text(tx.record.scenario_text)
            state = fold(tx.events)
            if not state.status.is_over:
                if timer.kind == STEP:
                    self._run_step(tx, scenario, state, int(timer.payload["step"]))
                elif timer.kind == ESCALATE:
                    self._escalate(tx, state, timer.payload["page_id"])
                elif timer.kind == TIME_BOX:
                    self._finish(tx, scenario, Status.COMPLETED, "max_duration reached", final=True)
                elif timer.kind == FAULT_EXPIRY:
                    self._revert_fault(tx, scenario, timer.payload["fault_id"])
            tx.complete_timer(timer.id)
            self._settle(tx, scenario)

    def _run_step(self, tx: GameDayTx, scenario: Scenario, state: GameDayState, index: int) -> None:
        if index in state.steps_ran:
            return
        step = scenario.steps[index]
        if step.page is not None:
            self._page(tx, scenario, state, index, step)
        elif step.say is not None:
            ts = self.announcer.say(tx.record, step.say)
            tx.append(Kind.SAID, float(ts), None, {"step": index, "text": step.say, "message_ts": ts})
        elif step.handoff is not None:
            from_user = tx.record.roster.get(step.handoff.from_)
            to_user = tx.record.roster[step.handoff.to]
            self._request_handoff(tx, state, from_user, to_user, float(self.now()), None)
        elif step.fault is not None:
            self._apply_fault(tx, scenario, index, step)
        tx.append(Kind.STEP_RAN, self.now(), None, {"step": index, "kind": step.kind})

    def _page(self, tx: GameDayTx, scenario: Scenario, state: GameDayState, index: int, step: Step) -> None:
        assert step.page is not None
        page_id = f"p{index}"
        responder = tx.record.roster.get(step.page.to.lstrip("@"), tx.record.roster["primary"])
        first_inject = state.t0 is None
        ts = self.announcer.page(tx.record, page_id, step.page, responder)
        paged_at = float(ts)
        tx.append(
            Kind.PAGE_SENT,
            paged_at,
            None,
            {
                "page_id": page_id,
                "step": index,
                "responder": responder,
                "severity": step.page.severity,
                "summary": step.page.summary,
                "message_ts": ts,
            },
        )
        tx.index_message(page_id, tx.record.channel, ts)
        secondary = tx.record.roster.get("secondary")
        if scenario.oncall.escalate_after is not None and secondary and secondary != responder:
            self._schedule(
                tx,
                f"escalate:{page_id}",
                paged_at + scenario.oncall.escalate_after,
                ESCALATE,
                {"page_id": page_id},
            )
        if scenario.expect.acknowledge_within is not None:
            self._schedule(
                tx, f"check:ack:{page_id}", paged_at + scenario.expect.acknowledge_within + 0.001, CHECK
            )
        if first_inject:
            self._schedule_inject_checks(tx, scenario, paged_at)

    def _schedule_inject_checks(self, tx: GameDayTx, scenario: Scenario, t0: float) -> None:
        for name, target in (
            ("detect", scenario.expect.detect_within),
            ("contain", scenario.expect.contain_within),
        ):
            if target is not None:
                self._schedule(tx, f"check:{name}", t0 + target + 0.001, CHECK)

    def _escalate(self, tx: GameDayTx, state: GameDayState, page_id: str) -> None:
        page = state.pages.get(page_id)
        secondary = tx.record.roster.get("secondary")
        if page is None or page.acknowledged_at is not None or page.escalated_at is not None or not secondary:
            return
        ts = self.announcer.escalation(tx.record, page, secondary)
        tx.append(Kind.ESCALATED, float(ts), None, {"page_id": page_id, "to": secondary, "message_ts": ts})
        tx.index_message(page_id, tx.record.channel, ts)

    def _apply_fault(self, tx: GameDayTx, scenario: Scenario, index: int, step: Step) -> None:
        assert step.fault is not None
        refusal = check_fault_allowed(step.fault, scenario, self.allowed_namespaces)
        if refusal:
            self.announcer.fault(tx.record, step.fault, "refused", refusal)
            return
        fault_id = f"f{index}"
        now = self.now()
        expires_at = now + step.fault.ttl
        if tx.record.dry_run:
            self.announcer.fault(tx.record, step.fault, "dry-run", "nothing applied (dry run)")
            return
        detail = self.faults.apply(tx.record.id, fault_id, step.fault, expires_at)
        first_inject = fold(tx.events).t0 is None
        tx.append(
            Kind.FAULT_APPLIED,
            now,
            None,
            {
                "fault_id": fault_id,
                "step": index,
                "type": step.fault.type,
                "expires_at": expires_at,
                "driver": self.faults.name,
                "detail": detail,
            },
        )
        self.announcer.fault(tx.record, step.fault, "applied", detail)
        self._schedule(tx, f"fault_expiry:{fault_id}", expires_at, FAULT_EXPIRY, {"fault_id": fault_id})
        if first_inject:
            self._schedule_inject_checks(tx, scenario, now)

    def _revert_fault(self, tx: GameDayTx, scenario: Scenario, fault_id: str) -> None:
        fault = fold(tx.events).faults.get(fault_id)
        if fault is None or fault.reverted_at is not None:
            return
        detail = self.faults.revert(tx.record.id, fault_id)
        tx.append(Kind.FAULT_REVERTED, self.now(), None, {"fault_id": fault_id, "detail": detail})

    # -- human input ------------------------------------------------------------------------------
    def acknowledge(
        self, gameday_id: str, user: str, at: float, delivery_id: str, target_id: str | None = None
    ) -> Outcome:
        """Acknowledge a page (or accept a handoff) at Slack's ``at``."""
        with self.store.transaction(gameday_id) as tx:
            if self._duplicate(tx, delivery_id):
                return Outcome(True, "already recorded", gameday_id)
            scenario = _scenario_from_text(tx.record.scenario_text)
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
            scenario = _scenario_from_text(tx.record.scenario_text)
            state = fold(tx.events)
            if state.status.is_over:
                return Outcome(False, "This game day is over.", gameday_id)
            self._request_handoff(tx, state, from_user, to_user, at, from_user)
            self._settle(tx, scenario)
            return Outcome(True, f"Handoff to <@{to_user}> requested.", gameday_id)

    def _request_handoff(
        self,
        tx: GameDayTx,
        state: GameDayState,
        from_user: str | None,
        to_user: str,
        at: float,
        requested_by: str | None,
    ) -> None:
        scenario = _scenario_from_text(tx.record.scenario_text)
        owned = [p.page_id for p in state.pages.values() if p.owner == from_user and p.contained_at is None]
        handoff_id = f"h{len(state.handoffs) + 1}"
        ts = self.announcer.handoff(tx.record, handoff_id, from_user, to_user)
        requested_at = at if requested_by else float(ts)
        tx.append(
            Kind.HANDOFF_REQUESTED,
            requested_at,
            requested_by,
            {
                "handoff_id": handoff_id,
                "page_ids": owned,
                "from": from_user,
                "to": to_user,
                "message_ts": ts,
            },
        )
        tx.index_message(handoff_id, tx.record.channel, ts)
        if scenario.expect.handoff_within is not None:
            self._schedule(
                tx, f"check:{handoff_id}", requested_at + scenario.expect.handoff_within + 0.001, CHECK
            )

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
            scenario = _scenario_from_text(tx.record.scenario_text)
            if fold(tx.events).status.is_over:
                return Outcome(False, "This game day is over.", gameday_id)
            tx.append(kind, at, user, {"source": source, "page_id": page_id})
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
            scenario = _scenario_from_text(tx.record.scenario_text)
            if fold(tx.events).status.is_over:
                return Outcome(False, "This game day is already over.", gameday_id)
            self._finish(tx, scenario, Status.COMPLETED, f"ended by <@{user}>", final=True)
            return Outcome(True, "Game day ended; the debrief is in the thread.", gameday_id)

    def abort(self, gameday_id: str, user: str, reason: str = "") -> Outcome:
        """Stop at once, revert every fault; the verdict is inconclusive."""
        with self.store.transaction(gameday_id) as tx:
            scenario = _scenario_from_text(tx.record.scenario_text)
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
                    self._revert_fault(tx, scenario, fault.fault_id)
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
        scenario = _scenario_from_text(record.scenario_text)
        return build_debrief(
            record.id, scenario, record.roster, list(events), self.now() if now is None else now
        )

    # -- plumbing -------------------------------------------------------------------------------
    def _schedule(
        self, tx: GameDayTx, key: str, due_at: float, kind: str, payload: dict | None = None
    ) -> None:
        tx.schedule(f"{tx.record.id}:{key}", due_at, kind, payload or {})
        self.on_timer_scheduled(due_at)

    @staticmethod
    def _duplicate(tx: GameDayTx, delivery_id: str) -> bool:
        if tx.seen_delivery(delivery_id):
            return True
        tx.record_delivery(delivery_id)
        return False

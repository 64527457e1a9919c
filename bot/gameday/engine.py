"""The state machine of a game day: start, run steps, page, acknowledge, hand off, escalate, finish.

Every operation is one locked transaction on one game day: it reads the timeline, decides, appends
events and schedules durable timers. Slack input carries its own ``at`` (Slack's ts) and a delivery
id, so a retried delivery changes nothing and queueing never biases a metric.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import cast

from bot.failpoints import crash_point
from bot.gameday import metrics
from bot.gameday.best_effort import best_effort
from bot.gameday.delivery_delays import DeliveryDelays
from bot.gameday.guardrails import (
    DEFAULT_MAX_TTL,
    approval_refusal,
    ceiling_refusals,
    check_fault_allowed,
    image_refusals,
)
from bot.gameday.inbox import Input
from bot.gameday.injects import CHECK, ESCALATE, FAULT_EXPIRY, OBSERVE, PUBLISH, STEP, TIME_BOX, Injector
from bot.gameday.mentions import literal
from bot.gameday.more_steps import LOG_LINE, HttpCaller
from bot.gameday.outcome import ACCEPTED_AFTER_END, Outcome
from bot.gameday.ports import (
    Announcer,
    FaultDriver,
    FaultRouter,
    GameDayRecord,
    GameDayStore,
    GameDayTx,
    SingleDriver,
    StoreUnavailable,
    Timer,
)
from bot.gameday.posting import Ahead, ScratchTx, posting
from bot.gameday.redaction import redact
from bot.gameday.report import build_debrief
from bot.gameday.report_models import Debrief
from bot.gameday.responses import ResponderInput
from bot.gameday.scenario import Scenario, content_hash
from bot.gameday.scenario_file import ScenarioError, cached_scenario
from bot.gameday.state import GameDayState, Status, advance, fold
from bot.gameday.timeline import Event, Kind

log = logging.getLogger(__name__)
STORE_RETRY_PAUSES = (0.5, 1.0, 2.0, 4.0)  # seconds between tries while the database is away
# what a pause holds; fault leases and the time box run on
HELD_KINDS = frozenset({STEP, ESCALATE, CHECK, LOG_LINE})
IN_FLIGHT_WAIT_SECONDS = 10.0  # input about a message posted ahead waits at most this for its commit
POSTS_ONLY = frozenset({STEP, ESCALATE, LOG_LINE})  # timers that may post ahead of their lock
# what may post ahead (steps by kind, other timers by theirs): its only outside effect is a post;
# with replicas, only posts nobody answers (another replica's ack could not wait for a page in flight)
POSTED_AHEAD = frozenset({"say", "logs", LOG_LINE, "page", "handoff", ESCALATE})
POSTED_FOR_NOBODY = frozenset({"say", "logs", LOG_LINE})


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


class Engine(ResponderInput):
    def __init__(
        self,
        store: GameDayStore,
        announcer: Announcer,
        clock: Callable[[], float],
        faults: FaultDriver | FaultRouter,
        allowed_namespaces: frozenset[str] = frozenset(),
        on_timer_scheduled: Callable[[float], None] | None = None,
        approvers: frozenset[str] = frozenset(),
        http: HttpCaller | None = None,
        shared: bool = False,
        attack_images: frozenset[str] = frozenset(),
        max_ttl: float = DEFAULT_MAX_TTL,
    ):
        """``shared``: other processes write to the same store (PostgreSQL replicas). Posts people
        answer then stay inside their lock, so an answer another replica takes waits for them there.
        ``attack_images``: the images attack pods may run (SCE_ATTACK_IMAGES); empty leaves the check
        to the driver, at apply. ``max_ttl`` (SCE_MAX_TTL) is the ceiling of every fault ttl and of
        the time box."""
        self.max_ttl = max_ttl
        self.approvers = approvers
        self.attack_images = attack_images
        self.shared = shared
        self.store = store
        self.announcer = announcer
        self.now = clock
        self.allowed_namespaces = allowed_namespaces
        self.delays = DeliveryDelays(store, announcer, clock)  # failing posts, told once Slack is back
        router = cast(FaultRouter, faults) if hasattr(faults, "driver_for") else SingleDriver(faults)
        self.injects = Injector(
            announcer,
            router,
            clock,
            allowed_namespaces,
            on_timer_scheduled or (lambda due: None),
            http=http,
            max_ttl=max_ttl,
        )

    # -- starting -------------------------------------------------------------------------------
    def start(
        self, scenario_text: str, channel: str, started_by: str, roster: dict[str, str], dry_run: bool = False
    ) -> Outcome:
        """Create the game day, post its kickoff message (the thread) and schedule its steps."""
        try:
            scenario = cached_scenario(scenario_text)
        except ScenarioError as exc:
            return Outcome(False, f"The scenario cannot run: {literal(redact(str(exc)))}")  # shown in Slack
        over = ceiling_refusals(scenario, self.max_ttl)
        if over:
            return Outcome(False, "The scenario cannot run: " + "; ".join(over) + ".")
        for step in scenario.steps:
            if step.fault is not None:
                refusal = check_fault_allowed(step.fault, scenario, self.allowed_namespaces)
                if refusal:
                    return Outcome(False, refusal)
        refusals = image_refusals(scenario, self.attack_images) if self.attack_images else []
        if refusals:
            return Outcome(False, refusals[0])
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
            if scenario.mode == "tabletop" and index > 0:
                continue  # the facilitator advances a tabletop with /sce next
            payload = {"step": index, "fault": step.fault is not None}
            self.injects.schedule(tx, f"step:{index}", base + step.at, STEP, payload)
        self.injects.schedule(tx, f"time_box:{base}", base + scenario.guardrails.max_duration, TIME_BOX)

    def approve(
        self, gameday_id: str, user: str, at: float, delivery_id: str, approvers: frozenset[str] | None = None
    ) -> Outcome:
        """Two-person rule: an approver other than the starter lets the steps (and faults) run.

        ``approvers`` are the deployment's approvers with user groups already expanded by the edge.
        """
        with self.store.transaction(gameday_id) as tx:
            if self._duplicate(tx, delivery_id):
                return Outcome(True, "already recorded", gameday_id)
            scenario = cached_scenario(tx.record.scenario_text)
            state = fold(tx.events)
            if state.status is not Status.AWAITING_APPROVAL:
                return Outcome(
                    False, f"This game day is {state.status}, not waiting for approval.", gameday_id
                )
            allowed = self.approvers if approvers is None else approvers
            refusal = approval_refusal(scenario, tx.record.started_by, user, allowed)
            if refusal:
                return Outcome(False, refusal, gameday_id)
            now = self.now()
            tx.append(Kind.APPROVED, at, user, {"scenario_hash": tx.record.scenario_hash})
            tx.record.status = str(Status.RUNNING)
            self._schedule_steps(tx, scenario, max(now, at))
            self._show_status(tx, scenario, fold(tx.events), now)
            return Outcome(True, "Approved; the game day is running.", gameday_id)

    # -- timers ---------------------------------------------------------------------------------
    def fire(self, timer: Timer) -> None:
        """Run one due timer; running it again after a crash is harmless."""
        if timer.kind == PUBLISH:
            self._publish(timer)
            return
        if timer.kind == STEP and timer.payload.get("fault", True):  # timers from before "fault" was kept
            self._record_fault_intent(timer)
        ahead = Ahead()
        try:
            self._post_ahead(timer, ahead)
            with posting(ahead):
                ahead.locked = True
                with self.store.transaction(timer.gameday_id) as tx:
                    scenario = cached_scenario(tx.record.scenario_text)
                    state = fold(tx.events)
                    if not state.status.is_over:
                        self._fire(tx, scenario, state, timer)
                    tx.complete_timer(timer.id)
                    self._settle(tx, scenario)
            for made in ahead.leftovers():  # committed without them: paused, ended or changed meanwhile
                self.injects.withdraw(tx.record, made)
        finally:
            self.injects.in_flight.end(ahead.posted)

    def _post_ahead(self, timer: Timer, ahead: Ahead) -> None:
        """Run a timer whose only outside effect is a post on a scratch copy of its game day, without
        the lock: its post goes out now and the locked run takes it (``bot/gameday/posting``)."""
        if timer.kind not in POSTS_ONLY:
            return
        seen = self.store.peek(timer.gameday_id)
        if seen is None:  # not committed by this process lately: the database has it
            record = self.store.get(timer.gameday_id)
            if record is None:
                return
            seen = record, self.store.events(timer.gameday_id)
        record, events = seen
        scenario = cached_scenario(record.scenario_text)
        kind = scenario.steps[int(timer.payload["step"])].kind if timer.kind == STEP else timer.kind
        if kind not in (POSTED_FOR_NOBODY if self.shared else POSTED_AHEAD):
            return
        scratch = ScratchTx(record, events)
        state = fold(scratch.events)
        if state.status is Status.RUNNING:
            with posting(ahead):  # a post that fails fails the timer: its retry is a replay, which looks
                self._fire(scratch, scenario, state, timer)  # for the post before posting again

    def find_target(self, channel: str, message_ts: str) -> tuple[str, str] | None:
        """(game day, page or handoff) of a message, once the transaction of a message posted ahead of
        it has ended: a click that quick waits for the page instead of missing it."""
        found = self.store.find_target(channel, message_ts)
        if found is None and self.injects.in_flight.wait(channel, message_ts, IN_FLIGHT_WAIT_SECONDS):
            found = self.store.find_target(channel, message_ts)
        return found

    def _fire(self, tx: GameDayTx, scenario: Scenario, state: GameDayState, timer: Timer) -> None:
        awaiting = state.status is Status.AWAITING_APPROVAL
        replay = timer.attempts > 1
        if timer.kind == STEP and not awaiting:
            self.injects.run_step(tx, scenario, state, int(timer.payload["step"]), replay)
        elif timer.kind == ESCALATE:
            self.injects.escalate(tx, state, timer.payload["page_id"], replay)
        elif timer.kind == TIME_BOX:
            status, why = (
                (Status.ABORTED, "never approved") if awaiting else (Status.COMPLETED, "max_duration reached")
            )
            self._finish(tx, scenario, status, why, final=True)
        elif timer.kind == FAULT_EXPIRY:
            self.injects.revert_fault(tx, scenario, timer.payload["fault_id"])
        elif timer.kind == LOG_LINE:
            index = int(timer.payload["step"])
            if index not in state.steps_ran:
                self.injects.more.stream_log(tx, scenario, index, int(timer.payload["line"]), replay)
        elif timer.kind == OBSERVE:
            self.injects.observe_fault(tx, state, timer.payload["fault_id"], int(timer.payload.get("n", 1)))

    def _record_fault_intent(self, timer: Timer) -> None:
        """Commit what a fault step is about to do before the driver touches anything, so a crash in
        between leaves a record (and labelled objects) for the reaper, never a silent change."""
        with self.store.transaction(timer.gameday_id) as tx:
            state = fold(tx.events)
            index = int(timer.payload["step"])
            if state.status is not Status.RUNNING or index in state.steps_ran:
                return
            if any(e.kind is Kind.FAULT_INTENT and e.data.get("step") == index for e in tx.events):
                return
            intent = self.injects.fault_intent(tx, cached_scenario(tx.record.scenario_text), index)
            if intent is not None:
                tx.append(Kind.FAULT_INTENT, self.now(), None, intent)
        if intent is not None:
            crash_point("fault.intent")

    # -- operations -----------------------------------------------------------------------------
    def _operate(
        self,
        gameday_id: str,
        delivery_id: str | None,
        action: Callable[[GameDayTx, Scenario, GameDayState], Outcome],
        when_over: str = "This game day is over.",
        urgent: bool = False,
    ) -> Outcome:
        """One operation: lock, skip a delivery seen before, refuse when over, act, then settle.
        ``urgent`` (abort, a stop condition): no wait for the game day's posts in flight."""
        return self.operate_many(gameday_id, [Input(delivery_id, action, when_over)], urgent)[0]

    def operate_many(self, gameday_id: str, inputs: Sequence[Input], urgent: bool = False) -> list[Outcome]:
        """Several operations on one game day, in order, in one locked transaction."""
        return self.operate_across({gameday_id: inputs}, urgent)[gameday_id]

    def operate_across(
        self, batches: Mapping[str, Sequence[Input]], urgent: bool = False
    ) -> dict[str, list[Outcome]]:
        """Each game day's operations in order, all game days in one transaction (the inbox's batches):
        a burst of replies over many game days pays for one commit.

        Slack input arrives once (its ack is already sent), so a database that is restarting is waited
        for a few seconds rather than the input being lost.
        """
        if not urgent:  # a post of these game days out ahead of its commit may be what this answers
            self.injects.in_flight.wait_for_gamedays(batches.keys(), IN_FLIGHT_WAIT_SECONDS)
        for pause in (*STORE_RETRY_PAUSES, None):
            try:
                return self._operate_across_once(batches)
            except StoreUnavailable as exc:
                if pause is None:
                    raise
                log.warning("%s; retrying %s in %.1fs", exc, ", ".join(batches), pause)
                time.sleep(pause)
        raise AssertionError("unreachable")

    def _operate_across_once(self, batches: Mapping[str, Sequence[Input]]) -> dict[str, list[Outcome]]:
        with self.store.transactions(list(batches)) as txs:
            deliveries = [i.delivery_id for inputs in batches.values() for i in inputs if i.delivery_id]
            # delivery ids are unique across game days: one look answers for the whole batch
            seen = next(iter(txs.values())).seen_deliveries(deliveries) if deliveries else set()
            return {gd: self._apply_inputs(txs[gd], batches[gd], seen) for gd in sorted(batches)}

    def _apply_inputs(self, tx: GameDayTx, inputs: Sequence[Input], seen: set[str]) -> list[Outcome]:
        """Lock held: skip a delivery seen before, refuse when over, act, then settle once."""
        gameday_id = tx.record.id
        scenario = cached_scenario(tx.record.scenario_text)
        events = tx.events
        before = known = len(events)
        state = fold(events)
        outcomes = []
        for item in inputs:
            if item.delivery_id is not None:
                if item.delivery_id in seen:
                    outcomes.append(Outcome(True, "already recorded", gameday_id))
                    continue
                seen.add(item.delivery_id)
                tx.record_delivery(item.delivery_id)
            if state.status.is_over and item.when_over != ACCEPTED_AFTER_END:
                outcomes.append(Outcome(False, item.when_over, gameday_id))
                continue
            outcomes.append(replace(item.action(tx, scenario, state), gameday_id=gameday_id))
            events = tx.events
            state, known = advance(state, events[known:]), len(events)
        changed = {e.kind for e in events[before:]}
        if changed and changed != {Kind.NOTE} and state.status is not Status.AWAITING_APPROVAL:
            self._settle(tx, scenario)  # a note alone changes neither the outcome nor the status line
        return outcomes

    # -- facilitation ---------------------------------------------------------------------------
    def pause(self, gameday_id: str, user: str) -> Outcome:
        """Stop the game-day clock: later steps and escalations wait until resume."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            if state.status is not Status.RUNNING:
                return Outcome(False, f"Only a running game day can be paused (this one is {state.status}).")
            tx.append(Kind.PAUSED, self.now(), user, {})
            tx.record.status = str(Status.PAUSED)
            tx.hold_pending_timers(HELD_KINDS)
            return Outcome(True, "Paused: steps and escalations wait; faults keep their leases.")

        return self._operate(gameday_id, None, act)

    def resume(self, gameday_id: str, user: str) -> Outcome:
        """Start the clock again; every held timer moves later by the time spent paused."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            if state.status is not Status.PAUSED or state.paused_at is None:
                return Outcome(False, "This game day is not paused.")
            now = self.now()
            paused = max(0.0, now - state.paused_at)
            tx.append(Kind.RESUMED, now, user, {"paused_seconds": paused})
            tx.record.status = str(Status.RUNNING)
            for due in tx.release_held_timers(paused):
                self.injects.on_timer_scheduled(due)
            return Outcome(True, f"Resumed after {paused:.0f}s; later steps moved by as much.")

        return self._operate(gameday_id, None, act)

    def next_step(self, gameday_id: str, user: str) -> Outcome:
        """Tabletop mode: run the next step now. The reply carries the step's facilitator note."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            if scenario.mode != "tabletop":
                return Outcome(False, "This is a live scenario: its steps run on their timers.")
            if state.status is not Status.RUNNING:
                return Outcome(False, f"The game day is {state.status}; resume it first.")
            remaining = [i for i in range(len(scenario.steps)) if i not in state.steps_ran]
            if not remaining:
                return Outcome(False, "Every step has run; `/sce end` closes the game day.")
            index = remaining[0]
            if any(e.kind is Kind.SAID and e.data.get("step") == index for e in tx.events):
                return Outcome(
                    False, f"Step {index + 1} is still streaming its log; `/sce next` once it is out."
                )
            self.injects.run_step(tx, scenario, state, index)
            note = scenario.steps[index].facilitator_note
            told = f" Facilitator note: {literal(redact(note))}" if note else ""  # shown in Slack
            return Outcome(True, f"Step {index + 1} of {len(scenario.steps)} is out.{told}")

        return self._operate(gameday_id, None, act)

    # -- ending ---------------------------------------------------------------------------------
    def end(self, gameday_id: str, user: str) -> Outcome:
        """The facilitator ends the game day; outcomes still open count as missed."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            self._finish(tx, scenario, Status.COMPLETED, f"ended by <@{user}>", final=True)
            return Outcome(True, "Game day ended; the debrief is in the thread.")

        return self._operate(gameday_id, None, act, "This game day is already over.")

    def abort(self, gameday_id: str, user: str, reason: str = "") -> Outcome:
        """Stop at once, revert every fault; the verdict is inconclusive."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            why = f"aborted by <@{user}>" + (f": {reason}" if reason else "")
            before = len(tx.events)
            self._finish(tx, scenario, Status.ABORTED, why, final=True)
            failed = [e.data["fault_id"] for e in tx.events[before:] if e.kind is Kind.FAULT_REVERT_FAILED]
            if failed:
                return Outcome(
                    True,
                    f"Game day aborted; the revert of {', '.join(failed)} FAILED (see the thread): the "
                    "cluster still ends each at its lease and the reaper retries every minute.",
                )
            return Outcome(True, "Game day aborted; every fault reverted.")

        return self._operate(gameday_id, None, act, "This game day is already over.", urgent=True)

    def stop_on_condition(self, gameday_id: str, reason: str, delivery_id: str) -> Outcome:
        """A guardrail's stop condition fired (a real incident): abort at once, revert every fault."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            self._say_loudly(tx, f":octagonal_sign: Stopping the game day: {reason}")
            self._finish(tx, scenario, Status.ABORTED, f"stopped: {reason}", final=True)
            return Outcome(True, "stopped by a stop condition")

        return self._operate(gameday_id, delivery_id, act, "already over", urgent=True)

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
        self._show_status(tx, scenario, state, now)

    def _show_status(self, tx: GameDayTx, scenario: Scenario, state: GameDayState, now: float) -> None:
        """The status message follows what committed (the announcer may send it a moment later)."""
        record = replace(tx.record)
        tx.after_commit(
            lambda: best_effort(
                lambda: self.announcer.refresh_status(record, scenario, state, now), "the status"
            )
        )

    def _finish(
        self, tx: GameDayTx, scenario: Scenario, status: Status, reason: str, final: bool = False
    ) -> None:
        now = self.now()
        still_applied = [f for f in fold(tx.events).faults.values() if f.reverted_at is None]
        for fault, result in self.injects.revert_calls(tx.record.id, still_applied):
            if isinstance(result, str):
                tx.append(
                    Kind.FAULT_REVERTED, self.now(), None, {"fault_id": fault.fault_id, "detail": result}
                )
                continue
            # a failed revert does not stop the others; the cluster ends it at its lease, the reaper retries
            log.error("revert of %s failed: %s", fault.fault_id, result, exc_info=result)
            tx.append(Kind.FAULT_REVERT_FAILED, now, None, {"fault_id": fault.fault_id, "error": str(result)})
            self._say_loudly(
                tx,
                f":rotating_light: Revert of fault {fault.fault_id} FAILED: {result}. "
                "The cluster still ends it at its lease; the reaper retries every minute.",
            )
        tx.append(Kind.ENDED, now, None, {"status": str(status), "reason": reason})
        tx.record.status = str(status)
        tx.cancel_pending_timers()
        # the posts of the end (status line, debrief, its files) are a durable timer of their own: they
        # stay off the path of the command or timer that ended it, and a crash while they render or post
        # leaves the timer for the next process instead of a game day without its debrief
        self.injects.schedule(tx, "publish", now, PUBLISH)

    def _publish(self, timer: Timer) -> None:
        """Post the end: the final status line, the debrief and its files (once, even when replayed).

        The game day is over and its timeline only grows by late notes, so this reads without the lock:
        rendering and posting hold up no one. The timer is completed only once the debrief is out: a
        Slack that fails the post fails the timer, which is retried with its backoff until it posts.
        """
        record = self.store.get(timer.gameday_id)
        if record is not None:
            self._post_end(record, self.store.events(timer.gameday_id), replay=timer.attempts > 1)
        with self.store.transaction(timer.gameday_id) as tx:
            tx.complete_timer(timer.id)

    def _post_end(self, record: GameDayRecord, events: list[Event], replay: bool) -> None:
        key = f"{record.id}:debrief"
        if replay and self.announcer.find_posted(record, key) is not None:
            return
        debrief = self.debrief_from(record, events)  # notes that came just after the end count
        crash_point("debrief.render")
        try:  # the status message says "over" on a best-effort basis; the debrief itself must get out
            scenario = cached_scenario(record.scenario_text)
            self.announcer.refresh_status(record, scenario, fold(events), self.now())
        except Exception:
            log.exception("could not show the end of %s in its status message", record.id)
        self.announcer.finished(record, debrief, key)

    def debrief_from(self, record: GameDayRecord, events: list[Event], now: float | None = None) -> Debrief:
        return build_debrief_for(record, events, self.now() if now is None else now)

    # -- plumbing -------------------------------------------------------------------------------
    def _say_loudly(self, tx: GameDayTx, text: str) -> None:
        try:
            self.announcer.say(tx.record, text, f"alert:{len(tx.events)}")
        except Exception:  # Slack down too: the timeline and the debrief still say it
            log.exception("could not post to %s", tx.record.id)

    @staticmethod
    def _duplicate(tx: GameDayTx, delivery_id: str) -> bool:
        if tx.seen_delivery(delivery_id):
            return True
        tx.record_delivery(delivery_id)
        return False

"""Timers firing: a due step, escalation, time box, fault expiry, log line or probe look, run once under
the game day's lock; a post (``bot/gameday/running/outbox``) and the end's posts, outside every lock.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.gameday.folds import folded
from bot.gameday.ports import GameDayStore, GameDayTx, Timer
from bot.gameday.running.annotating import ANNOTATE, Annotating
from bot.gameday.running.canary import CANARY, CanaryWait
from bot.gameday.running.failure_paging import FAILURE_PAGE, REVERT_RETRY, FailurePaging
from bot.gameday.running.finishing import Finishing
from bot.gameday.running.injects import ESCALATE, FAULT_EXPIRY, OBSERVE, PUBLISH, STEP, TIME_BOX, Injector
from bot.gameday.running.live_logs import LOG_BATCH, LiveLogs
from bot.gameday.running.more_steps import LOG_LINE
from bot.gameday.running.operations import IN_FLIGHT_WAIT_SECONDS
from bot.gameday.running.steady_watch import STEADY, SteadyWatch
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState, Status, fold
from bot.gameday.timeline import Kind
from bot.runtime.failpoints import crash_point

POST = TimerKind.POST


class TimerFiring:
    """Run due timers. ``shared``: other processes write to the same store (replicas)."""

    def __init__(
        self,
        store: GameDayStore,
        injects: Injector,
        clock: Callable[[], float],
        finishing: Finishing,
        shared: bool = False,
        steady: SteadyWatch | None = None,
        canary: CanaryWait | None = None,
    ):
        self.steady = steady
        self.canary = canary
        self.live_logs: LiveLogs | None = None  # the engine's: live logs steps (running/live_logs)
        self.annotating: Annotating | None = None  # Grafana annotations (set by the engine)
        self.failure_paging: FailurePaging | None = None  # PagerDuty on failure (set by the engine)
        self.store = store
        self.injects = injects
        self.now = clock
        self.finishing = finishing
        self.shared = shared

    def fire(self, timer: Timer) -> None:
        """Run one due timer; running it again after a crash is harmless."""
        if timer.kind == PUBLISH:
            self.finishing.publish(timer)
            return
        if timer.kind == POST:
            self.injects.outbox.deliver(timer)
            return
        if timer.kind == ANNOTATE and self.annotating is not None:  # Grafana, outside every lock
            self.annotating.write(timer)
            return
        if timer.kind == FAILURE_PAGE and self.failure_paging is not None:  # PagerDuty, outside every lock
            self.failure_paging.send(timer)
            return
        if timer.kind == REVERT_RETRY and self.failure_paging is not None:  # after the end too
            self.failure_paging.retry_revert(timer)
            return
        if timer.kind == STEADY and self.steady is not None:  # Prometheus is asked outside the lock
            self.steady.check(timer)
            return
        if timer.kind == LOG_BATCH and self.live_logs is not None:  # the source is read outside the lock
            self.live_logs.tick(timer)
            return
        if timer.kind == STEP and timer.payload.get("fault", True):  # timers from before "fault" was kept
            self._record_fault_intent(timer)
        with self.store.transaction(timer.gameday_id) as tx:
            scenario = cached_scenario(tx.record.scenario_text)
            state = folded(tx.record.id, tx.events)
            if not state.status.is_over:
                self._fire(tx, scenario, state, timer)
            tx.complete_timer(timer.id)
            self.finishing.settle(tx, scenario)

    def find_target(self, channel: str, message_ts: str) -> tuple[str, str] | None:
        """(game day, page or handoff) of a message, once the transaction recording it has ended: a
        click that quick waits for the page instead of missing it."""
        found = self.store.find_target(channel, message_ts)
        if found is None and self.injects.outbox.in_flight.wait(channel, message_ts, IN_FLIGHT_WAIT_SECONDS):
            found = self.store.find_target(channel, message_ts)
        return found

    def _fire(self, tx: GameDayTx, scenario: Scenario, state: GameDayState, timer: Timer) -> None:
        awaiting = state.status in (Status.AWAITING_APPROVAL, Status.PREFLIGHT)
        if timer.kind == STEP and not awaiting:
            self.injects.run_step(tx, scenario, state, int(timer.payload["step"]))
        elif timer.kind == ESCALATE:
            self.injects.paging.escalate(tx, state, timer.payload["page_id"])
        elif timer.kind == TIME_BOX:
            never = "its preflight never passed" if state.status is Status.PREFLIGHT else "never approved"
            status, why = (Status.ABORTED, never) if awaiting else (Status.COMPLETED, "max_duration reached")
            self.finishing.finish(tx, scenario, status, why, final=True)
        elif timer.kind == FAULT_EXPIRY:
            self.injects.fault_steps.revert_fault(tx, scenario, timer.payload["fault_id"])
        elif timer.kind == LOG_LINE:
            index = int(timer.payload["step"])
            if index not in state.steps_ran:
                self.injects.more.stream_log(tx, scenario, index, int(timer.payload["line"]))
        elif timer.kind == CANARY and self.canary is not None:
            self.canary.deadline(tx, scenario, state)
        elif timer.kind == OBSERVE:
            self.injects.fault_steps.observe_fault(
                tx, state, timer.payload["fault_id"], int(timer.payload.get("n", 1))
            )

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
            intent = self.injects.fault_steps.fault_intent(
                tx, cached_scenario(tx.record.scenario_text), index
            )
            if intent is not None:
                tx.append(Kind.FAULT_INTENT, self.now(), None, intent)
        if intent is not None:
            crash_point("fault.intent")

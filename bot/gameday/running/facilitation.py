"""The facilitator's commands on a running game day: pause, resume, next (tabletop), end, abort, and a
guardrail's stop condition. Each is one operation (``bot/gameday/running/operations``).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.gameday.measuring.redaction import redact
from bot.gameday.people.mentions import literal
from bot.gameday.ports import GameDayTx
from bot.gameday.running.finishing import Finishing
from bot.gameday.running.injects import CHECK, ESCALATE, STEP, Injector
from bot.gameday.running.more_steps import LOG_LINE
from bot.gameday.running.operations import Operations
from bot.gameday.running.outcome import Outcome
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState, Status
from bot.gameday.timeline import Kind

# what a pause holds; fault leases and the time box run on
HELD_KINDS = frozenset({STEP, ESCALATE, CHECK, LOG_LINE})


class Facilitation:
    def __init__(
        self, operations: Operations, finishing: Finishing, injects: Injector, clock: Callable[[], float]
    ):
        self.operations = operations
        self.finishing = finishing
        self.injects = injects
        self.now = clock

    def pause(self, gameday_id: str, user: str) -> Outcome:
        """Stop the game-day clock: later steps and escalations wait until resume."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            if state.status is not Status.RUNNING:
                return Outcome(False, f"Only a running game day can be paused (this one is {state.status}).")
            tx.append(Kind.PAUSED, self.now(), user, {})
            tx.record.status = str(Status.PAUSED)
            tx.hold_pending_timers(HELD_KINDS)
            return Outcome(True, "Paused: steps and escalations wait; faults keep their leases.")

        return self.operations.operate(gameday_id, None, act)

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

        return self.operations.operate(gameday_id, None, act)

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

        return self.operations.operate(gameday_id, None, act)

    def end(self, gameday_id: str, user: str) -> Outcome:
        """The facilitator ends the game day; outcomes still open count as missed."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            self.finishing.finish(tx, scenario, Status.COMPLETED, f"ended by <@{user}>", final=True)
            return Outcome(True, "Game day ended; the debrief is in the thread.")

        return self.operations.operate(gameday_id, None, act, "This game day is already over.")

    def abort(self, gameday_id: str, user: str, reason: str = "") -> Outcome:
        """Stop at once, revert every fault; the verdict is inconclusive."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            why = f"aborted by <@{user}>" + (f": {reason}" if reason else "")
            before = len(tx.events)
            self.finishing.finish(tx, scenario, Status.ABORTED, why, final=True)
            failed = [e.data["fault_id"] for e in tx.events[before:] if e.kind is Kind.FAULT_REVERT_FAILED]
            if failed:
                return Outcome(
                    True,
                    f"Game day aborted; the revert of {', '.join(failed)} FAILED (see the thread): the "
                    "cluster still ends each at its lease and the reaper retries every minute.",
                )
            return Outcome(True, "Game day aborted; every fault reverted.")

        return self.operations.operate(gameday_id, None, act, "This game day is already over.", urgent=True)

    def stop_on_condition(
        self, gameday_id: str, reason: str, delivery_id: str, guardrail: bool = True
    ) -> Outcome:
        """A guardrail's stop condition fired (a real incident): abort at once, revert every fault.
        ``guardrail`` False: the halt lever (an incident known already; nothing more is paged)."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            self.finishing.say_loudly(tx, f":octagonal_sign: Stopping the game day: {reason}")
            why = f"stopped: {reason}"
            self.finishing.finish(tx, scenario, Status.ABORTED, why, final=True, guardrail=guardrail)
            return Outcome(True, "stopped by a stop condition")

        return self.operations.operate(gameday_id, delivery_id, act, "already over", urgent=True)

"""The preflight's canary alert (``preflight.canary_alert``): a game day that declares one starts in the
``preflight`` state, runs nothing, and waits up to ``within`` for an alert carrying the canary's labels.

When it comes, the alert path (rule, Alertmanager's routing, the receiver, the bot's webhook) is proven
alive: the game day goes on to its approval, or straight to its steps. When it does not, the game day
fails before anything was applied, and the thread says what to check: detection would not have been
measurable, and a game day that cannot measure must not run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.gameday.people.mentions import literal
from bot.gameday.ports import GameDayTx
from bot.gameday.running.finishing import Finishing
from bot.gameday.running.injects import Injector
from bot.gameday.running.operations import Operations
from bot.gameday.running.outcome import Outcome
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.scenario.durations import format_duration
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState, Status
from bot.gameday.timeline import Kind

CANARY = TimerKind.CANARY


class CanaryWait:
    def __init__(
        self,
        operations: Operations,
        injects: Injector,
        finishing: Finishing,
        clock: Callable[[], float],
        schedule_steps: Callable[[GameDayTx, Scenario, float], None],
    ):
        self.operations = operations
        self.injects = injects
        self.finishing = finishing
        self.now = clock
        self.schedule_steps = schedule_steps

    def begin(self, tx: GameDayTx, scenario: Scenario, now: float) -> None:
        """Wait for the canary: its deadline is a durable timer, and the thread says what it waits for."""
        canary = scenario.preflight.canary_alert
        assert canary is not None
        self.injects.schedule(tx, "canary", now + canary.within, CANARY)
        self.injects.say(
            tx,
            "preflight:canary",
            f"Preflight: waiting up to {format_duration(canary.within)} for the canary alert "
            f"`{literal(canary.shown())}`; nothing runs until it arrives.",
        )

    def arrived(self, gameday_id: str, name: str, labels: dict[str, str], delivery_id: str) -> Outcome:
        """The canary came: on to the approval, or to the steps (once; a repeat changes nothing)."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            if state.status is not Status.PREFLIGHT:
                return Outcome(True, f"the game day is {state.status}, not waiting for its canary")
            now = self.now()
            # a standing approval recorded at the start (an unattended run) is the approval: no wait
            standing = any(e.kind is Kind.STANDING_APPROVED for e in tx.events)
            awaiting = scenario.approval.required and not standing
            following = Status.AWAITING_APPROVAL if awaiting else Status.RUNNING
            waited = now - (state.started_at if state.started_at is not None else now)
            data = {"name": name, "labels": labels, "status": str(following)}
            tx.append(Kind.CANARY_ARRIVED, now, None, data)
            tx.record.status = str(following)
            if not awaiting:
                self.schedule_steps(tx, scenario, now)
            then = "waiting for an approver" if awaiting else "the game day runs"
            after = format_duration(waited)
            said = f"Preflight passed: the canary alert `{literal(name)}` arrived after {after}; {then}."
            self.injects.say(tx, "preflight:canary:arrived", said)
            self.finishing.show_status(tx, scenario, self._after(state, following), now)
            return Outcome(True, "canary arrived")

        return self.operations.operate(gameday_id, delivery_id, act, "already over", urgent=True)

    def deadline(self, tx: GameDayTx, scenario: Scenario, state: GameDayState) -> None:
        """The canary's time is up: a game day still waiting fails, with nothing applied."""
        canary = scenario.preflight.canary_alert
        if state.status is not Status.PREFLIGHT or canary is None:
            return
        within = format_duration(canary.within)
        self.finishing.say_loudly(
            tx,
            f":warning: Preflight failed: the canary alert `{literal(canary.shown())}` did not arrive "
            f"within {within}, so no detection could be measured. Nothing was applied. Check that the "
            "alert fires, that Alertmanager routes it to the bot (/hooks/alertmanager) or that it is "
            "posted in the alerts channel, then start again.",
        )
        self.finishing.finish(
            tx, scenario, Status.FAILED, f"preflight failed: no canary alert within {within}", final=True
        )

    @staticmethod
    def _after(state: GameDayState, status: Status) -> GameDayState:
        return replace(state, status=status)

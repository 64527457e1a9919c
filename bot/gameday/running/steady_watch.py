"""The steady state while a game day runs: its probes are looked at every ``STEADY_EVERY`` seconds, and
a breach (a value beyond its tolerance) is a stop condition: the game day is aborted and every fault
reverted. Not being able to measure it (Prometheus gone, no data) is said in the thread, and after
``BLIND_LIMIT`` looks in a row it stops the game day too: it does not run blind. A paused game day is
watched as well: its faults stay in place while it is paused.

After the end, however it ended, the probes are looked at again every ``STEADY_EVERY`` seconds until they
all hold (the thread says how long recovery took) or for ``AFTER_LOOKS`` looks (it says it did not).

The query goes to Prometheus outside every lock; what it found is recorded under the game day's lock.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.gameday.ports import GameDayStore, GameDayTx, Timer
from bot.gameday.preflight import UNMEASURED, Check, Query, http_status, preflight
from bot.gameday.running.finishing import Finishing
from bot.gameday.running.injects import Injector
from bot.gameday.running.outbound import HttpCaller
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import Status, fold
from bot.gameday.timeline import Kind

STEADY = TimerKind.STEADY
STEADY_EVERY = 15.0
BLIND_LIMIT = 3
AFTER_LOOKS = 20  # 5 minutes of looks after the end
# paused too: a pause holds the steps, not the faults already in place, so the system is still watched
WATCHED = frozenset({str(Status.RUNNING), str(Status.PAUSED)})


class SteadyWatch:
    def __init__(
        self,
        store: GameDayStore,
        query: Query | None,
        clock: Callable[[], float],
        injects: Injector,
        finishing: Finishing,
        http: HttpCaller | None = None,
    ):
        self.http = http_status(http) if http is not None else None
        self.store = store
        self.query = query
        self.now = clock
        self.injects = injects
        self.finishing = finishing
        finishing.after_end.append(self.schedule_after)

    def schedule_first(self, tx: GameDayTx, scenario: Scenario, base: float) -> None:
        if not scenario.steady_state:
            return
        if not self._measurable(scenario):  # preflight let it start only because nothing real changes
            data = {"phase": "unmeasured", "reason": UNMEASURED}
            tx.append(Kind.STEADY_STATE, self.now(), None, data)
            self.injects.say(tx, "steady:unmeasured", f"Steady state {UNMEASURED}.")
            return
        self.injects.schedule(tx, f"steady:{base}", base + STEADY_EVERY, STEADY, {"blind": 0})

    def _measurable(self, scenario: Scenario) -> bool:
        """Whether any of its probes can be looked at: Prometheus configured, or an HTTP probe."""
        return self.query is not None or any(probe.http is not None for probe in scenario.steady_state)

    def schedule_after(self, tx: GameDayTx, scenario: Scenario, ended_at: float) -> None:
        if scenario.steady_state and self._measurable(scenario):
            payload = {"phase": "after", "ended_at": ended_at, "n": 1}
            self.injects.schedule(tx, f"steady:after:{ended_at}", ended_at + STEADY_EVERY, STEADY, payload)

    def check(self, timer: Timer) -> None:
        """Look at the steady state (outside the lock), then record it and act on it (under it)."""
        after = timer.payload.get("phase") == "after"
        record = self.store.get(timer.gameday_id)
        scenario = cached_scenario(record.scenario_text) if record is not None else None
        looking = record is not None and (after or record.status in WATCHED)
        checks = preflight(scenario, self.query, self.http) if scenario is not None and looking else []
        with self.store.transaction(timer.gameday_id) as tx:
            scenario = cached_scenario(tx.record.scenario_text)
            status = fold(tx.events).status
            blind = int(timer.payload.get("blind", 0))
            if after and checks:
                self._recovery(tx, checks, float(timer.payload["ended_at"]), int(timer.payload.get("n", 1)))
            elif str(status) in WATCHED and checks:
                self._record(tx, scenario, checks, blind)
            elif not after and not status.is_over:  # it changed while Prometheus was asked: look again
                self._next(tx, blind)
            tx.complete_timer(timer.id)
            self.finishing.settle(tx, scenario)

    def _recovery(self, tx: GameDayTx, checks: list[Check], ended_at: float, n: int) -> None:
        now = self.now()
        recovered = all(check.ok for check in checks)
        probes = [
            {"name": c.name, "ok": c.ok, "blind": c.blind, "finding": c.finding or c.sentence} for c in checks
        ]
        seconds = round(now - ended_at)
        data = {"phase": "after", "probes": probes, "recovered": recovered, "after_seconds": seconds}
        tx.append(Kind.STEADY_STATE, now, None, data)
        if recovered:
            self.injects.say(
                tx,
                f"steady:after:{ended_at}",
                f"Steady state recovered: every probe within its tolerance {seconds} s after the end.",
            )
        elif n >= AFTER_LOOKS:
            found = "; ".join(
                f"{c.name.removeprefix('steady state: ')}: {c.finding or c.sentence}"
                for c in checks
                if not c.ok
            )
            self.injects.say(
                tx,
                f"steady:after:{ended_at}",
                f":warning: Steady state not recovered {seconds} s after the end: {found}.",
            )
        else:
            payload = {"phase": "after", "ended_at": ended_at, "n": n + 1}
            self.injects.schedule(tx, f"steady:after:{ended_at}:{n}", now + STEADY_EVERY, STEADY, payload)

    def _record(self, tx: GameDayTx, scenario: Scenario, checks: list[Check], blind_before: int) -> None:
        breached = [c for c in checks if not c.ok and not c.blind]
        unmeasured = [c for c in checks if c.blind]
        blind = blind_before + 1 if unmeasured else 0
        probes = [
            {"name": c.name, "ok": c.ok, "blind": c.blind, "finding": c.finding or c.sentence} for c in checks
        ]
        data = {"phase": "during", "probes": probes, "breached": bool(breached), "blind": bool(unmeasured)}
        tx.append(Kind.STEADY_STATE, self.now(), None, data)
        if breached:
            found = "; ".join(f"{c.name.removeprefix('steady state: ')} {c.finding}" for c in breached)
            self._stop(tx, scenario, f"steady state breached ({found})", guardrail=True)
            return
        if blind >= BLIND_LIMIT:
            why = "; ".join(f"{c.name.removeprefix('steady state: ')}: {c.sentence}" for c in unmeasured)
            self._stop(tx, scenario, f"the steady state could not be measured {blind} times in a row ({why})")
            return
        if blind == 1:
            why = "; ".join(f"{c.name.removeprefix('steady state: ')}: {c.sentence}" for c in unmeasured)
            limit = int(STEADY_EVERY * BLIND_LIMIT)
            self.finishing.say_loudly(
                tx,
                f":warning: Steady state not measured: {why}. The game day stops if that lasts {limit} s.",
            )
        self._next(tx, blind)

    def _next(self, tx: GameDayTx, blind: int) -> None:
        now = self.now()
        self.injects.schedule(tx, f"steady:{now}", now + STEADY_EVERY, STEADY, {"blind": blind})

    def _stop(self, tx: GameDayTx, scenario: Scenario, reason: str, guardrail: bool = False) -> None:
        """``guardrail``: a breach (a real incident is paged); not for a steady state that went unmeasured."""
        self.finishing.say_loudly(tx, f":octagonal_sign: Stopping the game day: {reason}")
        self.finishing.finish(
            tx, scenario, Status.ABORTED, f"stopped: {reason}", final=True, guardrail=guardrail
        )

"""The end of a game day: settling after each change, finishing (reverts, the end event) and publishing
the final status line and the debrief.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from bot.gameday.folds import folded
from bot.gameday.measuring import metrics, unattended
from bot.gameday.measuring.report import build_debrief
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.measuring.run_summary import kept_summary
from bot.gameday.ports import Announcer, GameDayRecord, GameDayStore, GameDayTx, Timer
from bot.gameday.running.best_effort import best_effort
from bot.gameday.running.injects import PUBLISH, Injector
from bot.gameday.running.panel_capture import RangeQuery, capture, captured, wanted
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState, Status, fold
from bot.gameday.timeline import Event, Kind
from bot.runtime.failpoints import crash_point

log = logging.getLogger(__name__)


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


class Finishing:
    """Settle, finish and publish one game day; every method but ``publish`` runs under its lock."""

    def __init__(
        self, store: GameDayStore, announcer: Announcer, clock: Callable[[], float], injects: Injector
    ):
        self.store = store
        self.announcer = announcer
        self.now = clock
        self.injects = injects
        # what looks on after the end, scheduled as it ends (the steady state's recovery: steady_watch)
        self.after_end: list[Callable[[GameDayTx, Scenario, float], None]] = []
        # what follows every change, under the lock, before anything else (Grafana annotations: annotating)
        self.after_change: list[Callable[[GameDayTx, Scenario], None]] = []
        # the team's Prometheus, asked for the panels at the end (panel_capture); None: not configured
        self.range_query: RangeQuery | None = None
        # what reads the debrief built at the end, outside every lock, before it posts (the findings:
        # bot/gameday/findings); best-effort: one that fails is logged, and the debrief posts all the same
        self.after_debrief: list[Callable[[GameDayRecord, Debrief], object]] = []
        # what adds to the debrief after those (the learning loop: findings/joining.py), in order; each
        # hands back the debrief to post, and catches its own failures
        self.debrief_extras: list[Callable[[GameDayRecord, Debrief], Debrief]] = []
        # what follows the debrief in its thread (the findings and their buttons: bot/slack/finding_buttons):
        # each hands back the outbox post kind it wants posted, or None; the post is committed with the end
        # of the publish timer, so a publish replayed after a crash never posts it twice
        self.after_publish: list[Callable[[GameDayRecord], str | None]] = []

    def settle(self, tx: GameDayTx, scenario: Scenario) -> None:
        """After any change: finish when everything has an outcome, else refresh the status message."""
        for after_change in self.after_change:
            after_change(tx, scenario)
        state = folded(tx.record.id, tx.events)
        if state.status.is_over:
            return
        now = self.now()
        if unattended.is_unattended(tx.events):  # nobody is waited for: machines decide, or the time box
            judged = unattended.machine_state(state, tx.events)
            results = metrics.expectation_results(judged, scenario.expect, now=now)
            machines = [r for r in results if r.name not in unattended.HUMAN_EXPECTATIONS]
            all_steps = len(state.steps_ran) == len(scenario.steps)
            if all_steps and not any(_undecided(r, judged) for r in machines):
                self.finish(tx, scenario, Status.COMPLETED, "every step ran and the machines decided")
                return
            self.show_status(tx, scenario, state, now)
            return
        results = metrics.expectation_results(state, scenario.expect, now=now)
        all_steps = len(state.steps_ran) == len(scenario.steps)
        decided = not any(_undecided(r, state) for r in results)
        if all_steps and not state.open_pages() and not state.pending_handoffs() and decided:
            self.finish(tx, scenario, Status.COMPLETED, "every step ran and every expectation has an outcome")
            return
        self.show_status(tx, scenario, state, now)

    def show_status(self, tx: GameDayTx, scenario: Scenario, state: GameDayState, now: float) -> None:
        """The status message follows what committed (the announcer may send it a moment later)."""
        record, version = replace(tx.record), len(tx.events)
        tx.after_commit(
            lambda: best_effort(
                lambda: self.announcer.refresh_status(record, scenario, state, now, version), "the status"
            )
        )

    def finish(
        self,
        tx: GameDayTx,
        scenario: Scenario,
        status: Status,
        reason: str,
        final: bool = False,
        guardrail: bool = False,
    ) -> None:
        """Revert every fault still applied, record the end and schedule the posts of the end.
        ``guardrail``: a stop condition or a steady-state breach stopped it (a real incident is paged)."""
        now = self.now()
        still_applied = [f for f in fold(tx.events).faults.values() if f.reverted_at is None]
        for fault, result in self.injects.fault_steps.revert_calls(tx.record.id, still_applied):
            if isinstance(result, str):
                tx.append(
                    Kind.FAULT_REVERTED, self.now(), None, {"fault_id": fault.fault_id, "detail": result}
                )
                continue
            # a failed revert does not stop the others; the cluster ends it at its lease, the reaper retries
            log.error("revert of %s failed: %s", fault.fault_id, result, exc_info=result)
            tx.append(Kind.FAULT_REVERT_FAILED, now, None, {"fault_id": fault.fault_id, "error": str(result)})
            self.say_loudly(
                tx,
                f":rotating_light: Revert of fault {fault.fault_id} FAILED: {result}. "
                "The cluster still ends it at its lease; the reaper retries every minute.",
            )
        ended = {"status": str(status), "reason": reason, **({"guardrail": True} if guardrail else {})}
        tx.append(Kind.ENDED, now, None, ended)
        tx.record.status = str(status)
        tx.cancel_pending_timers()
        # the posts of the end (status line, debrief, its files) are a durable timer of their own: they
        # stay off the path of the command or timer that ended it, and a crash while they render or post
        # leaves the timer for the next process instead of a game day without its debrief
        self.injects.schedule(tx, "publish", now, PUBLISH)
        for after_end in self.after_end:
            after_end(tx, scenario, now)

    def publish(self, timer: Timer) -> None:
        """Post the end: the final status line, the debrief and its files (once, even when replayed).

        The game day is over and its timeline only grows by late notes, so this reads without the lock:
        rendering and posting hold up no one (it takes the lock once, briefly, to record the panels it
        asked Prometheus for: ``capture_panels``). The timer is completed only once the debrief is out: a
        Slack that fails the post fails the timer, which is retried with its backoff until it posts.
        """
        record = self.store.get(timer.gameday_id)
        follow: list[str] = []
        if record is not None:
            self._post_end(record, self.capture_panels(record), replay=timer.attempts > 1)
            follow = self._follow_ups(record)
        with self.store.transaction(timer.gameday_id) as tx:
            tx.complete_timer(timer.id)
            for what in follow:
                self.injects.outbox.post(tx, what, what)

    def _follow_ups(self, record: GameDayRecord) -> list[str]:
        """The posts that follow the debrief (``after_publish``), asked outside every lock; one that
        fails is logged and left out: the debrief is out, and the commands still reach everything."""
        wanted: list[str] = []
        for after_publish in self.after_publish:
            try:
                what = after_publish(record)
            except Exception:
                log.exception("what follows the debrief of %s failed; it is left out", record.id)
                continue
            if what is not None:
                wanted.append(what)
        return wanted

    def capture_panels(self, record: GameDayRecord) -> list[Event]:
        """The timeline with its panels captured, once (a replayed publish finds them and asks nothing):
        asked of Prometheus outside every lock, recorded under the game day's. A failure is each panel's
        problem, or at worst a debrief without panels: it never keeps the debrief from posting."""
        events = self.store.events(record.id)
        query = self.range_query
        if query is None or captured(events):
            return events
        scenario = cached_scenario(record.scenario_text)
        if not wanted(scenario):
            return events
        try:
            found = capture(scenario, events, query, self.now())
        except Exception:
            log.exception("could not capture the panels of %s", record.id)
            return events
        with self.store.transaction(record.id) as tx:
            if not captured(tx.events):  # another process may have captured them meanwhile
                for data in found:
                    tx.append(Kind.PANEL_SAMPLED, self.now(), None, data)
        return self.store.events(record.id)

    def _post_end(self, record: GameDayRecord, events: list[Event], replay: bool) -> None:
        key = f"{record.id}:debrief"
        if replay and self.announcer.find_posted(record, key) is not None:
            return
        debrief = self.debrief_from(record, events)  # notes that came just after the end count
        for after_debrief in self.after_debrief:
            try:
                after_debrief(record, debrief)
            except Exception:
                log.exception("what follows the debrief of %s failed; it posts all the same", record.id)
        for extra in self.debrief_extras:
            debrief = extra(record, debrief)
        try:  # kept now: `sce history` and the programme report need not build this debrief again
            self.store.save_run_summaries({record.id: (len(events), kept_summary(record, debrief))})
        except Exception:
            log.exception("could not keep the summary of %s; it is computed when first asked for", record.id)
        crash_point("debrief.render")
        try:  # the status message says "over" on a best-effort basis; the debrief itself must get out
            scenario = cached_scenario(record.scenario_text)
            self.announcer.refresh_status(record, scenario, fold(events), self.now(), len(events))
        except Exception:
            log.exception("could not show the end of %s in its status message", record.id)
        self.announcer.finished(record, debrief, key)

    def debrief_from(self, record: GameDayRecord, events: list[Event], now: float | None = None) -> Debrief:
        """The debrief of a game day as of ``now`` (default: the clock)."""
        return build_debrief_for(record, events, self.now() if now is None else now)

    def say_loudly(self, tx: GameDayTx, text: str) -> None:
        """Post an alarm to the thread (once Slack takes it: the timeline and the debrief say it too)."""
        self.injects.say(tx, f"alert:{len(tx.events)}", text)

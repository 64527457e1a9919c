"""PagerDuty on failure: a real, non-drill incident when a revert fails, a guardrail trips, or the reaper
finds a fault past its lease that it cannot undo; resolved once the cluster is clean again.

Which incidents the timeline calls for is ``failure_incidents`` (pure). Here, as annotating does for
Grafana: after every change and at the end, under the game day's lock, a durable ``failure_page`` timer
is scheduled when PagerDuty has something to be told. The timer runs outside every lock: PagerDuty is
asked there (bounded by the edge's timeouts), and a short transaction records what it took
(``failure_paged`` / ``failure_resolved``, ``sent`` true) or why not (``sent`` false, a sentence, said in
the thread). A PagerDuty that cannot be reached never reaches the engine; it is tried again
``PAGE_RETRY_SECONDS`` later, ``MAX_PAGE_TRIES`` times in all. A trigger sent twice (two replicas, a
retry after a timeout) is still one incident: PagerDuty deduplicates on the key.

A failed revert is also tried again after the end (``revert_retry``, every ``REVERT_RETRY_SECONDS``,
``MAX_REVERT_RETRIES`` times; the reaper goes on after its lease): the revert that succeeds is the
"clean again" that resolves the incident. The reaper tells what it found (``reaper_found``), so a fault
it undoes is recorded as reverted and one it cannot undo as left over.

A dry run pages nothing (``sends``); without a pager (no SCE_PAGERDUTY_FAILURE_ROUTING_KEY) nothing is
scheduled, but failed reverts are still retried.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Protocol

from bot.gameday.ports import GameDayStore, GameDayTx, Timer
from bot.gameday.running.failure_incidents import (
    FailureIncident,
    fault_clean,
    still_failing,
    to_resolve,
    to_trigger,
    tries,
)
from bot.gameday.running.finishing import Finishing
from bot.gameday.running.injects import Injector
from bot.gameday.running.outbound import sends
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import fold
from bot.gameday.timeline import Kind

log = logging.getLogger(__name__)
FAILURE_PAGE = TimerKind.FAILURE_PAGE
REVERT_RETRY = TimerKind.REVERT_RETRY
PAGE_RETRY_SECONDS = 60.0
MAX_PAGE_TRIES = 5
REVERT_RETRY_SECONDS = 60.0
MAX_REVERT_RETRIES = 10
UNEXPECTED = "an unexpected error (the bot's log has it)"
CAUSES = {
    "revert_failed": "the revert of fault {fault} failed",
    "lease_expired": "fault {fault} is still in the cluster after its lease",
    "guardrail": "a guardrail stopped the game day",
}


class PagerUnreachable(Exception):
    """PagerDuty did not take an event; the message is one sentence, never a secret."""


class FailurePager(Protocol):
    """The edge that opens and resolves real incidents (``bot/integrations/failure_pager``)."""

    def trigger(self, incident: FailureIncident) -> None:
        """Open the incident (``incident.key`` is its dedup key). Raises ``PagerUnreachable``."""
        ...

    def resolve(self, incident: FailureIncident) -> None:
        """Resolve it (the same key). Raises ``PagerUnreachable``."""
        ...


class FailurePaging:
    def __init__(
        self,
        store: GameDayStore,
        clock: Callable[[], float],
        injects: Injector,
        finishing: Finishing,
        pager: FailurePager | None = None,
    ):
        self.store = store
        self.now = clock
        self.injects = injects
        self.finishing = finishing
        self.pager = pager  # set by the wiring when SCE_PAGERDUTY_FAILURE_ROUTING_KEY is
        finishing.after_change.append(self.schedule)
        finishing.after_end.append(self.at_end)

    # -- under the game day's lock ----------------------------------------------------------------
    def schedule(self, tx: GameDayTx, scenario: Scenario, retry: bool = False) -> None:
        """A timer to tell PagerDuty what it has not been told yet, once per state of the incidents
        (a failed try changes that state, so the retry is a timer of its own)."""
        if self.pager is None or not sends(tx.record):
            return
        events = tx.events
        wanted = [f"t:{i.key}" for i in to_trigger(tx.record, events, MAX_PAGE_TRIES)]
        wanted += [f"r:{i.key}" for i in to_resolve(tx.record, events, MAX_PAGE_TRIES)]
        if wanted:
            failed = sum(tries(events, Kind.FAILURE_PAGED).values()) + sum(
                tries(events, Kind.FAILURE_RESOLVED).values()
            )
            digest = hashlib.sha256("|".join([*wanted, str(failed)]).encode()).hexdigest()[:16]
            due = self.now() + (PAGE_RETRY_SECONDS if retry else 0.0)
            self.injects.schedule(tx, f"failure:{digest}", due, FAILURE_PAGE)

    def at_end(self, tx: GameDayTx, scenario: Scenario, ended_at: float) -> None:
        """The end recorded (its pending timers cancelled): page what went wrong, retry failed reverts."""
        self.schedule(tx, scenario)
        for fault_id in still_failing(tx.events):
            payload = {"fault_id": fault_id, "n": 1}
            self.injects.schedule(
                tx, f"revert-retry:{fault_id}:1", ended_at + REVERT_RETRY_SECONDS, REVERT_RETRY, payload
            )

    def retry_revert(self, timer: Timer) -> None:
        """A failed revert, tried again under the lock (as a fault's expiry is); a failure is tried again
        until ``MAX_REVERT_RETRIES``, then the reaper goes on at the fault's lease."""
        fault_id, n = str(timer.payload["fault_id"]), int(timer.payload.get("n", 1))
        with self.store.transaction(timer.gameday_id) as tx:
            fault = fold(tx.events).faults.get(fault_id)
            if fault is not None and not fault_clean(tx.events, fault_id):
                self._revert_again(tx, fault_id, fault.driver, n)
            tx.complete_timer(timer.id)
            self.finishing.settle(tx, cached_scenario(tx.record.scenario_text))

    def _revert_again(self, tx: GameDayTx, fault_id: str, driver: str, n: int) -> None:
        try:
            detail = self.injects.fault_steps.faults.named(driver).revert(tx.record.id, fault_id)
        except Exception as exc:  # never into the engine: the next try, then the reaper
            log.warning("retry %d of the revert of %s failed: %s", n, fault_id, exc)
            if n < MAX_REVERT_RETRIES:
                due, payload = self.now() + REVERT_RETRY_SECONDS, {"fault_id": fault_id, "n": n + 1}
                self.injects.schedule(tx, f"revert-retry:{fault_id}:{n + 1}", due, REVERT_RETRY, payload)
            return
        tx.append(Kind.FAULT_REVERTED, self.now(), None, {"fault_id": fault_id, "detail": detail})
        text = f":white_check_mark: Fault {fault_id} reverted at last: {detail}"
        self.injects.say(tx, f"revert-retry:{fault_id}", text)

    def reaper_found(self, gameday_id: str, fault_id: str, gone: bool, detail: str) -> None:
        """The reaper undid (``gone``) or could not undo a fault of ours past its lease: recorded once."""
        if self.store.get(gameday_id) is None:
            log.warning("the reaper found fault %s of %s, a game day unknown here", fault_id, gameday_id)
            return
        with self.store.transaction(gameday_id) as tx:
            if fault_id not in fold(tx.events).faults:
                return
            if gone and not fault_clean(tx.events, fault_id):
                detail = f"by the reaper: {detail}"
                tx.append(Kind.FAULT_REVERTED, self.now(), None, {"fault_id": fault_id, "detail": detail})
            elif not gone and not self._left_over(tx, fault_id):
                tx.append(Kind.FAULT_LEFT_OVER, self.now(), None, {"fault_id": fault_id, "error": detail})
                self.finishing.say_loudly(
                    tx,
                    f":rotating_light: Fault {fault_id} is still in the cluster after its lease, and the "
                    f"reaper could not undo it: {detail}. It tries again every minute.",
                )
                payload = {"fault_id": fault_id, "n": 1}
                due = self.now() + REVERT_RETRY_SECONDS
                self.injects.schedule(
                    tx, f"revert-retry:{fault_id}:left:{len(tx.events)}", due, REVERT_RETRY, payload
                )
            self.finishing.settle(tx, cached_scenario(tx.record.scenario_text))

    @staticmethod
    def _left_over(tx: GameDayTx, fault_id: str) -> bool:
        """Whether its latest trouble is already a left-over one (the reaper says so every minute)."""
        kinds = [
            e.kind
            for e in tx.events
            if e.data.get("fault_id") == fault_id
            and e.kind in (Kind.FAULT_REVERTED, Kind.FAULT_REVERT_FAILED, Kind.FAULT_LEFT_OVER)
        ]
        return bool(kinds) and kinds[-1] is Kind.FAULT_LEFT_OVER

    # -- the timer: outside every lock ------------------------------------------------------------
    def send(self, timer: Timer) -> None:
        """Tell PagerDuty (no lock held), then record what it took; nothing is raised."""
        record = self.store.get(timer.gameday_id)
        pager = self.pager
        told: list[tuple[str, FailureIncident, str | None]] = []
        if record is not None and pager is not None and sends(record):
            events = self.store.events(record.id)
            for incident in to_trigger(record, events, MAX_PAGE_TRIES):
                told.append(("trigger", incident, _ask(pager.trigger, incident)))
            for incident in to_resolve(record, events, MAX_PAGE_TRIES):
                told.append(("resolve", incident, _ask(pager.resolve, incident)))
        with self.store.transaction(timer.gameday_id) as tx:
            failed = False
            for action, incident, error in told:
                failed = failed or error is not None
                self._record(tx, action, incident, error)
            tx.complete_timer(timer.id)
            # what follows now (a resolve once a trigger is taken), or the retry of what failed
            self.schedule(tx, cached_scenario(tx.record.scenario_text), retry=failed)

    def _record(self, tx: GameDayTx, action: str, incident: FailureIncident, error: str | None) -> None:
        kind = Kind.FAILURE_PAGED if action == "trigger" else Kind.FAILURE_RESOLVED
        taken = {str(e.data.get("key")) for e in tx.events if e.kind is kind and e.data.get("sent") is True}
        if incident.key in taken:  # another look told PagerDuty meanwhile
            return
        data: dict[str, object] = {"key": incident.key, "sent": error is None}
        if action == "trigger":
            data |= {"cause": incident.cause, "fault_id": incident.fault_id}
        if error is not None:
            data["error"] = error
        tx.append(kind, self.now(), None, data)
        what = CAUSES.get(incident.cause, incident.cause).format(fault=incident.fault_id)
        n = sum(1 for e in tx.events if e.kind is kind and e.data.get("key") == incident.key)
        if action == "trigger" and error is None:
            text = f":rotating_light: PagerDuty paged, NOT a drill: {what}."
        elif action == "trigger":
            text = f":warning: PagerDuty could not be paged that {what}: {error}. Page the on-call by hand."
        elif error is None:
            text = (
                f":white_check_mark: The cluster is clean again: the PagerDuty incident ({what}) is resolved."
            )
        else:
            text = f":warning: PagerDuty's incident ({what}) could not be resolved: {error}."
        self.injects.say(tx, f"failure:{action}:{incident.key}:{n}", text)


def _ask(call: Callable[[FailureIncident], None], incident: FailureIncident) -> str | None:
    """None when PagerDuty took it; else the sentence why not (logged)."""
    try:
        call(incident)
    except PagerUnreachable as exc:
        log.warning("PagerDuty not told of %s: %s", incident.key, exc)
        return str(exc)
    except Exception:
        log.exception("PagerDuty not told of %s", incident.key)
        return UNEXPECTED
    return None

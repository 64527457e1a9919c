"""Wakes the durable-timer poller. APScheduler only keeps the next wake-up in memory; the timers
themselves are rows, so a crash never loses or doubles a step, and replicas never share a job store.

The poller only claims what is due and hands it to lanes (bot.gameday.running.lanes): a game day's timers run
in due order, different game days' side by side, and the posts of a game day's end (debrief, files)
have lanes of their own, so no step waits behind a debrief being rendered and uploaded.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from bot.gameday.clock import Clock
from bot.gameday.ports import GameDayStore, Timer
from bot.gameday.running.annotating import ANNOTATE
from bot.gameday.running.engine import Engine
from bot.gameday.running.failure_paging import FAILURE_PAGE
from bot.gameday.running.injects import PUBLISH
from bot.gameday.running.lanes import Lanes
from bot.gameday.running.poller import fire_timers
from bot.gameday.running.retries import RETRY_AFTER_SECONDS
from bot.runtime.observability import count_timer_failure, observe_timer_lateness

log = logging.getLogger(__name__)
STALE_CHECK_EVERY = 10.0  # seconds between looks for timers a dead replica left half-fired
CLAIM_BATCH = 50
PUBLISH_GIVES_WAY_SECONDS = 5.0  # at most, per game day's end
STEPS_QUIET_SECONDS = 0.1  # no step claimed for this long: the wave of steps is over
PUBLISH_WORKERS = 4  # game days whose end is posted at once
ANNOTATION_WORKERS = 2  # Grafana annotations: a slow Grafana holds these, never a game day's steps
RENEW_EVERY = 3.0  # seconds: well inside the store's stale-claim age (10 s)
WAIT_SECONDS = 60.0  # poll(wait=True): the longest it waits for what it claimed to run


class DuePoller(Protocol):
    """Something else that comes due on the same clock (scheduled game days)."""

    def run_due(self, now: float) -> int: ...

    def next_due_at(self) -> float | None: ...

    def recover(self) -> None:
        """At start-up: take back what a dead process had claimed but not finished."""
        ...


class TimerService:
    def __init__(
        self,
        store: GameDayStore,
        engine: Engine,
        clock: Clock,
        safety_interval: float = 2.0,
        workers: int = 2,
        shared: bool = False,
        retry_after: float = RETRY_AFTER_SECONDS,
        claim_ahead: float = 0.0,
    ):
        """``shared``: replicas share the database, so this one looks for claims a dead one left and
        renews its own (a claim waiting in a lane is still live). ``retry_after``: a failed timer's first
        wait before its next try (SCE_TIMER_RETRY). ``claim_ahead``: seconds before its due time a timer
        is claimed and handed to its lane, which waits for the moment itself: the claim's round trip
        and the hand-over are then done by the time the step is due (0 on a clock that jumps)."""
        self.claim_ahead = claim_ahead
        self.retry_after = retry_after
        engine.outcomes.first_retry = retry_after  # every failed timer's, in a lane or sent at once
        self.others: list[DuePoller] = []
        self.store = store
        self.engine = engine
        self.clock = clock
        self.safety_interval = safety_interval
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self._poll_lock = threading.Lock()
        self._wake_lock = threading.Lock()
        self._next_wake: float | None = None
        self._next_stale_check = time.monotonic() + STALE_CHECK_EVERY
        self._others_due: float | None = None
        self._poll_again = False
        self._others_asked = False
        self._others_wanted = False  # a poll found the others due: they run once it has let go
        self._others_lock = threading.Lock()
        self.shared = shared
        self._held: set[int] = set()  # claimed by this process, not yet run
        self._held_lock = threading.Lock()
        # every failed attempt counted, in a lane or in the thread that sent a post at once
        engine.outcomes.on_failed.append(lambda t: count_timer_failure(t.kind))
        self.lanes: Lanes[Timer] = Lanes(self._fire, workers, "timers")
        # several: one game day whose debrief upload hangs on Slack never holds up another's
        self.publish_lanes: Lanes[Timer] = Lanes(self._publish, PUBLISH_WORKERS, "publish")
        self.annotation_lanes: Lanes[Timer] = Lanes(self._fire, ANNOTATION_WORKERS, "annotations")

    def start(self) -> None:
        """Put timers a dead process left half-fired back in line, then start waking up for them."""
        stale = self.store.reset_stale_timers()
        if stale:
            log.info("re-queued %d timer(s) left firing by an earlier process", stale)
        for other in self.others:
            other.recover()
        self.scheduler.start()
        self.scheduler.add_job(
            self._safety,
            "interval",
            seconds=self.safety_interval,
            id="safety",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),  # once at once, then every interval: no one-shot job to remove
        )
        if self.shared:
            self.scheduler.add_job(
                self._renew, "interval", seconds=RENEW_EVERY, id="renew", max_instances=1, coalesce=True
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop waking up; let the timers already claimed finish (a crash would leave them to the next
        process, which takes them back)."""
        if self.scheduler.running:
            # APScheduler's shutdown() marks it stopped before it takes its job stores' lock, and a pass in
            # flight then fails to remove the one-shot wake-up it just ran. Paused, no pass starts; the
            # removal waits for the lock that a pass in flight holds to its end.
            self.scheduler.pause()
            self.scheduler.remove_all_jobs()
            self.scheduler.shutdown(wait=False)
        self.lanes.close(timeout)
        self.publish_lanes.close(timeout)
        self.annotation_lanes.close(timeout)

    def _fire(self, lanes: dict[str, list[Timer]]) -> None:
        (timers,) = lanes.values()  # one game day at a time (max_keys=1)
        try:
            for timer in timers:
                self._until_due(timer)
                fire_timers(
                    self.store,
                    self.engine,
                    [timer],
                    self.clock.now,
                    on_fire=lambda t, at: observe_timer_lateness(at - t.due_at),
                )
        finally:
            with self._held_lock:
                self._held.difference_update(t.id for t in timers)

    def _until_due(self, timer: Timer) -> None:
        """A timer claimed ahead runs at its moment, never before it."""
        if self.claim_ahead > 0:
            early = self.clock.to_real(timer.due_at) - time.time()
            if early > 0:
                time.sleep(min(early, self.claim_ahead))

    def _publish(self, lanes: dict[str, list[Timer]]) -> None:
        """The end's posts give way to steps: they wait (up to 5 s) for the steps' wave to be over, not
        only for a gap in it, so game days ending together do not make the others' last steps late."""
        self.lanes.quiet(STEPS_QUIET_SECONDS, PUBLISH_GIVES_WAY_SECONDS)
        self._fire(lanes)

    def _renew(self) -> None:
        with self._held_lock:
            held = sorted(self._held)
        try:
            self.store.renew_claims(held)
        except Exception:
            log.warning("could not renew %d timer claims", len(held), exc_info=True)

    def _wake(self, others: bool = False) -> None:
        """A wake-up that finds a poll under way leaves it to that poll to go round once more, instead
        of queueing behind it (under load, wake-ups come faster than polls finish). The others (scheduled
        starts, the reaper, the halt) run after the poll has let go of its lock: a slow pass of theirs
        never holds up the claim of a step due meanwhile."""
        self._others_asked |= others
        self._poll_again = True
        while self._poll_again:
            if not self._poll_lock.acquire(blocking=False):
                break  # the poll under way sees _poll_again when it ends
            try:
                self._poll_again = False
                asked, self._others_asked = self._others_asked, False
                self._poll_locked(asked, others_inline=False)
            finally:
                self._poll_lock.release()
        self._others_pass()

    def _others_pass(self) -> None:
        """The others' turn, when a poll found them asked for or due; one pass at a time, and a pass
        under way goes round again for a request that came meanwhile."""
        while self._others_wanted:
            if not self._others_lock.acquire(blocking=False):
                return
            try:
                self._others_wanted = False
                self._run_others()
            except Exception:  # the database may be down; the safety interval tries again
                log.exception("timer poll failed")
            finally:
                self._others_lock.release()
            if self._others_due is not None:
                self._wake_real(self.clock.to_real(self._others_due))

    def _safety(self) -> None:
        self._wake(others=True)

    def wake_at(self, at: float) -> None:
        """Called whenever a timer is scheduled: make sure the poller runs when it comes due (less the
        claim's lead)."""
        self._wake_real(self.clock.to_real(at - self.claim_ahead))

    def _wake_real(self, real: float) -> None:
        with self._wake_lock:
            if self._next_wake is not None and self._next_wake <= real:
                return
            self._next_wake = real
        if self.scheduler.running:
            self.scheduler.add_job(
                self._wake,
                "date",
                run_date=datetime.fromtimestamp(real, UTC),
                id="wake",
                replace_existing=True,
                misfire_grace_time=None,
                max_instances=5,
            )

    def poll(self, wait: bool = True, others: bool = True) -> int:
        """Claim every due timer and hand it to its lane; returns how many. ``wait``: until they ran.

        ``others`` (scheduled starts, the reaper) are looked at when asked (the safety interval) or when
        their own next due time, remembered from the last look, has come: a wake-up for a step costs no
        query of theirs.
        """
        with self._poll_lock:
            claimed = self._poll_locked(others)
        if wait:
            self.lanes.drain(WAIT_SECONDS)
            self.publish_lanes.drain(WAIT_SECONDS)
            self.annotation_lanes.drain(WAIT_SECONDS)
        return claimed

    def _poll_locked(self, others: bool, others_inline: bool = True) -> int:
        # forgotten before looking, not after: a timer committed while this poll runs still gets its
        # wake-up, and the poll's own one for the next due time replaces it only if earlier
        with self._wake_lock:
            self._next_wake = None
        claimed, wanted = 0, False
        try:
            if self.shared and time.monotonic() >= self._next_stale_check:  # a replica may have died
                self._next_stale_check = time.monotonic() + STALE_CHECK_EVERY
                self.store.reset_stale_timers()
            claimed += self._claim_due()
            due = self._others_due
            if others or (due is not None and due <= self.clock.now()):
                if others_inline:
                    with self._others_lock:
                        claimed += self._run_others()
                else:
                    self._others_wanted = wanted = True
            timers_due = self.store.next_due_at()  # claimed claim_ahead early; the others at their time
            # others about to run: their pass wakes the poller for their next due time itself (the one
            # known now is the one that made them due, and a wake-up for it would only poll again)
            others_due = None if wanted else self._others_due
            dues = [None if timers_due is None else timers_due - self.claim_ahead, others_due]
            following = min((d for d in dues if d is not None), default=None)
        except Exception:  # the database may be down; the safety interval tries again
            log.exception("timer poll failed")
            return claimed
        if following is not None:
            self._wake_real(self.clock.to_real(following))
        return claimed

    def _claim_due(self) -> int:
        claimed = 0
        while True:
            timers = self.store.claim_due_timers(self.clock.now() + self.claim_ahead, CLAIM_BATCH)
            with self._held_lock:
                self._held.update(t.id for t in timers)
            for timer in timers:
                lanes = self.publish_lanes if timer.kind == PUBLISH else self.lanes
                # Grafana and PagerDuty (outside services, slow at worst) never hold up a game day's steps
                lanes = self.annotation_lanes if timer.kind in (ANNOTATE, FAILURE_PAGE) else lanes
                lanes.put(timer.gameday_id, timer)
            claimed += len(timers)
            if len(timers) < CLAIM_BATCH:
                return claimed

    def _run_others(self) -> int:
        done = 0
        while batch := sum(other.run_due(self.clock.now()) for other in self.others):
            done += batch
        dues = [other.next_due_at() for other in self.others]
        self._others_due = min((d for d in dues if d is not None), default=None)
        return done

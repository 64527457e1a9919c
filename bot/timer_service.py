"""Wakes the durable-timer poller. APScheduler only keeps the next wake-up in memory; the timers
themselves are rows, so a crash never loses or doubles a step, and replicas never share a job store."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from bot.gameday.clock import Clock
from bot.gameday.engine import Engine
from bot.gameday.poller import fire_due_timers
from bot.gameday.ports import GameDayStore
from bot.observability import observe_timer_lateness

log = logging.getLogger(__name__)
STALE_CHECK_EVERY = 10.0  # seconds between looks for timers a dead replica left half-fired


class DuePoller(Protocol):
    """Something else that comes due on the same clock (scheduled game days)."""

    def run_due(self, now: float) -> int: ...

    def next_due_at(self) -> float | None: ...

    def recover(self) -> None:
        """At start-up: take back what a dead process had claimed but not finished."""
        ...


class TimerService:
    def __init__(self, store: GameDayStore, engine: Engine, clock: Clock, safety_interval: float = 2.0):
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

    def start(self) -> None:
        """Put timers a dead process left half-fired back in line, then start waking up for them."""
        stale = self.store.reset_stale_timers()
        if stale:
            log.info("re-queued %d timer(s) left firing by an earlier process", stale)
        for other in self.others:
            other.recover()
        self.scheduler.start()
        self.scheduler.add_job(
            self.poll, "interval", seconds=self.safety_interval, id="safety", max_instances=1, coalesce=True
        )
        self.scheduler.add_job(self.poll, id="first", misfire_grace_time=None)

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def wake_at(self, at: float) -> None:
        """Called whenever a timer is scheduled: make sure the poller runs when it comes due."""
        real = self.clock.to_real(at)
        with self._wake_lock:
            if self._next_wake is not None and self._next_wake <= real:
                return
            self._next_wake = real
        if self.scheduler.running:
            self.scheduler.add_job(
                self.poll,
                "date",
                run_date=datetime.fromtimestamp(real, UTC),
                id="wake",
                replace_existing=True,
                misfire_grace_time=None,
                max_instances=5,
            )

    def poll(self) -> int:
        with self._poll_lock:
            fired = 0
            try:
                if time.monotonic() >= self._next_stale_check:  # a replica may have died mid-timer
                    self._next_stale_check = time.monotonic() + STALE_CHECK_EVERY
                    self.store.reset_stale_timers()
                while True:
                    now = self.clock.now()
                    batch = fire_due_timers(
                        self.store,
                        self.engine,
                        now,
                        on_fire=lambda t, at: observe_timer_lateness(at - t.due_at),
                    )
                    batch += sum(other.run_due(now) for other in self.others)
                    fired += batch
                    if batch == 0:
                        break
                dues = [self.store.next_due_at(), *(other.next_due_at() for other in self.others)]
                following = min((d for d in dues if d is not None), default=None)
            except Exception:  # the database may be down; the safety interval tries again
                log.exception("timer poll failed")
                return fired
            with self._wake_lock:
                self._next_wake = None
            if following is not None:
                self.wake_at(following)
            return fired

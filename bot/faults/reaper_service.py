"""The reaper on the timer service's clock: at start-up, then every minute, revert what has expired.

It finds objects by their labels in the cluster, not by the database, so orphans of a crashed bot (or of
a lost database) are cleaned up too. What it cannot revert now it tries again on the next pass.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from bot.faults.registry import FaultDrivers
from bot.runtime.observability import count_failed_revert

log = logging.getLogger(__name__)
REAP_EVERY_SECONDS = 60.0


class FaultReaper:
    def __init__(
        self, drivers: FaultDrivers, namespaces: Iterable[str], wall_clock: Callable[[], float] = time.time
    ):
        self.drivers = drivers
        self.namespaces = sorted(namespaces)
        self.wall_clock = wall_clock  # leases are real time, whatever the game-day clock does
        self._next = 0.0
        self.last_sentences: list[str] = []
        # told of each expired fault found (game day, fault, undone, sentence): its game day's timeline
        # records it, and one that cannot be undone pages a real incident (failure_paging.reaper_found)
        self.on_fault: Callable[[str, str, bool, str], None] | None = None

    def recover(self) -> None:
        self.reap()

    def next_due_at(self) -> float | None:
        return None  # the timer service's safety interval is frequent enough for a once-a-minute pass

    def run_due(self, now: float) -> int:
        if self.drivers.cluster is None or self.wall_clock() < self._next:
            return 0
        self.reap()
        return 0  # reaping never makes more timers due: do not make the poller loop again

    def reap(self) -> None:
        self._next = self.wall_clock() + REAP_EVERY_SECONDS
        if self.drivers.cluster is None or not self.namespaces:
            return
        try:
            report = self.drivers.revert_expired(self.namespaces, self.wall_clock())
        except Exception:
            log.exception("reaper pass failed; retrying in %.0fs", REAP_EVERY_SECONDS)
            return
        self.last_sentences = report.sentences
        for line in report.reverted:
            log.info("reaper: %s", line)
        for line in report.failed:
            log.error("reaper could not revert: %s", line)
            count_failed_revert()
        for (gameday_id, fault_id), (undone, sentence) in report.by_fault().items():
            if self.on_fault is None:
                break
            try:  # one game day that cannot be told (its database away) does not keep the others untold
                self.on_fault(gameday_id, fault_id, undone, sentence)
            except Exception:
                log.exception("could not tell game day %s what the reaper found", gameday_id)

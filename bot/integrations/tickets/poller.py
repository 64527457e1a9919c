"""`sce serve` syncs findings with their tickets every ``SYNC_EVERY_SECONDS`` (as `sce findings sync`).

It rides the timer service's ``others`` like the fault reaper, but the tracker is asked on a thread of its
own: the timer service's poll never waits on GitHub or Jira, and a pass still running when the next is due
is not doubled. A failure is logged (one sentence a ticket), never raised into the timer service.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.integrations.tickets.base import TicketTracker
from bot.integrations.tickets.desk import sync_tickets
from storage.finding_store import FindingStore

log = logging.getLogger(__name__)
SYNC_EVERY_SECONDS = 600.0


class TicketPoller:
    def __init__(
        self, store: FindingStore, tracker: TicketTracker, wall_clock: Callable[[], float] = time.time
    ):
        self.store = store
        self.tracker = tracker
        self.wall_clock = wall_clock  # tickets close in real time, whatever the game-day clock does
        self._next = 0.0
        self._running: threading.Thread | None = None

    def recover(self) -> None:
        pass  # nothing is claimed: a pass that died is simply the next one

    def next_due_at(self) -> float | None:
        return None  # the timer service's safety interval is frequent enough for a ten-minute pass

    def run_due(self, now: float) -> int:
        if self.wall_clock() < self._next or (self._running is not None and self._running.is_alive()):
            return 0
        self._next = self.wall_clock() + SYNC_EVERY_SECONDS
        self._running = threading.Thread(target=self.sync_once, name="ticket-sync", daemon=True)
        self._running.start()
        return 0  # syncing makes no timer due

    def sync_once(self) -> None:
        try:
            result = sync_tickets(self.store, self.tracker, self.wall_clock)
        except Exception:  # a store that fails: logged, tried again next pass
            log.exception("ticket sync failed")
            return
        for sentence in result.failures:
            log.warning("ticket sync: %s", sentence)
        if result.fixed:
            log.info("ticket sync: %s fixed by their tickets", ", ".join(result.fixed))

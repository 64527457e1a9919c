"""The committed timelines the store has read lately, so a transaction reads only what is new.

A timeline is append-only: an event, once committed, never changes and its seq is never reused. So
a prefix read once stays true whatever other threads or replicas commit later, and a transaction only
asks the database for the events after it. Only committed timelines are put here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from bot.gameday.timeline import Event

TIMELINES_REMEMBERED = 500  # game days; the least recently used is forgotten first


class TimelineCache:
    def __init__(self, capacity: int = TIMELINES_REMEMBERED):
        self.capacity = capacity
        self._timelines: OrderedDict[str, tuple[Event, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, gameday_id: str) -> tuple[Event, ...]:
        """The longest committed prefix known (possibly empty)."""
        with self._lock:
            known = self._timelines.get(gameday_id, ())
            if known:
                self._timelines.move_to_end(gameday_id)
            return known

    def put(self, gameday_id: str, events: tuple[Event, ...]) -> None:
        """Remember a committed timeline; a shorter one than already known changes nothing."""
        with self._lock:
            if len(events) < len(self._timelines.get(gameday_id, ())):
                return
            self._timelines[gameday_id] = events
            self._timelines.move_to_end(gameday_id)
            while len(self._timelines) > self.capacity:
                self._timelines.popitem(last=False)

"""The committed timelines the store has read lately, so a transaction reads only what is new.

A timeline is append-only: an event, once committed, never changes and its seq is never reused. So
a prefix read once stays true whatever other threads or replicas commit later, and a transaction only
asks the database for the events after it. Only committed timelines are put here, with the game
day's row as that commit left it, so the outbox's sender (bot/gameday/running/outbox) reads the game day it
posts for without asking the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace

from bot.gameday.ports import GameDayRecord
from bot.gameday.timeline import Event

TIMELINES_REMEMBERED = 500  # game days; the least recently used is forgotten first


class TimelineCache:
    def __init__(self, capacity: int = TIMELINES_REMEMBERED):
        self.capacity = capacity
        self._timelines: OrderedDict[str, tuple[Event, ...]] = OrderedDict()
        self._records: dict[str, GameDayRecord] = {}  # the row as the commit of that timeline left it
        self._lock = threading.Lock()

    def get(self, gameday_id: str) -> tuple[Event, ...]:
        """The longest committed prefix known (possibly empty)."""
        with self._lock:
            known = self._timelines.get(gameday_id, ())
            if known:
                self._timelines.move_to_end(gameday_id)
            return known

    def put(self, gameday_id: str, events: tuple[Event, ...], record: GameDayRecord | None = None) -> None:
        """Remember a committed timeline (and the row its commit left); a shorter one than already
        known changes nothing."""
        with self._lock:
            if len(events) < len(self._timelines.get(gameday_id, ())):
                return
            self._timelines[gameday_id] = events
            self._timelines.move_to_end(gameday_id)
            if record is not None:
                self._records[gameday_id] = replace(record)
            while len(self._timelines) > self.capacity:
                forgotten, _ = self._timelines.popitem(last=False)
                self._records.pop(forgotten, None)

    def peek(self, gameday_id: str) -> tuple[GameDayRecord, list[Event]] | None:
        """The row and timeline of the last commit remembered (None if none): maybe behind the database."""
        with self._lock:
            record = self._records.get(gameday_id)
            events = self._timelines.get(gameday_id)
            if record is None or events is None:
                return None
            return replace(record, roster=dict(record.roster)), list(events)

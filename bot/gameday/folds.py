"""``fold`` remembered per game day: a state is carried on from the last one folded, not replayed.

A game day's state is its timeline folded (``bot.gameday.state``). Folding it all again for every batch
of replies makes each reply cost as much as the timeline is long: a game day with thousands of notes
would fold thousands of events for each new one. ``Folds`` keeps, per game day, the last state it
handed out with the event it was folded up to, and carries a copy of it on through what follows.

A timeline only grows, and its events never change once committed; a remembered state is used only
when the event it ended at is, object for object, at the same place in the timeline asked about. An
event a rolled-back transaction wrote is never in a later timeline, so a state that folded it is never
used again; a timeline read anew from the database is folded anew.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from bot.gameday.state import GameDayState, advance, fold
from bot.gameday.timeline import Event

REMEMBERED = 500  # game days; the least recently asked about is forgotten first


class Folds:
    def __init__(self, capacity: int = REMEMBERED):
        self.capacity = capacity
        self._states: OrderedDict[str, tuple[Event, int, GameDayState]] = OrderedDict()
        self._lock = threading.Lock()
        self.carried = 0  # states carried on from a remembered one (the rest were folded whole)

    def state(self, gameday_id: str, events: Sequence[Event]) -> GameDayState:
        """``fold(events)``, a state of the caller's own to change as it likes."""
        with self._lock:
            kept = self._states.get(gameday_id)
        if kept is not None and _still_under(kept[0], kept[1], events):
            last, count, remembered = kept
            state = advance(remembered.copy(), events[count:])
            self.carried += 1
        else:
            state = fold(events)
        if events:
            self._remember(gameday_id, events[-1], len(events), state.copy())
        return state

    def _remember(self, gameday_id: str, last: Event, count: int, state: GameDayState) -> None:
        with self._lock:  # the latest asked about wins: a longer one may be of a transaction rolled back
            self._states[gameday_id] = (last, count, state)
            self._states.move_to_end(gameday_id)
            while len(self._states) > self.capacity:
                self._states.popitem(last=False)


def _still_under(last: Event, count: int, events: Sequence[Event]) -> bool:
    """Whether ``events`` begins with the ``count`` events a state was folded from."""
    return 0 < count <= len(events) and events[count - 1] is last


FOLDS = Folds()  # the process's: every transaction of a game day carries on from the last


def folded(gameday_id: str, events: Sequence[Event]) -> GameDayState:
    """``fold(events)`` of this game day, carried on from the last state folded for it when it can be."""
    return FOLDS.state(gameday_id, events)

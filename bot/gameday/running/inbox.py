"""Slack input that is already acknowledged, written in order: one transaction per game day per batch.

Slack wants its 200 within 3 seconds and never waits for our answer to a thread reply or a reaction,
so those go into the inbox and the listener returns. A writer takes the waiting inputs of many game
days at once and applies them in one transaction (``apply``, each game day's in order under its own
lock): under a burst the locks, the timeline reads and the commit are paid once per batch instead of
once per reply. Each input keeps its Slack ``at`` and its delivery id, so batching changes no metric
and a retried delivery still changes nothing. A batch that fails is retried game day by game day, then
input by input, so one bad input costs no other.

A game day is with at most one writer at a time (its lane), so its inputs are applied in the order
they came.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.gameday.ports import GameDayTx, StoreUnavailable
from bot.gameday.running.lanes import Lanes
from bot.gameday.running.outcome import Outcome
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState

log = logging.getLogger(__name__)
Action = Callable[[GameDayTx, Scenario, GameDayState], Outcome]


@dataclass(frozen=True)
class Input:
    """One piece of responder input: what to do, the delivery that brought it, what to say when over."""

    delivery_id: str | None
    action: Action
    when_over: str = "This game day is over."


Apply = Callable[[Mapping[str, Sequence[Input]]], Mapping[str, Sequence[Outcome]]]
GAMEDAYS_PER_BATCH = 50


class Inbox:
    """Responder input per game day, applied in order in batches by ``writers`` threads."""

    def __init__(self, apply: Apply, writers: int = 1):
        self._apply = apply
        self.lanes: Lanes[Input] = Lanes(self._apply_all, writers, "inbox", GAMEDAYS_PER_BATCH)

    def put(self, gameday_id: str, item: Input) -> None:
        self.lanes.put(gameday_id, item)

    def depth(self) -> int:
        """Inputs waiting to be written."""
        return self.lanes.depth()

    def drain(self, timeout: float) -> bool:
        """Wait until everything put so far is written; False when ``timeout`` seconds were not enough."""
        return self.lanes.drain(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Write what is waiting, then stop the writers."""
        return self.lanes.close(timeout)

    def _apply_all(self, batches: dict[str, list[Input]]) -> None:
        try:
            if self._applied(batches):
                return
            for gameday_id, items in batches.items():  # one bad input must not cost the others
                if len(batches) > 1 and self._applied({gameday_id: items}):
                    continue
                if len(items) > 1:
                    for item in items:
                        self._applied({gameday_id: [item]})
        except StoreUnavailable:  # the engine already waited for it: splitting would wait again per part
            count = sum(len(items) for items in batches.values())
            log.error("the database stayed away: %d input(s) of %s not written", count, ", ".join(batches))

    def _applied(self, batch: dict[str, list[Input]]) -> bool:
        try:
            self._apply(batch)
            return True
        except StoreUnavailable:
            raise
        except Exception:
            count = sum(len(items) for items in batch.values())
            log.exception("%d input(s) of %s failed", count, ", ".join(batch))
            return False

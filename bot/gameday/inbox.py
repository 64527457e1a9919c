"""Slack input that is already acknowledged, written in order: one transaction per game day per batch.

Slack wants its 200 within 3 seconds and never waits for our answer to a thread reply or a reaction,
so those go into the inbox and the listener returns. Writers take a game day's waiting inputs all at
once and apply them in one locked transaction (``apply``): under a burst the lock, the timeline read
and the commit are paid once per batch instead of once per reply. Each input keeps its Slack ``at``
and its delivery id, so batching changes no metric and a retried delivery still changes nothing.

A game day is with at most one writer at a time (its lane), so its inputs are applied in the order
they came.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.gameday.lanes import Lanes
from bot.gameday.outcome import Outcome
from bot.gameday.ports import GameDayTx
from bot.gameday.scenario import Scenario
from bot.gameday.state import GameDayState

log = logging.getLogger(__name__)
Action = Callable[[GameDayTx, Scenario, GameDayState], Outcome]


@dataclass(frozen=True)
class Input:
    """One piece of responder input: what to do, the delivery that brought it, what to say when over."""

    delivery_id: str | None
    action: Action
    when_over: str = "This game day is over."


Apply = Callable[[str, Sequence[Input]], Sequence[Outcome]]


class Inbox:
    """Responder input per game day, applied in order in batches by ``writers`` threads."""

    def __init__(self, apply: Apply, writers: int = 1):
        self._apply = apply
        self.lanes: Lanes[Input] = Lanes(self._apply_all, writers, "inbox")

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

    def _apply_all(self, gameday_id: str, items: list[Input]) -> None:
        try:
            self._apply(gameday_id, items)
            return
        except Exception:
            if len(items) == 1:
                log.exception("input %s of %s failed", items[0].delivery_id, gameday_id)
                return
            log.exception("a batch of %d inputs of %s failed; trying each alone", len(items), gameday_id)
        for item in items:  # one bad input must not cost the others
            try:
                self._apply(gameday_id, [item])
            except Exception:
                log.exception("input %s of %s failed", item.delivery_id, gameday_id)

"""Scheduling a game day's durable timers, and waking the timer service once they are committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.gameday.ports import GameDayTx
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.scenario.model import Scenario


class Scheduler:
    """``on_timer_scheduled(due)`` is told, after the commit, of each timer scheduled."""

    def __init__(self, on_timer_scheduled: Callable[[float], None]):
        self.on_timer_scheduled = on_timer_scheduled

    def schedule(
        self, tx: GameDayTx, key: str, due_at: float, kind: TimerKind, payload: dict[str, Any] | None = None
    ) -> None:
        """A timer of this game day, unique by ``key``, due at ``due_at``."""
        tx.schedule(f"{tx.record.id}:{key}", due_at, kind, payload or {})
        tx.after_commit(lambda: self.on_timer_scheduled(due_at))  # woken before, it would find nothing

    def inject_checks(self, tx: GameDayTx, scenario: Scenario, t0: float) -> None:
        """At the first inject (page or fault): the checks of detect_within and contain_within."""
        for name, target in (
            ("detect", scenario.expect.detect_within),
            ("contain", scenario.expect.contain_within),
        ):
            if target is not None:
                self.schedule(tx, f"check:{name}", t0 + target + 0.001, TimerKind.CHECK)

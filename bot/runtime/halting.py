"""The halt lever at work: pulling it records the halt (bot/gameday/halt.py, storage/halt_store.py) and
aborts every running game day at once, reverting their faults; while it holds, every replica's timer
service looks at each poll (``run_due``, the safety interval of about two seconds) and aborts any game
day still running, so one that slipped past a start check on another replica is stopped within a poll.
Lifting it lets starts through again. Every pull and lift is an audit entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.gameday.halt import Halt, bounded_reason
from bot.gameday.ports import GameDayStore
from bot.gameday.running.engine import Engine
from storage.halt_store import HaltStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pulled:
    halt: Halt
    new: bool  # False: a halt was already in force (this pull changed nothing but aborting stragglers)
    aborted: tuple[str, ...]


class HaltLever:
    def __init__(self, halts: HaltStore, store: GameDayStore, engine: Engine, clock: Callable[[], float]):
        self.halts = halts
        self.store = store
        self.engine = engine
        self.now = clock

    def current(self) -> Halt | None:
        return self.halts.current()

    def pull(self, by: str, reason: str, source: str) -> Pulled:
        halt, new = self.halts.pull(by[:64], bounded_reason(reason), source, self.now())
        if new:
            log.warning("HALT pulled by %s (%s): %s", halt.halted_by, source, halt.reason)
        return Pulled(halt, new, self.stop_all(halt))

    def lift(self, by: str) -> Halt | None:
        lifted = self.halts.lift(by, self.now())
        if lifted is not None:
            log.warning("halt %d lifted by %s", lifted.id, by)
        return lifted

    def stop_all(self, halt: Halt) -> tuple[str, ...]:
        """Abort every game day still running (each once: the halt's delivery id makes a repeat a no-op)."""
        stopped = []
        for record in self.store.active():
            try:
                outcome = self.engine.stop_on_condition(
                    record.id, halt.plain(), f"halt:{halt.id}:{record.id}", guardrail=False
                )
            except Exception:  # one that fails is tried again at the next poll; the others go on
                log.exception("the halt could not stop %s yet", record.id)
                continue
            if outcome.ok and not outcome.repeat:
                stopped.append(record.id)
        return tuple(stopped)

    # -- the timer service's other pollers --------------------------------------------------------
    def recover(self) -> None:
        pass

    def next_due_at(self) -> float | None:
        return None  # looked at every safety interval

    def run_due(self, now: float) -> int:
        halt = self.halts.current()
        if halt is not None and self.store.active():
            self.stop_all(halt)
        return 0

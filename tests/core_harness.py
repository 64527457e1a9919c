"""A game day on the in-memory store and a virtual clock: the core without any edge."""

from __future__ import annotations

from pathlib import Path

from recording_announcer import RecordingAnnouncer

from bot.faults.simulated import SimulatedDriver
from bot.gameday.clock import VirtualClock
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.memory_store import MemoryStore
from bot.gameday.ports import FaultDriver, FaultRouter, GameDayStore
from bot.gameday.running.engine import Engine
from bot.gameday.running.poller import fire_due_timers
from bot.integrations.http_caller import RequestsCaller

ROOT = Path(__file__).resolve().parents[1]


class CoreHarness:
    def __init__(
        self,
        store: GameDayStore | None = None,
        allowed_namespaces: frozenset[str] = frozenset(),
        http: RequestsCaller | None = None,
        faults: FaultDriver | FaultRouter | None = None,
        start: float | None = None,
    ) -> None:
        self.clock = VirtualClock() if start is None else VirtualClock(start)
        self.store: GameDayStore = store or MemoryStore()
        self.announcer = RecordingAnnouncer(self.clock.now)
        self.faults = SimulatedDriver()  # the engine's drivers unless ``faults`` are given
        self.engine = Engine(
            self.store,
            self.announcer,
            self.clock.now,
            faults or self.faults,
            allowed_namespaces,
            http=http or RequestsCaller(),
        )
        self._delivery = 0

    def delivery(self) -> str:
        self._delivery += 1
        return f"d{self._delivery}"

    def posted_debrief(self) -> Debrief:
        """The debrief the game day's end posted (its own timer, due at the end, fired now)."""
        fire_due_timers(self.store, self.engine, self.clock.now())
        return self.announcer.debriefs[-1]

    def advance_to(self, at: float, step: float = 1.0) -> None:
        """Move the clock forward in small steps, firing timers as they come due."""
        while self.clock.now() < at:
            self.clock.advance(min(step, at - self.clock.now()))
            fire_due_timers(self.store, self.engine, self.clock.now())

    def page_ts(self, gameday_id: str, page_id: str) -> float:
        from bot.gameday.state import fold

        return fold(self.store.events(gameday_id)).pages[page_id].paged_at


def scenario_text(name: str = "pager-stress") -> str:
    return (ROOT / "scenarios" / f"{name}.yaml").read_text()

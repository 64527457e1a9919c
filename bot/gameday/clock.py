"""The one source of time for the engine: real in production, scaled in the demo, virtual in tests."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, in game-day time."""
        ...

    def to_real(self, at: float) -> float:
        """The wall-clock moment at which game-day time ``at`` arrives (for waking timers)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def to_real(self, at: float) -> float:
        return at


class ScaledClock:
    """Game time runs ``factor`` times faster than the wall clock, from ``origin`` on.

    The demo uses it so a 12-minute drill plays out in seconds while every duration in the
    scenario keeps its meaning; Slack-like timestamps come from the same clock.
    """

    def __init__(self, factor: float, origin: float | None = None):
        if factor <= 0:
            raise ValueError("the clock factor must be positive")
        self.factor = factor
        self.origin = time.time() if origin is None else origin

    def now(self) -> float:
        return self.origin + (time.time() - self.origin) * self.factor

    def to_real(self, at: float) -> float:
        return self.origin + (at - self.origin) / self.factor


class VirtualClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, start: float = 1_800_000_000.0):
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now

    def advance_to(self, at: float) -> float:
        """Move on to ``at``; never back (a moment already passed stays passed)."""
        with self._lock:
            self._now = max(self._now, at)
            return self._now

    def to_real(self, at: float) -> float:
        return time.time() + max(0.0, at - self.now())

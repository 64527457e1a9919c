"""Work per game day on a few threads: one game day's items in order, different game days side by side.

Items are put under a key (the game day). A worker takes everything waiting under up to ``max_keys``
keys at once and hands it to ``handle``; while it does, those keys are with no other worker, so a key's
items are handled in the order they were put. Keys wait their turn oldest first, and a key that got
more meanwhile goes to the back of the line, so one busy game day cannot starve the others.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
BATCH_MAX = 500  # items of one key handed over at once


class Lanes(Generic[T]):
    def __init__(
        self,
        handle: Callable[[dict[str, list[T]]], None],
        workers: int = 1,
        name: str = "lanes",
        max_keys: int = 1,
    ):
        self._handle = handle
        self.max_keys = max_keys
        self._waiting: dict[str, list[T]] = {}
        self._ready: deque[str] = deque()  # keys with waiting items and no worker on them
        self._busy: set[str] = set()
        self._cond = threading.Condition()
        self._closed = False
        self._last_put = 0.0  # time.monotonic() of the latest put
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, key: str, item: T) -> None:
        with self._cond:
            waiting = self._waiting.setdefault(key, [])
            waiting.append(item)
            self._last_put = time.monotonic()
            if len(waiting) == 1 and key not in self._busy:
                self._ready.append(key)
                self._cond.notify_all()  # drain() waits on the same condition as the workers

    def depth(self) -> int:
        """Items not handed over yet."""
        with self._cond:
            return sum(len(items) for items in self._waiting.values())

    def drain(self, timeout: float) -> bool:
        """Wait until everything put so far is handled; False when ``timeout`` seconds were not enough."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._waiting and not self._busy, timeout)

    def quiet(self, period: float, timeout: float) -> bool:
        """Wait until everything put is handled and nothing was put for ``period`` seconds (a wave of
        work is over, not just paused between two items); False when ``timeout`` was not enough."""
        deadline = time.monotonic() + timeout
        while self.drain(max(0.0, deadline - time.monotonic())):
            with self._cond:
                calm = self._last_put + period - time.monotonic()
            if calm <= 0:
                return True
            if time.monotonic() + calm > deadline:
                return False
            time.sleep(calm)
        return False

    def close(self, timeout: float = 10.0) -> bool:
        """Handle what is waiting, then stop the workers."""
        drained = self.drain(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        return drained

    def _next(self) -> dict[str, list[T]] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._ready or self._closed)
            if not self._ready:
                return None
            taken: dict[str, list[T]] = {}
            while self._ready and len(taken) < self.max_keys:
                key = self._ready.popleft()
                items = self._waiting.pop(key)
                if len(items) > BATCH_MAX:
                    items, self._waiting[key] = items[:BATCH_MAX], items[BATCH_MAX:]
                self._busy.add(key)
                taken[key] = items
            return taken

    def _done(self, keys: list[str]) -> None:
        with self._cond:
            for key in keys:
                self._busy.discard(key)
                if key in self._waiting:  # more came meanwhile: back of the line
                    self._ready.append(key)
            self._cond.notify_all()

    def _work(self) -> None:
        while (taken := self._next()) is not None:
            try:
                self._handle(taken)
            finally:
                self._done(list(taken))

"""Per-channel pacing of posts: Slack allows about one message per second per channel, with short bursts.

Posting faster only earns 429s; waiting a little here keeps every message in order and on time.
The SDK's retry handler still honours Retry-After should Slack ask us to slow down anyway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ChannelPacer:
    def __init__(
        self,
        per_second: float = 1.0,
        burst: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.rate = per_second
        self.burst = float(burst)
        self._sleep = sleep
        self._monotonic = monotonic
        self._tokens: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)
        self._lock = threading.Lock()
        self.waiting = 0  # posts held back right now (the demo's clock waits for them)

    def wait(self, channel: str) -> float:
        """Block until a post to ``channel`` fits the pace; returns how long it waited."""
        with self._lock:
            now = self._monotonic()
            tokens, since = self._tokens.get(channel, (self.burst, now))
            tokens = min(self.burst, tokens + (now - since) * self.rate) - 1.0
            self._tokens[channel] = (tokens, now)
        delay = -tokens / self.rate if tokens < 0 else 0.0
        if delay > 0:
            with self._lock:
                self.waiting += 1
            try:
                self._sleep(delay)
            finally:
                with self._lock:
                    self.waiting -= 1
        return delay

"""A workspace's allowance for one kind of best-effort Slack call: so many a minute on average, a few at
once, and a call beyond it is not made at all.

Slack allows ``reactions.add`` about 50 times a minute per app and workspace (Tier 3). A burst of notes
beyond that earned 429s: each answer held a follow-up thread, and the acknowledgement lines and pages
shown as taken queued behind it. A reaction only confirms what the timeline already holds, so beyond
the budget it is skipped (counted in ``sce_slack_calls_skipped_total``); the note still counts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

BURST = 20  # calls at once before the pace applies


class Budget:
    def __init__(
        self, per_minute: float | None, burst: int = BURST, monotonic: Callable[[], float] = time.monotonic
    ):
        """``per_minute``: None for no budget (every call is made)."""
        self.rate = per_minute / 60.0 if per_minute else None
        self.burst = float(burst)
        self._monotonic = monotonic
        self._tokens, self._at = self.burst, monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """True if a call fits now (and is counted against the budget); False: do not make it."""
        if self.rate is None:
            return True
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True

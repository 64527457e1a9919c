"""Misbehaviour the local workspace can be told to show: HTTP 429 with Retry-After, 5xx answers, or
(status 0) a call that does its work but answers only after ``delay`` seconds, as a slow Slack does."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiFault:
    status: int
    retry_after: int = 1
    delay: float = 0.0


class ApiFaults:
    """The next ``times`` calls of a Web API method fail as configured, then it behaves again."""

    def __init__(self) -> None:
        self._pending: dict[str, list[ApiFault]] = {}
        self._lock = threading.Lock()

    def add(self, method: str, status: int, times: int = 1, retry_after: int = 1, delay: float = 0.0) -> None:
        with self._lock:
            self._pending.setdefault(method, []).extend([ApiFault(status, retry_after, delay)] * times)

    def take_all(self, method: str) -> int:
        """The method behaves again at once; returns how many faults were still pending."""
        with self._lock:
            return len(self._pending.pop(method, []))

    def take(self, method: str) -> ApiFault | None:
        with self._lock:
            queue = self._pending.get(method)
            return queue.pop(0) if queue else None

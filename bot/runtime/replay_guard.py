"""One effect per signed request: a signature seen again within its window is a replay.

Slack signs ``v0:{timestamp}:{body}`` and the alert webhook ``v1:{timestamp}:{body}``; a request is good
for 5 minutes after its timestamp. Anyone who captures one (a proxy log, a leaked HAR file) could send
it again inside that window and act a second time as its author. A signature covers the timestamp and
the whole body, so the same signature means the same request: the guard remembers each signature until
its window has closed, and only the first arrival has an effect. Slack's own retries of an event are
no threat either way: the event id already makes a retry a no-op.

With PostgreSQL (replicas behind one URL) the guard is a table every replica shares
(``storage/replay_store.py``), so a replay sent to another replica is caught. Messages and reactions
need not wait for it (``bot/slack/inert.py``): their one effect is keyed by what they deliver. On
SQLite (one process) it answers from memory and writes the same table behind, at most half a second
later, so a restart reads back the windows still open and a replay sent just after a restart is caught
too.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Protocol

WINDOW_SECONDS = 5 * 60
"""How far a signed request's timestamp may be from this server's clock, either way."""
PRUNE_EVERY_SECONDS = 60.0


class ReplayGuard(Protocol):
    def first_time(self, key: str, expires_at: float, now: float) -> bool:
        """Remember ``key`` until ``expires_at``; False when it is already remembered (a replay)."""
        ...

    def close(self) -> None:
        """Write what is remembered where the next process will find it (when there is such a place)."""
        ...


def request_key(scope: str, signature: str) -> str:
    """A fixed-size key for a signature: only requests that passed verification ever reach the guard."""
    return hashlib.sha256(f"{scope}:{signature}".encode("latin-1", "replace")).hexdigest()


def expires_at(timestamp: int, now: float) -> float:
    """When a request stamped ``timestamp`` stops being accepted (its window closes), plus a second."""
    return max(float(timestamp), now) + WINDOW_SECONDS + 1


class MemoryReplayGuard:
    """The guard of one process: a map of keys to their expiry, pruned once a minute."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._pruned_at = 0.0

    def remember(self, key: str, expires_at: float) -> None:
        with self._lock:
            self._seen[key] = max(expires_at, self._seen.get(key, 0.0))

    def first_time(self, key: str, expires_at: float, now: float) -> bool:
        with self._lock:
            if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
                self._seen = {k: until for k, until in self._seen.items() if until > now}
                self._pruned_at = now
            until = self._seen.get(key)
            if until is not None and until > now:
                return False
            self._seen[key] = expires_at
            return True

    def close(self) -> None:
        pass  # nothing outlives the process

"""The living status message of every game day, kept current off the path of the work that changes it.

A step, a page or an acknowledgement changes the status; the chat.update that shows it waits here. A
thread sends each game day's newest status, at most once every ``min_interval`` seconds per game day
(the states in between are never shown, only skipped), oldest waiting first. A status that is final
(the game day is over) skips the wait and the line. So a busy game day costs Slack one chat.update
every few seconds instead of one per change, and no timer or reply waits for Slack to take it.

``per_minute`` is a budget for the whole workspace: Slack allows chat.update about 50 times a minute
per app and workspace (Tier 3), and 500 game days at once would ask for several hundred. Within the
budget nothing changes; beyond it the updates are spaced evenly, each game day still shows only its
newest state when its turn comes, so the more game days run, the more of their states are skipped. A
final status is never held.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)
MIN_INTERVAL = 2.0  # seconds between two updates of one game day's status message
PER_MINUTE = 40.0  # status updates a minute in all: Tier 3's ~50 chat.update, less room for the pages'

Send = Callable[[], None]


class StatusLine:
    def __init__(
        self,
        min_interval: float = MIN_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
        per_minute: float | None = None,
    ):
        """``per_minute``: the workspace's budget of updates (None: no budget, as in a test harness)."""
        self.min_interval = min_interval
        self.spacing = 60.0 / per_minute if per_minute else 0.0  # between two updates of any game days
        self._last_any = -1e18
        self._monotonic = monotonic
        self._waiting: dict[str, tuple[Send, bool]] = {}  # game day -> (newest send, final); insertion order
        self._finals: set[str] = set()  # game days whose waiting status is final (never held)
        self._sent_at: dict[str, float] = {}
        self._versions: dict[str, int] = {}  # game day -> newest version submitted
        self._sending: str | None = None
        self._hurry = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="status-line", daemon=True)
        self._thread.start()

    def submit(self, gameday_id: str, send: Send, final: bool = False, version: int | None = None) -> None:
        """Show this status next; it replaces one of the same game day still waiting. A ``version``
        older than one submitted before is dropped: commits that end in one order may call in another
        (a step's commit, then its message's record, whose status is the newer one)."""
        with self._cond:
            if version is not None:
                if version < self._versions.get(gameday_id, version):
                    return
                self._versions[gameday_id] = version
            self._waiting.pop(gameday_id, None)  # to the back of the line, as the newest
            self._waiting[gameday_id] = (send, final)
            if final:
                self._finals.add(gameday_id)
            else:
                self._finals.discard(gameday_id)
            # with the budget spent and others waiting, the line wakes by itself when it may send again
            # (its wait is timed then): only a final is worth waking it for. Alone, this one is woken
            # for, since the line may be waiting with no timeout
            alone = len(self._waiting) == 1
            if final or alone or self._monotonic() >= self._last_any + self.spacing:
                self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Send everything waiting now, without the interval; False when ``timeout`` was not enough."""
        with self._cond:
            self._hurry = True
            self._cond.notify_all()
            done = self._cond.wait_for(lambda: not self._waiting and self._sending is None, timeout)
            self._hurry = False
            return done

    def close(self, timeout: float = 10.0) -> bool:
        done = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        return done

    def _due(self, now: float) -> tuple[str | None, float | None]:
        """The game day to update now, else how long until one is due (None: nothing waits)."""
        wait: float | None = None
        budget = self._last_any + self.spacing
        if not self._hurry and now < budget and self._waiting:  # beyond the budget: only a final goes
            ending = next(iter(self._finals), None)
            return (ending, None) if ending is not None else (None, budget - now)
        for gameday_id, (_, final) in self._waiting.items():
            ready_at = max(self._sent_at.get(gameday_id, -1e18) + self.min_interval, budget)
            if final or self._hurry or ready_at <= now:
                return gameday_id, None
            wait = ready_at - now if wait is None else min(wait, ready_at - now)
        return None, wait

    def _take(self) -> tuple[str, Send] | None:
        with self._cond:
            while not self._closed:
                now = self._monotonic()
                gameday_id, wait = self._due(now)
                if gameday_id is not None:
                    send, _ = self._waiting.pop(gameday_id)
                    self._finals.discard(gameday_id)
                    self._sent_at[gameday_id] = now
                    self._last_any = now
                    self._sending = gameday_id
                    self._forget_old(now)
                    return gameday_id, send
                self._cond.wait(wait)
            return None

    def _forget_old(self, now: float) -> None:
        if len(self._sent_at) > 1000:
            self._sent_at = {
                k: at for k, at in self._sent_at.items() if at + self.min_interval > now or k in self._waiting
            }
            self._versions = {k: v for k, v in self._versions.items() if k in self._sent_at}

    def _run(self) -> None:
        while (taken := self._take()) is not None:
            gameday_id, send = taken
            try:
                send()
            except Exception:  # the next change of this game day sends a newer status anyway
                log.warning("could not update the status message of %s", gameday_id, exc_info=True)
            finally:
                with self._cond:
                    self._sending = None
                    self._cond.notify_all()

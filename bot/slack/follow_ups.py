"""Slack calls that only follow what committed, sent on threads of their own.

A reaction on a recorded note, an acknowledgement's line in the thread, a page or handoff shown as
taken: the timeline already holds each fact, so nothing waits for them. They used to run in the thread
that committed, right after its commit: an inbox writer then spent most of its time on reactions while
the replies of every other game day waited to be written, and one Slack call that hung held them all.
Here they queue per game day (in order within one, side by side across game days) on ``workers``
threads. A call that fails is logged in one line (with its traceback only when it is not an answer
from Slack) and never retried: the next change of the same message shows the state anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.gameday.running.lanes import Lanes

log = logging.getLogger(__name__)
WORKERS = 4  # as many as the timer workers: each call is a Slack round trip, mostly waiting


@dataclass(frozen=True)
class FollowUp:
    call: Callable[[], object]
    what: str


class FollowUps:
    """Best-effort Slack calls, in order per game day, off the committing thread."""

    def __init__(self, workers: int = WORKERS):
        self.lanes: Lanes[FollowUp] = Lanes(self._send_all, workers, "follow-ups")

    def put(self, gameday_id: str, call: Callable[[], object], what: str) -> None:
        self.lanes.put(gameday_id, FollowUp(call, what))

    def drain(self, timeout: float) -> bool:
        """Wait until every follow-up put so far is sent (or failed); False when ``timeout`` was short."""
        return self.lanes.drain(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Send what is waiting, then stop the workers."""
        return self.lanes.close(timeout)

    @staticmethod
    def _send_all(batches: dict[str, list[FollowUp]]) -> None:
        for items in batches.values():
            for item in items:
                send(item)


def send(item: FollowUp) -> None:
    try:
        item.call()
    except SlackApiError as exc:  # Slack answered: its error code says it all
        error = exc.response.get("error")
        log.warning("could not send %s (Slack: %s); the timeline has it", item.what, error)
    except Exception:
        log.warning("could not send %s; the timeline has it", item.what, exc_info=True)

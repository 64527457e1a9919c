"""`sce serve` posts the weekly digest of overdue findings (bot/gameday/findings/digest.py) to each
channel that has any, once per ISO week, at SCE_DIGEST's time (Monday 09:00 UTC unless set).

It rides the timer service's ``others`` like the ticket poller, and works on a thread of its own, so
the timer service's poll never waits on the database's listing or on Slack. Once per channel and week
across replicas: the ``finding_digest`` row is inserted before the post, and a replica whose insert
conflicts leaves the digest alone. A post Slack refuses gives the row back and is tried again with the
timers' backoff (by whichever replica gets there); the message carries its key in its metadata, and the
channel is searched for it before each post, so a post that went out but whose answer was lost is never
posted twice. A process that dies between the row and the post skips that week's digest (the next one
lists the same findings).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from slack_sdk import WebClient

from bot.gameday.findings.digest import (
    SHOWN,
    DigestSlot,
    due_at,
    overdue_by_channel,
    overdue_since,
    sending_now,
    week_of,
)
from bot.gameday.findings.model import Finding, FindingState
from bot.gameday.findings.recording import FindingFilter
from bot.gameday.running.retries import retry_delay
from bot.slack.announcer import POST_EVENT
from bot.slack.keyed_posts import find_keyed_post
from bot.slack.render import render
from storage.digest_store import DigestStore
from storage.finding_store import FindingStore

log = logging.getLogger(__name__)
LOOK_EVERY_SECONDS = 600.0
"""How often, within a digest's day, the findings are looked at again (a replica that was down)."""
HISTORY_PAGE = 200
HISTORY_PAGES = 10  # pages searched for the week's digest before posting it


def digest_key(channel: str, week: str) -> str:
    return f"digest:{channel}:{week}"


def digest_text(findings: list[Finding]) -> str:
    """The digest's message: the first ``SHOWN`` findings, then how many more."""
    rows = [(f, datetime.fromtimestamp(overdue_since(f), UTC).strftime("%Y-%m-%d")) for f in findings[:SHOWN]]
    return render("finding_digest", rows=rows, total=len(findings), more=len(findings) - SHOWN)


class FindingDigest:
    def __init__(self, findings: FindingStore, digests: DigestStore, client: WebClient, slot: DigestSlot):
        self.findings = findings
        self.digests = digests
        self.client = client
        self.slot = slot
        self._next_look = 0.0
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._running: threading.Thread | None = None

    def recover(self) -> None:
        pass  # a claim whose post never went out is not taken back: see the module's docstring

    def next_due_at(self) -> float | None:
        return None  # the timer service's safety interval is frequent enough for a weekly post

    def run_due(self, now: float) -> int:
        if now < self._next_look or (self._running is not None and self._running.is_alive()):
            return 0
        self._next_look = now + LOOK_EVERY_SECONDS
        self._running = threading.Thread(target=self._send_logged, args=(now,), name="digest", daemon=True)
        self._running.start()
        return 0  # the digest makes no timer due

    def _send_logged(self, now: float) -> None:
        try:
            self.send_due(now)
        except Exception:  # the database away: logged, tried again at the next look
            log.exception("the weekly digest of overdue findings failed")

    def send_due(self, now: float) -> list[str]:
        """Post this week's digest to every channel that has overdue findings and none yet; the
        channels posted to."""
        if not sending_now(self.slot, now):
            return []
        due = due_at(self.slot, now)
        week = week_of(due)
        taken = self.digests.sent(week)
        listed = [
            *self.findings.list(FindingFilter(state=FindingState.OPEN), now),
            *self.findings.list(FindingFilter(state=FindingState.FIXING), now),
        ]
        posted: list[str] = []
        for channel, found in overdue_by_channel(listed, now).items():
            if channel in taken or self._retry_at.get(channel, 0.0) > now:
                continue
            if not self.digests.claim(channel, week, now):
                continue  # another replica has it
            try:
                self._post_once(channel, digest_key(channel, week), due, digest_text(found))
            except Exception as exc:  # given back: tried again after the timers' backoff
                self.digests.release(channel, week)
                failures = self._failures.get(channel, 0) + 1
                self._failures[channel] = failures
                self._retry_at[channel] = now + retry_delay(failures, exc)
                self._next_look = min(self._next_look, self._retry_at[channel])
                log.warning("the digest for %s did not go out (%s); tried again", channel, type(exc).__name__)
                continue
            self._failures.pop(channel, None)
            self._retry_at.pop(channel, None)
            posted.append(channel)
        return posted

    def _post_once(self, channel: str, key: str, since: float, text: str) -> str:
        found = find_keyed_post(self.client, channel, key, since, HISTORY_PAGES, HISTORY_PAGE)
        if found is not None:
            return found
        response = self.client.chat_postMessage(
            channel=channel,
            text=text,
            unfurl_links=False,
            metadata={"event_type": POST_EVENT, "event_payload": {"key": key}},
        )
        return str(response["ts"])

"""Signed Slack requests sent straight to an app, timed from send to the HTTP answer.

Bodies and signatures come from the workspace's own code (bot.workspace.delivery, payloads), so the
app sees exactly what Slack sends. Each thread keeps one keep-alive connection, as Slack's senders do.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from bot.workspace import payloads
from bot.workspace.delivery import Kind, build_delivery
from bot.workspace.state import BOT_USER_ID, TEAM_ID, Channel, User

NAMES = {"U1": "alice", "U2": "bob", "UFAC": "carol"}


class SignedClient:
    def __init__(self, url: str, secret: str, timeout: float = 30.0):
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self.secret = secret
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def send(self, kind: Kind, payload: dict[str, Any]) -> tuple[int, float]:
        """(HTTP status, seconds from sending the signed request to reading the answer)."""
        status, seconds, _ = self.send_reading(kind, payload)
        return status, seconds

    def send_reading(self, kind: Kind, payload: dict[str, Any]) -> tuple[int, float, bytes]:
        """(HTTP status, seconds from sending the signed request to reading the answer, its body)."""
        delivery = build_delivery(kind, payload, self.secret)
        headers = {
            "Content-Type": delivery.content_type,
            "X-Slack-Request-Timestamp": str(delivery.timestamp),
            "X-Slack-Signature": delivery.signature,
        }
        for attempt in (1, 2):
            conn = self._connection()
            start = time.perf_counter()
            try:
                conn.request("POST", self.path, body=delivery.body, headers=headers)
                response = conn.getresponse()
                body = response.read()
                return response.status, time.perf_counter() - start, body
            except (http.client.HTTPException, ConnectionError):
                self._drop()  # the server closed an idle keep-alive connection: reconnect once
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._drop()


def slash_form(user: str, channel: str, text: str, response_url: str) -> dict[str, str]:
    """The form Slack posts for `/sce <text>` typed by ``user`` in ``channel``."""
    return payloads.slash_command_form(
        User(user, NAMES.get(user, user)),
        Channel(channel, f"gameday-{channel}"),
        "/sce",
        text,
        response_url,
        payloads.new_trigger_id(),
    )


_sequence = itertools.count(1)


def unique_ts() -> str:
    """A Slack-style ts that never repeats in this process (the clock plus a microsecond counter)."""
    return f"{int(time.time())}.{next(_sequence) % 1_000_000:06d}"


def thread_reply(channel: str, thread_ts: str, user: str, text: str) -> dict[str, Any]:
    """The ``event_callback`` Slack posts for a person's reply in a thread of the bot's."""
    ts = unique_ts()
    event = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "thread_ts": thread_ts,
        "parent_user_id": BOT_USER_ID,
        "channel_type": "channel",
        "team": TEAM_ID,
    }
    return {
        "token": payloads.VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": "A0LOCAL",
        "event": event,
        "type": "event_callback",
        "event_id": "Ev" + uuid.uuid4().hex[:12].upper(),
        "event_time": int(time.time()),
        "authorizations": [
            {"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}
        ],
        "is_ext_shared_channel": False,
    }

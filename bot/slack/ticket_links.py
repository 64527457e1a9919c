"""`/sce ticket F-<n>`'s answer after the ack (the ticket's link, or why there is none) goes out through
the outbox of the finding's game day, like every other bot post: a row committed first, posted after the
commit, retried by the timer service with its backoff when Slack fails, and looked for (its key is in
the message's metadata) before a retry posts it again, so it is never lost and never doubled.

It is a reply in the game day's thread (where its debrief and findings are), also sent to the channel
(``reply_broadcast``), where the command was typed.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.gameday.ports import GameDayRecord
from bot.gameday.running.engine import Engine
from bot.gameday.running.outbox import PostKind
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState
from bot.slack.announcer import POST_EVENT

TICKET_LINK = "ticket_link"


def register_ticket_links(engine: Engine, client: WebClient) -> None:
    """Teach the engine's outbox the ticket link post (every process: another replica may retry it)."""

    def send(
        record: GameDayRecord, scenario: Scenario, state: GameDayState, payload: dict[str, Any], key: str
    ) -> str:
        response = client.chat_postMessage(
            channel=record.channel,
            thread_ts=record.thread_ts,
            reply_broadcast=record.thread_ts is not None,
            text=str(payload["text"]),
            unfurl_links=False,
            metadata={"event_type": POST_EVENT, "event_payload": {"key": key}},
        )
        return str(response["ts"])

    engine.injects.outbox.register(TICKET_LINK, PostKind(send=send))


def post_ticket_link(engine: Engine, gameday_id: str, key: str, text: str) -> bool:
    """Commit ``text`` as a post of game day ``gameday_id`` (``key``: once per key); it goes out after
    the commit. False when that key was posted already."""
    with engine.store.transaction(gameday_id) as tx:
        return engine.injects.outbox.post(tx, key, TICKET_LINK, {"text": text})

"""The message shortcut "Add to debrief": any message in a game-day thread becomes a note."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.runtime.service import Services
from bot.slack.blocks import ADD_TO_DEBRIEF


def register(app: App, services: Services) -> None:
    @app.shortcut(ADD_TO_DEBRIEF)
    def add_to_debrief(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        ack()
        user = shortcut["user"]["id"]
        channel = shortcut["channel"]["id"]
        message = shortcut.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        gameday_id = services.store.find_by_thread(channel, thread_ts) if thread_ts else None
        if gameday_id is None:
            client.chat_postEphemeral(
                channel=channel, user=user, text="That message is not in a game-day thread."
            )
            return
        text = message.get("text") or ""
        author = message.get("user")
        note = f"{text} (from <@{author}>)" if author and author != user else text
        at = float(shortcut.get("action_ts") or message["ts"])
        outcome = services.engine.add_note(
            gameday_id, "note", note, user, at, f"shortcut:{shortcut['trigger_id']}", message.get("ts")
        )
        client.chat_postEphemeral(channel=channel, user=user, text=outcome.message)

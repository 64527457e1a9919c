"""Incoming webhooks: how other apps post into the workspace (Alertmanager's Slack notifier, and any tool
configured with a ``https://hooks.slack.com/services/T.../B.../...`` URL).

``add(channel, app)`` makes a webhook bound to one channel; a POST of Slack's JSON (``text``,
``attachments``, ``blocks``, ``username``) to its path stores a ``bot_message`` of that app, with no user,
and delivers its ``message`` event to the bot, as Slack does. An unknown path is 404 ``no_service``; a
post with nothing to show is 400 ``no_text``: Slack's answers, in plain text.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.workspace.driver import Driver
from bot.workspace.state import TEAM_ID


@dataclass(frozen=True)
class Webhook:
    channel: str
    app: str  # the app's name, its default username
    bot_id: str


class IncomingWebhooks:
    def __init__(self, driver: Driver):
        self.driver = driver
        self.hooks: dict[str, Webhook] = {}

    def add(self, channel: str, app: str) -> str:
        """A new webhook for ``app`` posting into ``channel``; its path, ``/services/T.../B.../secret``."""
        bot_id = "B" + secrets.token_hex(4).upper()
        secret = secrets.token_urlsafe(18)
        self.hooks[f"{bot_id}/{secret}"] = Webhook(channel, app, bot_id)
        return f"/services/{TEAM_ID}/{bot_id}/{secret}"

    async def receive(self, request: web.Request) -> web.Response:
        hook = self.hooks.get(f"{request.match_info['bot']}/{request.match_info['secret']}")
        if hook is None or request.match_info["team"] != TEAM_ID:
            return web.Response(status=404, text="no_service")
        body = await _payload(request)
        if body is None:
            return web.Response(status=400, text="invalid_payload")
        text = str(body["text"]) if isinstance(body.get("text"), str) else ""
        attachments, blocks = body.get("attachments"), body.get("blocks")
        if not (text or attachments or blocks):
            return web.Response(status=400, text="no_text")
        message = self.driver.state.add_message(
            hook.channel,
            "",
            text,
            blocks=blocks if isinstance(blocks, list) else None,
            bot_id=hook.bot_id,
            subtype="bot_message",
            attachments=attachments if isinstance(attachments, list) else None,
            username=str(body.get("username") or hook.app),
        )
        self.driver.announce(message)
        return web.Response(text="ok")


async def _payload(request: web.Request) -> dict[str, Any] | None:
    """Slack takes JSON, or a form whose ``payload`` field is JSON."""
    raw = await request.read()
    if request.content_type == "application/x-www-form-urlencoded":
        raw = str((await request.post()).get("payload") or "").encode()
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None

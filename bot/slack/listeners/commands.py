"""The `/sce` slash command: parse, ack within 3 s, then do the slow part."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.gameday.commands import CommandError, parse_command
from bot.gameday.mentions import literal
from bot.slack.command_desk import AnswerThen, CommandDesk, Invocation, PreparedStart

log = logging.getLogger(__name__)


def register(app: App, desk: CommandDesk) -> None:
    @app.command("/sce")
    def sce(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        try:
            parsed = parse_command(command.get("text", ""))
        except CommandError as exc:
            ack(text=str(exc))
            return
        inv = Invocation(parsed, command["user_id"], command["channel_id"], command.get("trigger_id", ""))
        try:
            reply = desk.handle(inv)
        except Exception:
            log.exception("/sce %s failed", parsed.name)
            ack(text="Something went wrong on our side; the facilitator can retry or `/sce abort`.")
            return
        if isinstance(reply, PreparedStart):
            ack(text=f"Starting `{literal(parsed.args[0])}`...")
            try:
                respond(text=reply.run(), response_type="ephemeral")
            except Exception:
                log.exception("start failed")
                respond(
                    text="The game day could not start; nothing was left running.", response_type="ephemeral"
                )
            return
        if isinstance(reply, AnswerThen):
            ack(text=reply.text)
            try:
                reply.then()
            except Exception:
                log.exception("/sce %s: the follow-up failed", parsed.name)
            return
        ack(text=reply)

"""The `/sce` slash command: parse, ack within 3 s, then do the slow part.

Slack shows the person an error when the ack takes more than 3 seconds, although the command may well
have taken effect. So the work runs beside the listener: when it has not answered within
``ACK_BUDGET``, the ack says it is under way and the answer follows through ``respond``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.gameday.commands import CommandError, parse_command
from bot.gameday.mentions import literal
from bot.slack.command_desk import AnswerThen, CommandDesk, Invocation, PreparedStart

log = logging.getLogger(__name__)
ACK_BUDGET = 2.5
"""Seconds the command may take before the ack goes out without its answer (Slack allows 3)."""
FAILED = "Something went wrong on our side; the facilitator can retry or `/sce abort`."
Reply = str | PreparedStart | AnswerThen


def register(app: App, desk: CommandDesk) -> None:
    workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sce-command")

    @app.command("/sce")
    def sce(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        try:
            parsed = parse_command(command.get("text", ""))
        except CommandError as exc:
            ack(text=str(exc))
            return
        inv = Invocation(parsed, command["user_id"], command["channel_id"], command.get("trigger_id", ""))
        work = workers.submit(desk.handle, inv)

        def with_ack(text: str) -> None:
            ack(text=text)

        def afterwards(text: str) -> None:
            respond(text=text, response_type="ephemeral")

        answer = with_ack
        try:
            reply: Reply = work.result(timeout=ACK_BUDGET)
        except FutureTimeout:
            ack(text=f"Working on `/sce {parsed.name}`; the answer follows here.")
            answer, reply = afterwards, _finished(work.result, parsed.name)
        except Exception:
            log.exception("/sce %s failed", parsed.name)
            reply = FAILED
        _deliver(reply, answer, afterwards, parsed.args[0] if parsed.args else "")


def _finished(result: Callable[[], Reply], name: str) -> Reply:
    try:
        return result()
    except Exception:
        log.exception("/sce %s failed", name)
        return FAILED


def _deliver(
    reply: Reply, answer: Callable[[str], None], afterwards: Callable[[str], None], scenario: str
) -> None:
    """Send the answer; then what follows it (a start's own answer, a chart to upload)."""
    if isinstance(reply, PreparedStart):
        answer(f"Starting `{literal(scenario)}`...")
        try:
            text = reply.run()
        except Exception:
            log.exception("start failed")
            text = "The game day could not start; nothing was left running."
        afterwards(text)
        return
    if isinstance(reply, AnswerThen):
        answer(reply.text)
        try:
            reply.then()
        except Exception:
            log.exception("the work after a command's answer failed")
        return
    answer(reply)

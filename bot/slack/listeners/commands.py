"""The `/sce` slash command: parse, ack within 3 s, then do the slow part.

Slack shows the person an error when the ack takes more than 3 seconds, although the command may well
have taken effect. So the work runs beside the listener: when it has not answered within
``ACK_BUDGET``, the ack says it is under way and the answer follows through ``respond``.

No slow work holds a listener thread: what follows an ack (a start reading its attachments and posting
its kickoff, a chart to upload, the answer of a command past its budget) runs on threads of its own,
and `/sce abort` has workers of its own, so it answers while other commands are stuck.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.gameday.people.mentions import literal
from bot.gameday.running.commands import CommandError, parse_command
from bot.slack.command_desk import AnswerThen, CommandDesk, Invocation, PreparedStart

log = logging.getLogger(__name__)
ACK_BUDGET = 2.5
"""Seconds the command may take before the ack goes out without its answer (Slack allows 3)."""
FAILED = "Something went wrong on our side; the facilitator can retry or `/sce abort`."
URGENT = frozenset({"abort"})
"""Commands that never queue behind others: stopping a drill must work while anything else is slow."""
Reply = str | PreparedStart | AnswerThen


def register(app: App, desk: CommandDesk) -> None:
    workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sce-command")
    urgent = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sce-urgent")
    after_ack = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sce-after-ack")

    @app.command("/sce")
    def sce(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        try:
            parsed = parse_command(command.get("text", ""))
        except CommandError as exc:
            ack(text=str(exc))
            return
        inv = Invocation(parsed, command["user_id"], command["channel_id"], command.get("trigger_id", ""))
        work = (urgent if parsed.name in URGENT else workers).submit(desk.handle, inv)
        scenario = parsed.args[0] if parsed.args else ""

        # no previews: an answer may carry a debrief link made for this person alone
        def with_ack(text: str) -> None:
            ack(text=text, unfurl_links=False, unfurl_media=False)

        def afterwards(text: str) -> None:
            respond(text=text, response_type="ephemeral", unfurl_links=False, unfurl_media=False)

        try:
            reply: Reply = work.result(timeout=ACK_BUDGET)
        except FutureTimeout:
            ack(text=f"Working on `/sce {parsed.name}`; the answer follows here.")
            # the answer follows from the worker that finishes it, not from this listener thread
            work.add_done_callback(
                lambda done: _answer_later(done.result, parsed.name, scenario, afterwards, after_ack)
            )
            return
        except Exception:
            log.exception("/sce %s failed", parsed.name)
            reply = FAILED
        _deliver(reply, with_ack, afterwards, scenario, after_ack)


def _answer_later(
    result: Callable[[], Reply],
    name: str,
    scenario: str,
    afterwards: Callable[[str], None],
    after_ack: ThreadPoolExecutor,
) -> None:
    """The answer of a command that outlived its ack, sent from the worker that finished it."""
    try:
        _deliver(_finished(result, name), afterwards, afterwards, scenario, after_ack)
    except Exception:
        log.exception("the answer to /sce %s could not be sent", name)


def _finished(result: Callable[[], Reply], name: str) -> Reply:
    try:
        return result()
    except Exception:
        log.exception("/sce %s failed", name)
        return FAILED


def _deliver(
    reply: Reply,
    answer: Callable[[str], None],
    afterwards: Callable[[str], None],
    scenario: str,
    after_ack: ThreadPoolExecutor,
) -> None:
    """Send the answer; then, on an ``after_ack`` thread, what follows it (a start's own answer, a chart)."""
    if isinstance(reply, PreparedStart):
        answer(f"Starting `{literal(scenario)}`...")
        after_ack.submit(_start, reply, afterwards)
        return
    if isinstance(reply, AnswerThen):
        answer(reply.text)
        after_ack.submit(_then, reply)
        return
    answer(reply)


def _start(reply: PreparedStart, afterwards: Callable[[str], None]) -> None:
    try:
        text = reply.run()
    except Exception:
        log.exception("start failed")
        text = "The game day could not start; nothing was left running."
    try:
        afterwards(text)
    except Exception:
        log.exception("the answer to /sce start could not be sent")


def _then(reply: AnswerThen) -> None:
    try:
        reply.then()
    except Exception:
        log.exception("the work after a command's answer failed")

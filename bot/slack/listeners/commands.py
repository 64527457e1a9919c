"""The `/sce` slash command: parse, ack at once, answer in the ack or right after it.

Slack shows the person an error when the ack takes more than 3 seconds, although the command may well
have taken effect, and Bolt looks for a listener's ack every 10 ms: an ack later than that costs a whole
extra round. So the work runs beside the listener: an answer ready within ``ANSWER_IN_ACK`` goes out in
the ack; a slower one (a write waiting for the database, a busy machine, a slow Slack) is acked empty,
which shows the person nothing, and the answer follows through ``respond`` the moment it is ready.

No slow work holds a listener thread: what follows an ack (a start reading its attachments and posting
its kickoff, a chart to upload, an answer that follows the ack) runs on threads of its own,
and `/sce abort` has workers of its own, so it answers while other commands are stuck.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.gameday.people.mentions import literal
from bot.gameday.running.commands import CommandError, parse_command
from bot.slack.command_desk import AnswerThen, CommandDesk, Invocation, PreparedStart

log = logging.getLogger(__name__)
ANSWER_IN_ACK = 0.004
"""Seconds a command's answer may take to go out in the ack itself; a slower one follows the ack."""
ANSWER_ORDER_WAIT = 10.0
"""Seconds a start's own answer waits for its "Starting ..." to be sent first."""
FAILED = "Something went wrong on our side; the facilitator can retry or `/sce abort`."
URGENT = frozenset({"abort"})
"""Commands that never queue behind others: stopping a drill must work while anything else is slow."""
Reply = str | PreparedStart | AnswerThen


def register(app: App, desk: CommandDesk) -> None:
    workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sce-command")
    urgent = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sce-urgent")
    after_ack = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sce-after-ack")
    # answers that follow an empty ack: never queued behind a slow start or chart
    answers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sce-answer")

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
            reply: Reply = work.result(timeout=ANSWER_IN_ACK)
        except FutureTimeout:
            ack()
            # the answer follows on a thread of its own: neither this listener's thread nor the
            # command worker's waits for Slack to take it
            work.add_done_callback(
                lambda done: answers.submit(
                    _answer_later, done.result, parsed.name, scenario, afterwards, after_ack
                )
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
    """The answer of a command that outlived its ack."""
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
    """Send the answer, and hand what follows it (a start's own answer, a chart) to an ``after_ack``
    thread first: it never waits for a ``response_url`` that is slow or does not answer."""
    if isinstance(reply, PreparedStart):
        starting_said = threading.Event()
        after_ack.submit(_start, reply, afterwards, starting_said)
        try:
            _answer(answer, f"Starting `{literal(scenario)}`...")
        finally:
            starting_said.set()
        return
    if isinstance(reply, AnswerThen):
        after_ack.submit(_then, reply)
        _answer(answer, reply.text)
        return
    _answer(answer, reply)


def _answer(answer: Callable[[str], None], text: str) -> None:
    try:
        answer(text)
    except Exception:
        log.exception("the answer to a /sce command could not be sent")


def _start(reply: PreparedStart, afterwards: Callable[[str], None], starting_said: threading.Event) -> None:
    try:
        text = reply.run()
    except Exception:
        log.exception("start failed")
        text = "The game day could not start; nothing was left running."
    starting_said.wait(ANSWER_ORDER_WAIT)  # the person reads "Starting ..." before what came of it
    try:
        afterwards(text)
    except Exception:
        log.exception("the answer to /sce start could not be sent")


def _then(reply: AnswerThen) -> None:
    try:
        reply.then()
    except Exception:
        log.exception("the work after a command's answer failed")

"""A slash command's listener runs in the request's own thread, so Bolt finds its ack already made; every
other listener still runs on the pool after its ack. Bolt apps in process, dispatching real requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from served_app import local_settings
from slack_bolt import Ack, App, BoltRequest
from slack_harness import start_workspace
from slack_sdk import WebClient

from bot.runtime.server import HttpServer
from bot.runtime.service import build_services
from bot.slack.app import create_app, slack_over_http
from bot.slack.inline_commands import CommandsInline, answer_commands_inline
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

ROOT = Path(__file__).resolve().parents[1]


class Threads:
    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.done = threading.Event()


@pytest.fixture(scope="module")
def workspace() -> Iterator[LocalWorkspace]:
    ws = start_workspace()  # Bolt asks it who the bot is (auth.test) before the first listener
    yield ws
    ws.stop()


def bolt_app(threads: Threads, workspace: LocalWorkspace) -> tuple[App, CommandsInline]:
    executor = CommandsInline()
    app = App(
        client=WebClient(token=workspace.bot_token, base_url=workspace.api_url),
        signing_secret="s",
        request_verification_enabled=False,
        token_verification_enabled=False,
        process_before_response=False,
        listener_executor=executor,
    )
    answer_commands_inline(app, executor)

    @app.command("/sce")
    def command(ack: Ack, command: dict[str, Any]) -> None:
        threads.seen["command"] = threading.get_ident()
        if command["text"] == "boom":
            raise RuntimeError("the listener failed before its ack")
        ack(text=f"answered: {command['text']}")

    @app.event("message")
    def message(event: dict[str, Any]) -> None:
        threads.seen["message"] = threading.get_ident()
        threads.done.set()

    return app, executor


def slash(text: str) -> BoltRequest:
    body = urlencode({"command": "/sce", "text": text, "user_id": "U1", "channel_id": "C1", "team_id": "T1"})
    return BoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})


def message() -> BoltRequest:
    body = {
        "type": "event_callback",
        "team_id": "T1",
        "event": {"type": "message", "user": "U1", "text": "hi", "channel": "C1", "ts": "1.000001"},
    }
    return BoltRequest(body=json.dumps(body), headers={"content-type": ["application/json"]})


def test_a_command_is_answered_in_the_requests_thread_and_an_event_on_the_pool(
    workspace: LocalWorkspace,
) -> None:
    threads = Threads()
    app, executor = bolt_app(threads, workspace)
    here = threading.get_ident()
    answer = app.dispatch(slash("status"))
    assert answer.status == 200 and answer.body == "answered: status"  # text alone: Bolt sends it bare
    assert threads.seen["command"] == here and executor.inline == 1
    assert app.dispatch(message()).status == 200  # right after a command, in the same thread
    assert threads.done.wait(5)
    assert threads.seen["message"] != here and executor.inline == 1
    executor.shutdown()


def test_a_command_that_fails_before_its_ack_is_answered_with_an_error_not_left_waiting(
    workspace: LocalWorkspace,
) -> None:
    threads = Threads()
    app, executor = bolt_app(threads, workspace)
    answer = app.dispatch(slash("boom"))
    assert answer.status == 500 and threads.seen["command"] == threading.get_ident()
    assert app.dispatch(slash("again")).status == 200
    executor.shutdown()


def test_the_bot_answers_a_signed_command_over_http_inline(workspace: LocalWorkspace, tmp_path: Path) -> None:
    services = build_services(local_settings(workspace, tmp_path, ROOT / "scenarios"))
    app = create_app(services)
    server = HttpServer(slack_over_http(app, services), "127.0.0.1", 0)
    server.start()
    workspace.request_url = f"http://127.0.0.1:{server.port}/slack/events"
    try:
        executor = app.listener_runner.listener_executor
        assert isinstance(executor, CommandsInline)
        with WorkspaceClient(workspace.base_url) as people:
            answer = people.slash("UFAC", "/sce", "help")
        assert answer["status"] == 200 and "/sce start" in (answer["ack_text"] or "")
        assert executor.inline == 1
    finally:
        server.stop()
        services.stop()

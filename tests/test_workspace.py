"""The local workspace must look like Slack to an unchanged slack_sdk/slack_bolt bot.

Everything here goes over real sockets on 127.0.0.1: WebClient calls the Web API, Bolt
receives signed deliveries over HTTP (wsgiref) or Socket Mode, and the driver API is used
through WorkspaceClient.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.workspace import LocalWorkspace, WorkspaceClient, WorkspaceClientError

BUTTON_BLOCKS = [
    {
        "type": "actions",
        "block_id": "drill_actions",
        "elements": [
            {
                "type": "button",
                "action_id": "ack_button",
                "value": "ack",
                "text": {"type": "plain_text", "text": "Ack"},
            }
        ],
    }
]


class Recorder:
    """Thread-safe record of what the Bolt app received, with waiting."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self._cond = threading.Condition()

    def add(self, kind: str, data: dict[str, Any]) -> None:
        with self._cond:
            self.items.append((kind, data))
            self._cond.notify_all()

    def wait(
        self, kind: str, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for got_kind, data in self.items:
                    if got_kind == kind and match(data):
                        return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {kind} matching within {timeout}s; got {self.items!r}")
                self._cond.wait(remaining)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def build_app(
    ws: LocalWorkspace, received: Recorder, hold_bot_messages: threading.Event | None = None
) -> App:
    """A tiny Bolt app like the real bot: its WebClient points at the workspace."""
    client = WebClient(token=ws.bot_token, base_url=ws.api_url)
    app = App(
        client=client,
        signing_secret=ws.signing_secret,
        ignoring_self_events_enabled=False,
        process_before_response=hold_bot_messages is not None,
    )

    @app.command("/gameday")
    def gameday(ack: Any, command: dict[str, Any]) -> None:
        ack(f"starting {command['text']}")
        received.add("command", command)

    @app.event("message")
    def message(event: dict[str, Any], request: Any) -> None:
        if event.get("bot_id") and hold_bot_messages is not None:
            hold_bot_messages.wait(10)  # the app is still busy with the bot's own message until released
        retry = request.headers.get("x-slack-retry-num")
        received.add("message", {**event, "_retry": retry[0] if retry else None})

    @app.event("reaction_added")
    def reaction(event: dict[str, Any]) -> None:
        received.add("reaction", event)

    @app.action("ack_button")
    def ack_button(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        respond("acknowledged")
        received.add("action", body)

    return app


@pytest.fixture
def workspace() -> Iterator[LocalWorkspace]:
    ws = LocalWorkspace().start()
    yield ws
    ws.stop()


def serve_http(app: App) -> tuple[WSGIServer, str]:
    server = make_server("127.0.0.1", 0, SlackRequestHandler(app), handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/slack/events"


@pytest.fixture
def http_bot(workspace: LocalWorkspace) -> Iterator[tuple[LocalWorkspace, Recorder, str]]:
    received = Recorder()
    server, url = serve_http(build_app(workspace, received))
    workspace.request_url = url
    yield workspace, received, url
    server.shutdown()
    server.server_close()


def test_web_client_threads_and_strictly_increasing_ts_with_frozen_clock() -> None:
    with LocalWorkspace(clock=lambda: 1_700_000_000.0) as ws:
        client = WebClient(token="xoxb-local", base_url=ws.api_url)
        auth = client.auth_test()
        assert (auth["user_id"], auth["user"], auth["bot_id"]) == ("UBOT", "sce", "BBOT")

        parent = client.chat_postMessage(channel="C1", text="drill starts")
        reply = client.chat_postMessage(channel="C1", text="first reply", thread_ts=parent["ts"])
        second = client.chat_postMessage(channel="C1", text="second reply", thread_ts=parent["ts"])
        assert parent["ts"] == "1700000000.000000"
        assert [reply["ts"], second["ts"]] == ["1700000000.000001", "1700000000.000002"]
        assert reply["message"]["thread_ts"] == parent["ts"]

        replies = client.conversations_replies(channel="C1", ts=parent["ts"])
        assert [m["text"] for m in replies["messages"]] == ["drill starts", "first reply", "second reply"]
        assert replies["messages"][0]["reply_count"] == 2
        assert replies["has_more"] is False

        top = client.chat_postMessage(channel="C1", text="later")
        history = client.conversations_history(channel="C1")
        assert [m["ts"] for m in history["messages"]] == [top["ts"], parent["ts"]]

        client.chat_update(channel="C1", ts=parent["ts"], text="drill started")
        client.reactions_add(channel="C1", timestamp=parent["ts"], name="eyes")
        stored = ws.messages("C1", thread_ts=parent["ts"])[0]
        assert stored["text"] == "drill started"
        assert stored["reactions"] == [{"name": "eyes", "users": ["UBOT"], "count": 1}]

        assert client.users_info(user="U2")["user"]["name"] == "bob"
        with pytest.raises(SlackApiError) as missing:
            client.users_info(user="UNOPE")
        assert missing.value.response["error"] == "user_not_found"
        with pytest.raises(SlackApiError) as no_channel:
            client.chat_postMessage(channel="CNOPE", text="x")
        assert no_channel.value.response["error"] == "channel_not_found"

        explicit = ws.post("U1", "C1", "chosen ts", ts=1_700_000_500.0)
        assert explicit["ts"] == "1700000500.000000"
        after = client.chat_postMessage(channel="C1", text="after the chosen ts")
        assert after["ts"] == "1700000500.000001"

        client.chat_postEphemeral(channel="C1", user="U1", text="only alice")
        assert [e["text"] for e in ws.ephemerals("U1")] == ["only alice"]
        assert sum(1 for c in ws.calls if c.method == "chat.postMessage" and c.ok) == 5


def test_wrong_token_and_unknown_method_are_rejected(workspace: LocalWorkspace) -> None:
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=workspace.api_url).auth_test()
    assert wrong.value.response["error"] == "invalid_auth"

    raw = requests.post(
        workspace.api_url + "no.suchMethod", headers={"Authorization": "Bearer xoxb-local"}, timeout=5
    )
    assert raw.status_code == 200
    assert raw.json() == {"ok": False, "error": "unknown_method"}

    with pytest.raises(SlackApiError) as app_token_misused:
        WebClient(token="xoxb-local", base_url=workspace.api_url).apps_connections_open(
            app_token="xoxb-local"
        )
    assert app_token_misused.value.response["error"] == "not_allowed_token_type"
    assert [c.ok for c in workspace.calls] == [False, False, False]


def test_bolt_over_http_receives_slash_message_click_reaction(
    http_bot: tuple[LocalWorkspace, Recorder, str],
) -> None:
    ws, received, _ = http_bot
    driver = WorkspaceClient(ws.base_url)

    slash = driver.slash("U1", "/gameday", "phishing")
    assert slash["status"] == 200
    assert slash["text"] == "starting phishing"
    assert received.wait("command", lambda c: c["user_id"] == "U1")["text"] == "phishing"
    assert driver.ephemerals("U1")[-1]["text"] == "starting phishing"

    posted = driver.post("U2", "C1", "I see it", ts="1700000123.000100")
    assert posted["ts"] == "1700000123.000100"
    assert posted["status"] == 200
    event = received.wait("message", lambda e: e["ts"] == "1700000123.000100")
    assert (event["user"], event["text"], event["channel"]) == ("U2", "I see it", "C1")

    bot_msg = WebClient(token=ws.bot_token, base_url=ws.api_url).chat_postMessage(
        channel="C1", text="Ack the drill", blocks=BUTTON_BLOCKS
    )
    click = driver.click("UFAC", "C1", bot_msg["ts"], "ack_button", action_ts="1700000200.000300")
    assert click["status"] == 200
    body = received.wait("action", lambda b: b["user"]["id"] == "UFAC")
    assert body["actions"][0]["action_ts"] == "1700000200.000300"
    assert body["actions"][0]["value"] == "ack"
    assert body["actions"][0]["block_id"] == "drill_actions"
    assert body["message"]["ts"] == bot_msg["ts"]
    # respond() in the action handler goes to response_url and shows up as carol's ephemeral
    deadline = time.monotonic() + 5
    while not any(e["text"] == "acknowledged" for e in driver.ephemerals("UFAC")):
        assert time.monotonic() < deadline, driver.ephemerals("UFAC")
        time.sleep(0.02)

    reacted = driver.react("U1", "C1", "1700000123.000100", "white_check_mark")
    reaction = received.wait("reaction", lambda r: r["event_ts"] == reacted["event_ts"])
    assert reaction["item"] == {"type": "message", "channel": "C1", "ts": "1700000123.000100"}
    assert reaction["item_user"] == "U2"
    [stored] = [m for m in driver.messages("C1") if m["ts"] == "1700000123.000100"]
    assert stored["reactions"][0]["users"] == ["U1"]

    with pytest.raises(WorkspaceClientError) as missing:
        driver.click("U1", "C1", "1.000000", "ack_button")
    assert missing.value.status == 404

    with pytest.raises(WorkspaceClientError) as taken:
        driver.post("U1", "C1", "again", ts="1700000123.000100")
    assert taken.value.status == 409


def test_redelivery_carries_retry_headers(http_bot: tuple[LocalWorkspace, Recorder, str]) -> None:
    ws, received, _ = http_bot
    driver = WorkspaceClient(ws.base_url)
    posted = driver.post("U1", "C1", "retry me")
    assert driver.redeliver(posted["event_id"], retry_num=2)["status"] == 200
    retried = received.wait("message", lambda e: e["text"] == "retry me" and e["_retry"] == "2")
    assert retried["ts"] == posted["ts"]
    first = received.wait("message", lambda e: e["text"] == "retry me" and e["_retry"] is None)
    assert first["ts"] == posted["ts"]
    with pytest.raises(WorkspaceClientError):
        driver.redeliver("EvDOESNOTEXIST")


def test_delivery_signed_with_another_secret_is_rejected_by_bolt(
    http_bot: tuple[LocalWorkspace, Recorder, str],
) -> None:
    _, received, url = http_bot
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0LOCAL",
            "api_app_id": "A0LOCAL",
            "event_id": "EvFORGED",
            "event_time": int(time.time()),
            "event": {"type": "message", "channel": "C1", "user": "U1", "text": "forged", "ts": "1.000001"},
        }
    )
    timestamp = str(int(time.time()))
    signature = SignatureVerifier("not-the-secret").generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    response = requests.post(
        url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        },
        timeout=5,
    )
    assert response.status_code == 401
    assert not any(e.get("text") == "forged" for kind, e in received.items if kind == "message")


def test_bot_post_triggers_asynchronous_message_event(workspace: LocalWorkspace) -> None:
    received = Recorder()
    release = threading.Event()
    server, url = serve_http(build_app(workspace, received, hold_bot_messages=release))
    workspace.request_url = url
    try:
        client = WebClient(token=workspace.bot_token, base_url=workspace.api_url)
        posted = client.chat_postMessage(channel="C1", text="bot says hi")
        # the post came back while the app still holds the event it caused: Slack does not wait for apps
        assert not any(k == "message" and d["ts"] == posted["ts"] for k, d in list(received.items)), (
            "chat.postMessage waited for the app to handle its event"
        )
        release.set()
        event = received.wait("message", lambda e: e["ts"] == posted["ts"])
        assert (event["bot_id"], event["user"], event["text"]) == ("BBOT", "UBOT", "bot says hi")
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_bolt_over_socket_mode(workspace: LocalWorkspace) -> None:
    received = Recorder()
    app = build_app(workspace, received)
    handler = SocketModeHandler(app, app_token=workspace.app_token)
    handler.connect()
    try:
        deadline = time.monotonic() + 5
        while workspace.socket_clients == 0:
            assert time.monotonic() < deadline, "socket mode client never connected"
            time.sleep(0.02)
        driver = WorkspaceClient(workspace.base_url)

        slash = driver.slash("U2", "/gameday", "ransomware")
        assert slash["status"] == 200
        assert slash["text"] == "starting ransomware"
        assert received.wait("command", lambda c: c["user_id"] == "U2")["text"] == "ransomware"

        posted = driver.post("U1", "C1", "over the socket", ts="1700000300.000001")
        assert posted["status"] == 200
        event = received.wait("message", lambda e: e["ts"] == "1700000300.000001")
        assert event["text"] == "over the socket"

        bot_post = app.client.chat_postMessage(channel="C1", text="socket bot post")
        received.wait("message", lambda e: e["ts"] == bot_post["ts"] and e.get("bot_id") == "BBOT")
        found = driver.wait_for_message("C1", r"socket bot")
        assert found["ts"] == bot_post["ts"]
    finally:
        handler.close()

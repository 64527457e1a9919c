"""The bot's Web API client keeps its connections: many calls, few TCP connections, and everything the
SDK did on a fresh connection each time still holds: a 429's Retry-After is waited out, a 5xx is the
SDK's error, a kept connection the server dropped is replaced without losing or doubling the call, and a
server that is not there is an OSError counted by method.

The calls go to the local workspace over real HTTP, through a TCP relay that counts the connections
the client opens and can drop them all, as a Slack front end closing idle connections would.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.runtime.observability import REGISTRY
from bot.runtime.service import slack_client
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace


class Relay:
    """Forwards TCP connections from its own port to the workspace's, counting them."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.opened = 0
        self.live: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                inbound, _ = self.listener.accept()
            except OSError:
                return
            outbound = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self.opened += 1
                self.live += [inbound, outbound]
            for a, b in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def drop_all(self) -> None:
        """Close every connection, as a front end does with idle ones; the client learns of it later."""
        with self._lock:
            live, self.live = self.live, []
        for s in live:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.listener.close()
        self.drop_all()


@pytest.fixture
def relayed(workspace: LocalWorkspace) -> Iterator[tuple[LocalWorkspace, Relay]]:
    relay = Relay(workspace.port)
    yield workspace, relay
    relay.close()


def client_via(relay: Relay, workspace: LocalWorkspace) -> WebClient:
    url = workspace.api_url.replace(f":{workspace.port}/", f":{relay.port}/")
    return slack_client(Settings(slack_bot_token=workspace.bot_token, slack_api_url=url, slack_timeout=5.0))


def texts(workspace: LocalWorkspace) -> list[str]:
    return [m["text"] for m in workspace.messages("C1")]


def test_forty_calls_from_four_threads_share_at_most_four_connections(
    relayed: tuple[LocalWorkspace, Relay],
) -> None:
    workspace, relay = relayed
    client = client_via(relay, workspace)

    def post(who: int) -> None:
        for n in range(10):
            client.chat_postMessage(channel="C1", text=f"t{who}-{n}")

    threads = [threading.Thread(target=post, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(texts(workspace)) == sorted(f"t{w}-{n}" for w in range(4) for n in range(10))
    assert 1 <= relay.opened <= 4, relay.opened  # urllib opened one per call: 40


def test_a_kept_connection_the_server_dropped_is_replaced_and_the_call_made_once(
    relayed: tuple[LocalWorkspace, Relay],
) -> None:
    workspace, relay = relayed
    client = client_via(relay, workspace)
    for n in range(3):
        client.chat_postMessage(channel="C1", text=f"before {n}")
    assert relay.opened == 1
    relay.drop_all()
    time.sleep(0.05)
    for n in range(3):
        client.chat_postMessage(channel="C1", text=f"after {n}")
    assert texts(workspace) == [f"before {n}" for n in range(3)] + [f"after {n}" for n in range(3)]
    assert relay.opened == 2


def test_a_429_is_waited_out_and_a_500_is_the_sdks_error(
    relayed: tuple[LocalWorkspace, Relay], people: WorkspaceClient
) -> None:
    workspace, relay = relayed
    client = client_via(relay, workspace)
    people.fail_api("chat.postMessage", status=429, times=1, retry_after=1)
    began = time.monotonic()
    client.chat_postMessage(channel="C1", text="after the limit")
    assert time.monotonic() - began >= 0.9 and texts(workspace) == ["after the limit"]

    people.fail_api("chat.postMessage", status=500, times=1)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="lost")
    assert raised.value.response.status_code == 500
    assert texts(workspace) == ["after the limit"]
    # an answer that is Slack's error keeps the connection: one was opened for all three calls
    assert relay.opened == 1


def test_no_server_is_an_os_error_counted_by_method() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    client = slack_client(
        Settings(slack_bot_token="xoxb-x", slack_api_url=f"http://127.0.0.1:{port}/api/", slack_timeout=2.0)
    )

    def refused() -> float:
        value = REGISTRY.get_sample_value(
            "sce_slack_api_errors_total", {"method": "chat.postMessage", "error": "URLError"}
        )
        return value or 0.0

    before = refused()
    with pytest.raises(OSError):
        client.chat_postMessage(channel="C1", text="nobody there")
    assert refused() == before + 1

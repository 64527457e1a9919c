"""Game days on the in-memory store and a virtual clock, told by the real SlackAnnouncer to a local workspace
over HTTP: every message as Slack would receive it, in-process, without a bot process."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_sdk import WebClient

from bot.faults.simulated import SimulatedDriver
from bot.gameday.clock import VirtualClock
from bot.gameday.memory_store import MemoryStore
from bot.gameday.running.engine import Engine
from bot.gameday.running.poller import fire_due_timers
from bot.integrations.http_caller import RequestsCaller
from bot.slack.announcer import SlackAnnouncer
from bot.slack.pacing import ChannelPacer
from bot.workspace.server import LocalWorkspace

ROSTER = {"primary": "U1", "secondary": "U2"}
NAMESPACE = "chaos-lab"


def start_workspace() -> LocalWorkspace:
    return LocalWorkspace(
        users={"U1": "alice", "U2": "bob", "UFAC": "carol"}, channels={"C1": "gameday"}
    ).start()


class SlackGameDays:
    def __init__(self, workspace: LocalWorkspace) -> None:
        self.workspace = workspace
        self.clock = VirtualClock()
        self.store = MemoryStore()
        client = WebClient(token=workspace.bot_token, base_url=workspace.api_url)
        self.announcer = SlackAnnouncer(client, pacer=ChannelPacer(sleep=lambda _: None))
        self.engine = Engine(
            self.store,
            self.announcer,
            self.clock.now,
            SimulatedDriver(),
            frozenset({NAMESPACE}),
            http=RequestsCaller(timeout=2.0),
        )

    def start(self, scenario: dict[str, Any] | str) -> str:
        text = scenario if isinstance(scenario, str) else json.dumps(scenario)  # JSON is YAML
        outcome = self.engine.start(text, "C1", "UFAC", ROSTER)
        assert outcome.ok and outcome.gameday_id, outcome.message
        return outcome.gameday_id

    def advance(self, seconds: float) -> None:
        """Every step due in the next ``seconds`` fired, in 5 s strides."""
        end = self.clock.now() + seconds
        while self.clock.now() < end:
            self.clock.advance(min(5.0, end - self.clock.now()))
            fire_due_timers(self.store, self.engine, self.clock.now())

    def run_to_end(self, gameday_id: str, seconds: float) -> None:
        """Every step due in ``seconds`` fired, then the game day ended (its debrief posted)."""
        self.advance(seconds)
        assert self.engine.end(gameday_id, "UFAC").ok
        self.settle()

    def settle(self) -> None:
        """The timers due now fired (the end's debrief among them); the status line's last update sent."""
        fire_due_timers(self.store, self.engine, self.clock.now())
        self.announcer.status_line.close()

    def messages(self, gameday_id: str) -> list[dict[str, Any]]:
        """The kickoff and every reply in its thread, as the workspace holds them."""
        record = self.store.get(gameday_id)
        assert record and record.thread_ts
        return self.workspace.messages("C1", thread_ts=record.thread_ts)


def shown_texts(message: dict[str, Any]) -> list[str]:
    """A message's text and every text in its blocks (mrkdwn and plain_text alike)."""
    texts = [message.get("text") or ""]

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "text" and isinstance(item, str):
                    texts.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(message.get("blocks") or [])
    return texts


class Listener:
    """An HTTP server on 127.0.0.1 that answers 200 and keeps each request line it was sent."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                paths.append(self.path)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

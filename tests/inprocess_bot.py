"""`sce serve`'s Slack side in this process: the Bolt app behind its signed HTTP door on a free port, the
timers running, pointed at a local workspace. For tests whose point is not the process boundary."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot_process import (
    ROOT,
    SIGNING_SECRET,
    TEST_POSTS_PER_SECOND,
    TEST_STATUS_INTERVAL,
    TEST_STATUS_PER_MINUTE,
)
from slack_bolt.adapter.socket_mode import SocketModeHandler
from typer.testing import CliRunner

from bot.cli import cli
from bot.config import Settings
from bot.gameday.scenario.durations import parse_duration
from bot.gameday.timeline import Event
from bot.integrations.hooks import hooks_app
from bot.runtime.server import HttpServer, socket_mode_handler
from bot.runtime.service import Services, build_services
from bot.slack.app import create_app, slack_over_http
from bot.slack.debrief_pages import debrief_pages
from bot.workspace.server import LocalWorkspace

HOOK_SECRET = "entry-hook-secret"


@dataclass
class Bot:
    services: Services
    server: HttpServer
    env: dict[str, str] = field(default_factory=dict)
    socket: SocketModeHandler | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/slack/events"

    def sce(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Another `sce` command against the same database and scenarios, run in this process."""
        result = CliRunner().invoke(cli, list(args), env=self.env)
        return subprocess.CompletedProcess(["sce", *args], result.exit_code, result.stdout, result.stderr)

    def debrief_json(self, gameday: str = "latest") -> dict[str, Any]:
        """`sce debrief ID --format json` against this bot's database."""
        result = self.sce("debrief", gameday, "--format", "json")
        assert result.returncode == 0, result.stderr
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def stop(self) -> None:
        if self.socket is not None:
            # The SDK's close waits (up to its 3 s receive timeout) for the socket's recv to return; it says
            # it is closing at once, and the workspace's stop, next, closes its end, which ends that recv.
            threading.Thread(target=self.socket.close, name="socket-close", daemon=True).start()
        self.services.stop()
        self.server.stop()


def run_bot(
    ws: LocalWorkspace,
    database_url: str,
    socket_mode: bool = False,
    scenarios_dir: Path = ROOT / "scenarios",
    facilitators: frozenset[str] = frozenset(),
    rotations_dir: Path = ROOT / "rotations",
    slack_timeout: float | None = None,
    timer_retry: float | None = None,
    alerts_channel: str | None = None,
    prometheus_url: str | None = None,
    grafana: tuple[str, str | None] | None = None,
) -> Bot:
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token="xapp-local" if socket_mode else None,
        slack_api_url=ws.api_url,
        database_url=database_url,
        scenarios_dir=scenarios_dir,
        rotations_dir=rotations_dir,
        alert_webhook_secret=HOOK_SECRET,
        slack_posts_per_second=float(TEST_POSTS_PER_SECOND),
        status_interval=parse_duration(TEST_STATUS_INTERVAL),
        status_per_minute=float(TEST_STATUS_PER_MINUTE),
        facilitators=facilitators,
        alerts_channel=alerts_channel,
        prometheus_url=prometheus_url,
        grafana_url=grafana[0] if grafana else None,
        grafana_token=grafana[1] if grafana else None,
    )
    if slack_timeout is not None:
        settings = dataclasses.replace(settings, slack_timeout=slack_timeout)
    if timer_retry is not None:
        settings = dataclasses.replace(settings, timer_retry_seconds=timer_retry)
    services = build_services(settings)
    app = create_app(services)
    hooks = hooks_app(services.intake.handle, HOOK_SECRET, time.time, services.replay)
    pages = debrief_pages(services)
    server = HttpServer(slack_over_http(app, services), "127.0.0.1", 0, hooks=hooks, debriefs=pages)
    server.start()
    services.timers.start()
    socket = None
    if socket_mode:  # as `sce serve` does: Slack's payloads over the socket, the HTTP port for the rest
        socket = socket_mode_handler(app, "xapp-local")
        socket.connect()
    env = {
        "DATABASE_URL": database_url,
        "SCE_SCENARIOS_DIR": str(scenarios_dir),
        "SCE_ROTATIONS_DIR": str(rotations_dir),
    }
    return Bot(services, server, env, socket)


@contextmanager
def bot_on(
    ws: LocalWorkspace,
    tmp_path: Path,
    scenarios: Mapping[str, str] | None = None,
    scenarios_dir: Path | None = None,
    slack_timeout: float | None = None,
    socket_mode: bool = False,
    timer_retry: float | None = None,
    database_url: str | None = None,
    alerts_channel: str | None = None,
    prometheus_url: str | None = None,
    grafana: tuple[str, str | None] | None = None,
) -> Iterator[Bot]:
    """The bot on a SQLite file of the test's own (or on ``database_url``), Slack's requests from ``ws``
    sent to it (over HTTP, or over Socket Mode once it is connected with ``socket_mode``); with
    ``scenarios`` (id -> YAML text) it sees exactly those, with ``scenarios_dir`` that folder's (and the
    rotations in the folder beside it, as `BotProcess` does), else the shipped ones."""
    folder = scenarios_dir or ROOT / "scenarios"
    rotations = scenarios_dir.parent / "rotations" if scenarios_dir else ROOT / "rotations"
    if scenarios is not None:
        folder = tmp_path / "scenarios"
        folder.mkdir(exist_ok=True)
        for scenario_id, text in scenarios.items():
            (folder / f"{scenario_id}.yaml").write_text(text)
    running = run_bot(
        ws,
        database_url or f"sqlite:///{tmp_path / 'sce.db'}",
        scenarios_dir=folder,
        rotations_dir=rotations,
        slack_timeout=slack_timeout,
        socket_mode=socket_mode,
        timer_retry=timer_retry,
        alerts_channel=alerts_channel,
        prometheus_url=prometheus_url,
        grafana=grafana,
    )
    ws.request_url = None if socket_mode else f"{running.base}/slack/events"
    try:
        deadline = time.monotonic() + 30
        while socket_mode and ws.socket_clients < 1:
            if time.monotonic() > deadline:
                raise TimeoutError("the bot did not connect over Socket Mode")
            time.sleep(0.01)
        yield running
    finally:
        running.stop()


def events_of(bot: Bot, gameday: str, kind: str) -> list[Event]:
    """The game day's timeline events of one kind (``kind`` as written, e.g. "page_sent")."""
    return [e for e in bot.services.store.events(gameday) if e.kind.value == kind]

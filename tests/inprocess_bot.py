"""`sce serve`'s Slack side in this process: the Bolt app behind its signed HTTP door on a free port, the
timers running, pointed at a local workspace. For tests whose point is not the process boundary."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot_process import ROOT, SIGNING_SECRET, TEST_POSTS_PER_SECOND

from bot.config import Settings
from bot.gameday.timeline import Event
from bot.hooks import hooks_app
from bot.server import HttpServer
from bot.service import Services, build_services
from bot.slack.app import create_app, slack_over_http
from bot.slack.debrief_pages import debrief_pages
from bot.workspace.server import LocalWorkspace

HOOK_SECRET = "entry-hook-secret"


@dataclass
class Bot:
    services: Services
    server: HttpServer

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        self.services.stop()
        self.server.stop()


def run_bot(
    ws: LocalWorkspace, database_url: str, socket_mode: bool = False, scenarios_dir: Path = ROOT / "scenarios"
) -> Bot:
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token="xapp-local" if socket_mode else None,
        slack_api_url=ws.api_url,
        database_url=database_url,
        scenarios_dir=scenarios_dir,
        rotations_dir=ROOT / "rotations",
        alert_webhook_secret=HOOK_SECRET,
        slack_posts_per_second=float(TEST_POSTS_PER_SECOND),
    )
    services = build_services(settings)
    app = create_app(services)
    hooks = hooks_app(services.intake.handle, HOOK_SECRET, time.time, services.replay)
    pages = debrief_pages(services)
    server = HttpServer(slack_over_http(app, services), "127.0.0.1", 0, hooks=hooks, debriefs=pages)
    server.start()
    services.timers.start()
    return Bot(services, server)


@contextmanager
def bot_on(ws: LocalWorkspace, tmp_path: Path, scenarios: Mapping[str, str] | None = None) -> Iterator[Bot]:
    """The bot on a SQLite file of the test's own, Slack's requests from ``ws`` sent to it; with
    ``scenarios`` (id -> YAML text) it sees exactly those, else the shipped ones."""
    folder = ROOT / "scenarios"
    if scenarios is not None:
        folder = tmp_path / "scenarios"
        folder.mkdir(exist_ok=True)
        for scenario_id, text in scenarios.items():
            (folder / f"{scenario_id}.yaml").write_text(text)
    running = run_bot(ws, f"sqlite:///{tmp_path / 'sce.db'}", scenarios_dir=folder)
    ws.request_url = f"{running.base}/slack/events"
    try:
        yield running
    finally:
        running.stop()


def events_of(bot: Bot, gameday: str, kind: str) -> list[Event]:
    """The game day's timeline events of one kind (``kind`` as written, e.g. "page_sent")."""
    return [e for e in bot.services.store.events(gameday) if e.kind.value == kind]

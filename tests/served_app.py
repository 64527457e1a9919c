"""`sce serve`'s Bolt app in this process, on a port of its own, reached by a local workspace with signed
requests: the set-up the Slack-facing tests share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.gameday.clock import Clock
from bot.runtime.hook_routes import services_hooks
from bot.runtime.server import HttpServer
from bot.runtime.service import Services, build_services
from bot.slack.app import create_app, slack_over_http
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace


def local_settings(workspace: LocalWorkspace, tmp_path: Path, scenarios_dir: Path, **extra: Any) -> Settings:
    """Settings of a bot talking to ``workspace``, on a SQLite file of its own."""
    return Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret=workspace.signing_secret,
        slack_api_url=workspace.api_url,
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        scenarios_dir=scenarios_dir,
        rotations_dir=tmp_path / "none",
        **extra,
    )


@contextmanager
def served_app(
    workspace: LocalWorkspace, settings: Settings, clock: Clock | None = None, simulate_faults: bool = False
) -> Iterator[tuple[Services, WorkspaceClient]]:
    """The bot's services and a client acting as the workspace's people; everything stopped after. The
    server answers ``/hooks/...`` as `sce serve`'s does (the ticket tests post webhooks to it)."""
    services = build_services(settings, clock, simulate_faults=simulate_faults)
    server = HttpServer(
        slack_over_http(create_app(services), services), "127.0.0.1", 0, hooks=services_hooks(services)
    )
    server.start()
    workspace.request_url = f"http://127.0.0.1:{server.port}/slack/events"
    people = WorkspaceClient(workspace.base_url)
    try:
        yield services, people
    finally:
        people.close()
        server.stop()
        services.stop()

"""The App Home tab: running and scheduled game days, the latest result of each scenario and its trend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.gameday.engine import build_debrief_for
from bot.gameday.ports import GameDayRecord
from bot.gameday.state import fold
from bot.service import Services
from bot.slack import blocks
from bot.slack.render import render

OVER = ("completed", "aborted", "failed")


@dataclass(frozen=True)
class Running:
    record: GameDayRecord
    open_pages: int


@dataclass(frozen=True)
class Latest:
    scenario: str
    verdict: str
    mtta: float | None
    change: float | None  # MTTA change against the run before (negative: faster)
    runs: int


def latest_results(services: Services) -> list[Latest]:
    by_scenario: dict[str, list[GameDayRecord]] = {}
    for record in services.store.all():
        if record.status in OVER:
            by_scenario.setdefault(record.scenario_id, []).append(record)
    results = []
    for scenario_id, records in sorted(by_scenario.items()):
        recent = [build_debrief_for(r, services.store.events(r.id)) for r in records[-2:]]
        last, before = recent[-1], (recent[0] if len(recent) > 1 else None)
        mtta, previous = last.metrics.mtta_seconds, before.metrics.mtta_seconds if before else None
        change = mtta - previous if mtta is not None and previous is not None else None
        results.append(Latest(scenario_id, last.verdict, mtta, change, len(records)))
    return results


def home_view(services: Services) -> dict[str, Any]:
    running = [
        Running(r, len(fold(services.store.events(r.id)).open_pages())) for r in services.store.active()
    ]
    text = render(
        "home", running=running, scheduled=services.schedules.active(), latest=latest_results(services)
    )
    return {"type": "home", "blocks": [blocks.section(part) for part in text.split("\n\n") if part.strip()]}


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            client.views_publish(user_id=event["user"], view=home_view(services))

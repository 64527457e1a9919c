"""The App Home tab: running and scheduled game days, the latest result of each scenario and its trend,
only of the channels the person viewing it is in (admins: every channel)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.gameday.ports import GameDayRecord
from bot.gameday.running.engine import build_debrief_for
from bot.gameday.state import fold
from bot.runtime.service import Services
from bot.slack import blocks
from bot.slack.fit import VIEW_BLOCKS
from bot.slack.halt_desk import HaltDesk
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


def latest_results(services: Services, sees: Callable[[str], bool]) -> list[Latest]:
    by_scenario: dict[str, list[GameDayRecord]] = {}
    for record in services.store.all():
        if record.status in OVER and sees(record.channel):
            by_scenario.setdefault(record.scenario_id, []).append(record)
    results = []
    for scenario_id, records in sorted(by_scenario.items()):
        recent = [build_debrief_for(r, services.store.events(r.id)) for r in records[-2:]]
        last, before = recent[-1], (recent[0] if len(recent) > 1 else None)
        mtta, previous = last.metrics.mtta_seconds, before.metrics.mtta_seconds if before else None
        change = mtta - previous if mtta is not None and previous is not None else None
        results.append(Latest(scenario_id, last.verdict, mtta, change, len(records)))
    return results


def channels_seen_by(services: Services, user: str) -> Callable[[str], bool]:
    """Whether ``user`` may see a channel's game days, Slack asked once per channel per view."""
    answers: dict[str, bool] = {}

    def sees(channel: str) -> bool:
        if channel not in answers:
            answers[channel] = services.members.may_see(channel, user)
        return answers[channel]

    return sees


def home_view(services: Services, user: str) -> dict[str, Any]:
    sees = channels_seen_by(services, user)
    running = [
        Running(r, len(fold(services.store.events(r.id)).open_pages()))
        for r in services.store.active()
        if sees(r.channel)
    ]
    scheduled = [s for s in services.schedules.active() if sees(s.channel)]
    text = render("home", running=running, scheduled=scheduled, latest=latest_results(services, sees))
    parts = [block for part in text.split("\n\n") if part.strip() for block in blocks.sections(part)]
    halted = HaltDesk(services).status_line()
    if halted:  # the first thing anyone sees while the lever is pulled
        parts.insert(0, blocks.section(halted))
    if len(parts) > VIEW_BLOCKS:  # a view holds 100 blocks
        parts = [*parts[: VIEW_BLOCKS - 1], blocks.section(f"… and {len(parts) - VIEW_BLOCKS + 1} more")]
    return {"type": "home", "blocks": parts}


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            client.views_publish(user_id=event["user"], view=home_view(services, event["user"]))

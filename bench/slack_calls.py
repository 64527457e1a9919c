"""Slack calls: Web API calls one `pager-stress` game day makes, and their pace against Slack's limits.

The demo's set-up (bot/workspace/demo.py): the real bot (build_services, the Bolt app behind waitress)
against the workspace on a clock 40× faster, with the scripted responders; the workspace records every
Web API call with its game-day time, so per-minute rates are in the game day's own minutes.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.databases import sqlite_url
from bench.procs import BOT_TOKEN, SIGNING_SECRET, scenarios_dir
from bench.results import Row, Section
from bot.config import Settings
from bot.gameday.clock import ScaledClock
from bot.runtime.server import HttpServer
from bot.runtime.service import build_services
from bot.slack.app import create_app, slack_over_http
from bot.workspace.client import WorkspaceClient
from bot.workspace.responders import Responders, load_script
from bot.workspace.server import LocalWorkspace

SPEED, QUICK_SPEED = 40.0, 120.0  # the demo's pace; quick mode plays the same script faster
CHANNEL = "C1"
ROLES = {"primary": "U1", "secondary": "U2", "facilitator": "UFAC"}
POST_LIMIT = 60.0  # chat.postMessage: about 1 per second per channel
UPDATE_LIMIT = 50.0  # chat.update: Tier 3, 50+ per minute
CALLS_RATIO = 1.5  # Web API calls per message posted


def peak_per_minute(times: list[float]) -> float:
    """The most calls in any 60-second window."""
    ordered, best, low = sorted(times), 0, 0
    for high, at in enumerate(ordered):
        while at - ordered[low] > 60.0:
            low += 1
        best = max(best, high - low + 1)
    return float(best)


def settled_calls(people: WorkspaceClient, quiet: float = 1.0, limit: float = 10.0) -> list[dict[str, Any]]:
    """The recorded calls once none has come for ``quiet`` seconds (the last posts may trail the end)."""
    deadline = time.monotonic() + limit
    calls = people.calls()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        latest = people.calls()
        if len(latest) == len(calls):
            break
        calls = latest
    return calls


def play(run_dir: Path, speed: float) -> tuple[list[dict[str, Any]], float, str]:
    """Run one scripted game day; (the Web API calls, its length in game-day seconds, its status)."""
    clock = ScaledClock(speed)
    workspace = LocalWorkspace(
        signing_secret=SIGNING_SECRET,
        bot_token=BOT_TOKEN,
        clock=clock.now,
        users={"U1": "alice", "U2": "bob", "UFAC": "carol"},
        channels={CHANNEL: "gameday"},
    ).start()
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=workspace.api_url,
        database_url=sqlite_url(run_dir, "slack-calls"),
        scenarios_dir=scenarios_dir(run_dir),
    )
    services = build_services(settings, clock)
    server = HttpServer(slack_over_http(create_app(services), services), "127.0.0.1", 0)
    server.start()
    workspace.request_url = f"http://127.0.0.1:{server.port}/slack/events"
    services.timers.start()
    people = WorkspaceClient(workspace.base_url)
    script = load_script("pager-stress")
    assert script is not None
    responders: Responders | None = None
    try:
        people.slash(
            "UFAC", "/sce", "start pager-stress oncall=<@U1|alice> secondary=<@U2|bob>", channel=CHANNEL
        )
        thread_ts = people.wait_for_message(CHANNEL, r"\[GAME DAY\]", timeout=30)["ts"]
        responders = Responders(people, clock, CHANNEL, thread_ts, script, ROLES)
        responders.start()
        deadline = time.monotonic() + 120
        record = None
        while time.monotonic() < deadline:
            gameday = services.store.find_by_thread(CHANNEL, thread_ts)
            record = services.store.get(gameday) if gameday else None
            if record is not None and record.status in ("completed", "aborted", "failed"):
                break
            time.sleep(0.1)
        calls = settled_calls(people)
        events = services.store.events(record.id) if record else []
        length = events[-1].at - events[0].at if events else 0.0
        return calls, length, record.status if record else "not started"
    finally:
        if responders:
            responders.stop()
        services.stop()
        server.stop()
        workspace.stop()
        people.close()


def run(run_dir: Path, quick: bool) -> Section:
    section = Section(
        "Slack calls", "Slack's rate limits (chat.postMessage ~1/s per channel, chat.update Tier 3 ~50/min)"
    )
    speed = QUICK_SPEED if quick else SPEED
    calls, length, status = play(run_dir, speed)
    methods = Counter(str(c["method"]) for c in calls)
    times: dict[str, list[float]] = defaultdict(list)
    for call in calls:
        times[str(call["method"])].append(float(call["time"]))
    posts = methods["chat.postMessage"]
    minutes = length / 60 if length else 1.0
    section.add(
        Row(
            "Web API calls per game day (baseline: messages posted)",
            len(calls),
            "calls",
            posts,
            f"ratio ≤ {CALLS_RATIO:g}",
            len(calls) <= CALLS_RATIO * posts,
        )
    )
    section.add(
        Row(
            "chat.update per game day (baseline: messages posted)",
            methods["chat.update"],
            "calls",
            posts,
            "",
            None,
        )
    )
    post_peak = peak_per_minute(times["chat.postMessage"])
    update_peak = peak_per_minute(times["chat.update"])
    section.add(
        Row(
            "chat.postMessage, peak per minute (one channel)",
            post_peak,
            "/min",
            POST_LIMIT,
            "under the limit",
            post_peak < POST_LIMIT,
        )
    )
    section.add(
        Row(
            "chat.update, peak per minute",
            update_peak,
            "/min",
            UPDATE_LIMIT,
            "under the limit",
            update_peak < UPDATE_LIMIT,
        )
    )
    section.add(Row("all calls, mean per minute", len(calls) / minutes, "/min", None, "", None))
    section.notes.append(
        f"One scripted `pager-stress` game day ({status}, {length / 60:.1f} game-day minutes at "
        f"{speed:g}× speed). "
        "Calls by method: " + ", ".join(f"{m} {n}" for m, n in methods.most_common()) + "."
    )
    return section

"""Acknowledgement latency: a signed `/sce` command sent to HTTP 200, with many game days running.

The bot runs `pager-stress` in N channels while thread replies arrive at Slack's per-workspace delivery
cap; the same commands and the same trickle then go to the bare Bolt app, with the bot stopped.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path

from bench.databases import sqlite_url
from bench.fleet import channels, start_gamedays
from bench.load import SLACK_EVENTS_PER_SECOND, Trickle
from bench.procs import SIGNING_SECRET, Proc, free_port, start_bare, start_sce, start_workspace
from bench.results import Row, Section
from bench.slack_http import SignedClient, slash_form
from bench.stats import percentile
from bot.workspace.client import WorkspaceClient

COMMANDS = {"status": "status", "note": "note bench: the runbook step is missing"}


@dataclass(frozen=True)
class Config:
    gamedays: int
    requests: int
    gap: float = 0.01


# 1,000 commands of each kind: a p99 is then the 10th slowest, not the 3rd (one hiccup of the machine)
FULL, QUICK = Config(gamedays=50, requests=1000), Config(gamedays=3, requests=15)


def latencies(
    proc: Proc, threads: dict[str, str], text: str, config: Config, respond: str
) -> tuple[list[float], int]:
    """Seconds from send to answer for ``config.requests`` commands, round-robin over the channels."""
    client = SignedClient(proc.events_url, SIGNING_SECRET)
    seconds: list[float] = []
    failed = 0
    try:
        for channel in itertools.islice(itertools.cycle(threads), config.requests):
            status, elapsed = client.send("slash_commands", slash_form("UFAC", channel, text, respond))
            seconds.append(elapsed)
            failed += status != 200
            time.sleep(config.gap)
    finally:
        client.close()
    return seconds, failed


def measure(
    proc: Proc, threads: dict[str, str], config: Config, respond: str
) -> dict[str, tuple[list[float], int]]:
    with Trickle(SignedClient(proc.events_url, SIGNING_SECRET), threads):
        latencies(proc, threads, "help", Config(0, 5), respond)  # warm-up, not counted
        return {name: latencies(proc, threads, text, config, respond) for name, text in COMMANDS.items()}


def run(run_dir: Path, quick: bool) -> Section:
    config = QUICK if quick else FULL
    section = Section(
        "Acknowledgement latency",
        "bare Bolt app that only acks (same Bolt settings, same waitress server)",
    )
    port = free_port()
    workspace, base = start_workspace(
        run_dir, "ack-workspace", config.gamedays, [f"http://127.0.0.1:{port}/slack/events"]
    )
    respond = f"{base}/_respond/unused"
    try:
        bot = start_sce(run_dir, "ack-sce", f"{base}/api/", sqlite_url(run_dir, "ack"), port)
        try:
            with WorkspaceClient(base) as people:
                threads = start_gamedays(people, "pager-stress", channels(config.gamedays))
            ours = measure(bot, threads, config, respond)
        finally:
            bot.stop()
        bare = start_bare(run_dir, "ack-bare", f"{base}/api/")
        try:
            floor = measure(bare, threads, config, respond)
        finally:
            bare.stop()
    finally:
        workspace.stop()
    floor_all = [s for seconds, _ in floor.values() for s in seconds]
    for name, (seconds, failed) in ours.items():
        for q in (50, 99):
            value, base_value = percentile(seconds, q) * 1000, percentile(floor_all, q) * 1000
            ceiling = 1.1 if q == 99 else 1.5  # p99: within 1.1x bare Bolt, outbox or not
            ok = value <= ceiling * base_value and value < 3000 and failed == 0
            target = f"ratio ≤ {ceiling:g}" + ("; ≪ 3 s" if q == 99 else "")
            section.add(Row(f"/sce {name} p{q}", value, "ms", base_value, target, ok))
        if failed:
            section.notes.append(f"/sce {name}: {failed} of {len(seconds)} answers were not HTTP 200.")
    section.notes.append(
        f"{config.gamedays} `pager-stress` game days running (SQLite), thread replies arriving at "
        f"{SLACK_EVENTS_PER_SECOND:.1f}/s (Slack's 30,000 events/hour cap); {config.requests} commands "
        f"of each kind, one at a time {config.gap * 1000:.0f} ms apart. `/sce status` reads the timeline "
        "and builds the debrief before acking; `/sce note` writes an event in a locked transaction "
        "before acking (a note alone leaves the status message as it is). The baseline is the bare "
        "app's answer to the same commands under the "
        "same trickle (all of its answers pooled)."
    )
    return section

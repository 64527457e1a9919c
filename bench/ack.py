"""Acknowledgement latency: a signed `/sce` command sent to HTTP 200, with many game days running.

The bot runs `pager-stress` in N channels while thread replies arrive at Slack's per-workspace delivery
cap; the same commands and the same trickle then go to the bare Bolt app, with the bot stopped. A
command's answer is timed too: the ack's own, or the reply through its `response_url` after an empty
ack.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.answers import Answers
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


@dataclass
class Timings:
    """One kind of command: seconds to its ack, seconds to its answer (in the ack, or following it)."""

    acks: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    in_ack: int = 0
    unanswered: int = 0
    failed: int = 0


def _has_text(body: bytes) -> bool:
    try:
        answer = json.loads(body) if body else None
    except ValueError:
        return bool(body.strip())
    return bool(answer.get("text") or answer.get("blocks")) if isinstance(answer, dict) else bool(answer)


def latencies(proc: Proc, threads: dict[str, str], text: str, config: Config, answers: Answers) -> Timings:
    """``config.requests`` commands round-robin over the channels, one at a time."""
    client = SignedClient(proc.events_url, SIGNING_SECRET)
    timings = Timings()
    following: dict[str, float] = {}  # response_url key -> when its command was sent
    try:
        for n, channel in enumerate(itertools.islice(itertools.cycle(threads), config.requests)):
            key = f"{text.split()[0]}-{n}-{time.monotonic_ns()}"
            sent = time.perf_counter()
            status, elapsed, body = client.send_reading(
                "slash_commands", slash_form("UFAC", channel, text, answers.url(key))
            )
            timings.acks.append(elapsed)
            timings.failed += status != 200
            if _has_text(body):
                timings.in_ack += 1
                timings.answers.append(elapsed)
            else:
                following[key] = sent
            time.sleep(config.gap)
    finally:
        client.close()
    answers.wait_for(list(following), 10.0)
    for key, sent in following.items():
        if key in answers.arrived:
            timings.answers.append(answers.arrived[key] - sent)
        else:
            timings.unanswered += 1
    return timings


def measure(proc: Proc, threads: dict[str, str], config: Config, answers: Answers) -> dict[str, Timings]:
    with Trickle(SignedClient(proc.events_url, SIGNING_SECRET), threads):
        latencies(proc, threads, "help", Config(0, 5), answers)  # warm-up, not counted
        return {name: latencies(proc, threads, text, config, answers) for name, text in COMMANDS.items()}


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
    try:
        with Answers() as answers:
            bot = start_sce(run_dir, "ack-sce", f"{base}/api/", sqlite_url(run_dir, "ack"), port)
            try:
                with WorkspaceClient(base) as people:
                    threads = start_gamedays(people, "pager-stress", channels(config.gamedays))
                ours = measure(bot, threads, config, answers)
            finally:
                bot.stop()
            bare = start_bare(run_dir, "ack-bare", f"{base}/api/")
            try:
                floor = measure(bare, threads, config, answers)
            finally:
                bare.stop()
    finally:
        workspace.stop()
    floor_all = [s for timings in floor.values() for s in timings.acks]
    for name, timings in ours.items():
        for q in (50, 99):
            value, base_value = percentile(timings.acks, q) * 1000, percentile(floor_all, q) * 1000
            ceiling = 1.1 if q == 99 else 1.5  # p99: within 1.1x bare Bolt, outbox or not
            ok = value <= ceiling * base_value and value < 3000 and timings.failed == 0
            target = f"ratio ≤ {ceiling:g}" + ("; ≪ 3 s" if q == 99 else "")
            section.add(Row(f"/sce {name} p{q}", value, "ms", base_value, target, ok))
        answered = percentile(timings.answers, 99) * 1000 if timings.answers else None
        ok = answered is not None and answered < 1000 and timings.unanswered == 0
        base_p99 = percentile(floor_all, 99) * 1000
        section.add(Row(f"/sce {name} answered p99", answered, "ms", base_p99, "< 1 s, none lost", ok))
        section.notes.append(
            f"/sce {name}: {timings.in_ack} of {len(timings.acks)} answered in the ack, the others "
            f"through the response_url after an empty ack; {timings.unanswered} never answered, "
            f"{timings.failed} not HTTP 200."
        )
    section.notes.append(
        f"{config.gamedays} `pager-stress` game days running (SQLite), thread replies arriving at "
        f"{SLACK_EVENTS_PER_SECOND:.1f}/s (Slack's 30,000 events/hour cap); {config.requests} commands "
        f"of each kind, one at a time {config.gap * 1000:.0f} ms apart. `/sce status` reads the timeline "
        "and builds the debrief; `/sce note` writes an event in a locked transaction (a note alone "
        "leaves the status message as it is). An answer ready within 4 ms goes out in the ack, a later "
        "one after an empty ack (Bolt looks for the ack every 10 ms). 'Answered' is the time from "
        "sending to the answer, in whichever way it came. The baseline is the bare app's ack of the "
        "same commands under the same trickle (all of its acks pooled)."
    )
    return section

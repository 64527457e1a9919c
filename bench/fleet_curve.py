"""How cost grows with running game days: one `sce serve` (SQLite) whose fleet grows to 1, 10, 100 and
500 `pager-stress` game days; at each size its resident memory, and the ack and answer of `/sce status`
and `/sce note` under the thread-reply trickle of `bench.ack`. The bare Bolt app answers the same
commands under the same trickle once, after the bot has stopped: its ack is the line every size is set
against.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bench import ack
from bench.answers import Answers
from bench.databases import sqlite_url
from bench.fleet import channels, start_gamedays
from bench.memory import first_command, wait_for_pages
from bench.procs import free_port, start_bare, start_sce, start_workspace
from bench.results import Curve, Row, Section
from bench.stats import percentile
from bot.workspace.client import WorkspaceClient

RSS_PER_GAMEDAY_KB = 100.0
ACK_RATIO = 1.1


@dataclass(frozen=True)
class Config:
    sizes: tuple[int, ...]
    requests: int  # commands of each kind at each size
    settle: float


FULL = Config(sizes=(1, 10, 100, 500), requests=300, settle=3.0)
QUICK = Config(sizes=(1, 3), requests=10, settle=0.3)


def run(run_dir: Path, quick: bool) -> Section:
    config = QUICK if quick else FULL
    section = Section(
        "Growth with running game days",
        "bare Bolt app that only acks, under the same trickle, measured once (it keeps no game days)",
    )
    port, largest = free_port(), max(config.sizes)
    workspace, base = start_workspace(
        run_dir, "curve-workspace", largest, [f"http://127.0.0.1:{port}/slack/events"]
    )
    rss: list[float | None] = []
    p99: dict[str, list[float | None]] = {name: [] for name in ack.COMMANDS}
    answered: dict[str, list[float | None]] = {name: [] for name in ack.COMMANDS}
    threads: dict[str, str] = {}
    try:
        with Answers() as answers:
            bot = start_sce(run_dir, "curve-sce", f"{base}/api/", sqlite_url(run_dir, "curve"), port)
            try:
                first_command(bot, answers.url("warm-up"))
                with WorkspaceClient(base) as people:
                    for size in config.sizes:
                        new = channels(size)[len(threads) :]
                        started = start_gamedays(people, "pager-stress", new, timeout=600)
                        wait_for_pages(people, started, timeout=600)
                        threads |= started
                        time.sleep(config.settle)
                        rss.append(bot.rss_mb())
                        timings = ack.measure(bot, threads, ack.Config(size, config.requests), answers)
                        for name, t in timings.items():
                            p99[name].append(percentile(t.acks, 99) * 1000)
                            answered[name].append(percentile(t.answers, 99) * 1000 if t.answers else None)
            finally:
                bot.stop()
            bare = start_bare(run_dir, "curve-bare", f"{base}/api/")
            try:
                first_command(bare, answers.url("warm-up-bare"))
                bare_rss = bare.rss_mb()
                floor = ack.measure(bare, threads, ack.Config(largest, config.requests), answers)
            finally:
                bare.stop()
    finally:
        workspace.stop()
    floor_p99 = percentile([s for t in floor.values() for s in t.acks], 99) * 1000
    sizes = list(config.sizes)
    section.curves.append(
        Curve(
            "ack-by-gamedays",
            "Slash-command ack p99 against running game days",
            "running game days",
            "ms",
            sizes,
            {
                **{f"/sce {name} ack p99": values for name, values in p99.items()},
                **{f"/sce {name} answered p99": values for name, values in answered.items()},
                "bare Bolt ack p99": [floor_p99] * len(sizes),
            },
        )
    )
    section.curves.append(
        Curve(
            "rss-by-gamedays",
            "Resident memory against running game days",
            "running game days",
            "MB",
            sizes,
            {"sce serve RSS": rss, "bare Bolt app RSS": [bare_rss] * len(sizes)},
        )
    )
    for name, values in p99.items():
        last = values[-1] or 0.0
        target = f"ratio ≤ {ACK_RATIO:g} at 500"
        met = last <= ACK_RATIO * floor_p99 if sizes[-1] >= 500 else None
        section.add(
            Row(f"/sce {name} ack p99 at {sizes[-1]:,} game days", last, "ms", floor_p99, target, met)
        )
    first, last = rss[0] or 0.0, rss[-1] or 0.0
    per_gameday_kb = (last - first) * 1024 / (sizes[-1] - sizes[0])
    section.add(
        Row(
            f"RSS growth per running game day ({sizes[0]} to {sizes[-1]:,})",
            per_gameday_kb,
            "KB",
            None,
            f"< {RSS_PER_GAMEDAY_KB:g} KB",
            per_gameday_kb < RSS_PER_GAMEDAY_KB if sizes[-1] >= 500 else None,
        )
    )
    section.notes.append(
        f"At each size, {config.requests} commands of each kind, one at a time 10 ms apart, with thread "
        f"replies arriving at Slack's cap over every running game day; RSS (VmRSS) once the new game days' "
        f"kickoffs and first pages are out and the bot settled {config.settle:g} s. SQLite."
    )
    return section

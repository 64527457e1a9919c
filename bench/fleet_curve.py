"""How cost grows with running game days: `sce serve` whose fleet grows to 1, 10, 100 and 500
`pager-stress` game days, on SQLite, on PostgreSQL, and on PostgreSQL with a second replica sharing the
work; at each size resident memory, Slack Web API calls per minute, and the ack (p50, p99) and answer
(p99) of `/sce status` and `/sce note` under the thread-reply trickle of `bench.ack`. The bare Bolt app
answers the same commands under the same trickle once, after the bots have stopped: its ack is the line
every size is set against.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import ack
from bench.answers import Answers
from bench.databases import deployments
from bench.fleet import channels, start_gamedays
from bench.memory import first_command, wait_for_pages
from bench.procs import Proc, free_port, start_bare, start_sce, start_workspace
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


@dataclass
class Fleet:
    """One backend's figures, a value per size."""

    label: str
    rss: list[float | None] = field(default_factory=list)
    calls_per_minute: list[float | None] = field(default_factory=list)
    p50: dict[str, list[float | None]] = field(default_factory=dict)
    p99: dict[str, list[float | None]] = field(default_factory=dict)
    answered: dict[str, list[float | None]] = field(default_factory=dict)

    def add(self, timings: dict[str, ack.Timings]) -> None:
        for name, t in timings.items():
            self.p50.setdefault(name, []).append(percentile(t.acks, 50) * 1000)
            self.p99.setdefault(name, []).append(percentile(t.acks, 99) * 1000)
            self.answered.setdefault(name, []).append(percentile(t.answers, 99) * 1000 if t.answers else None)


def grow(
    run_dir: Path, label: str, database_url: str, replicas: int, config: Config, answers: Answers
) -> tuple[Fleet, dict[str, str]]:
    """One backend: its fleet grown size by size, measured at each; returns the figures and the threads."""
    fleet, largest = Fleet(label), max(config.sizes)
    name = label.split(",")[0].lower().replace(" ", "-") + f"-{replicas}"
    port = free_port()
    workspace, base = start_workspace(
        run_dir, f"curve-{name}-workspace", largest, [f"http://127.0.0.1:{port}/slack/events"]
    )
    threads: dict[str, str] = {}
    bots: list[Proc] = []
    try:
        bots.append(start_sce(run_dir, f"curve-{name}-sce0", f"{base}/api/", database_url, port))
        for i in range(1, replicas):  # it takes no Slack traffic; it shares the timers and the outbox
            bots.append(start_sce(run_dir, f"curve-{name}-sce{i}", f"{base}/api/", database_url))
        first_command(bots[0], answers.url(f"warm-up-{name}"))
        with WorkspaceClient(base) as people:
            for size in config.sizes:
                new = channels(size)[len(threads) :]
                started = start_gamedays(people, "pager-stress", new, timeout=600)
                wait_for_pages(people, started, timeout=600)
                threads |= started
                time.sleep(config.settle)
                fleet.rss.append(sum(bot.rss_mb() for bot in bots))
                before, began = len(people.calls()), time.monotonic()
                fleet.add(ack.measure(bots[0], threads, ack.Config(size, config.requests), answers))
                minutes = (time.monotonic() - began) / 60
                fleet.calls_per_minute.append((len(people.calls()) - before) / minutes)
    finally:
        for bot in bots:
            bot.stop()
        workspace.stop()
    return fleet, threads


def run(run_dir: Path, quick: bool, postgres_url: str | None) -> Section:
    config = QUICK if quick else FULL
    section = Section(
        "Growth with running game days",
        "bare Bolt app that only acks, under the same trickle, measured once (it keeps no game days)",
    )
    backends = deployments(run_dir, postgres_url, "curve", section.notes)
    fleets: list[Fleet] = []
    with Answers() as answers:
        for label, url, replicas in backends:
            fleet, threads = grow(run_dir, label, url, replicas, config, answers)
            fleets.append(fleet)
        workspace, base = start_workspace(run_dir, "curve-bare-workspace", max(config.sizes), [])
        try:
            bare = start_bare(run_dir, "curve-bare", f"{base}/api/")
            try:
                first_command(bare, answers.url("warm-up-bare"))
                bare_rss = bare.rss_mb()
                floor = ack.measure(bare, threads, ack.Config(len(threads), config.requests), answers)
            finally:
                bare.stop()
        finally:
            workspace.stop()
    floor_acks = [s for t in floor.values() for s in t.acks]
    floor_p50, floor_p99 = percentile(floor_acks, 50) * 1000, percentile(floor_acks, 99) * 1000
    sizes = list(config.sizes)
    section.curves += curves(fleets, sizes, floor_p50, floor_p99, bare_rss)
    for fleet in fleets:
        rows(section, fleet, sizes, floor_p99)
    section.notes.append(
        f"At each size, {config.requests} commands of each kind, one at a time 10 ms apart, to the first "
        "replica, with thread replies arriving at Slack's cap over every running game day; RSS (VmRSS, "
        f"of every replica together) once the new game days' kickoffs and first pages are out and the "
        f"bots settled {config.settle:g} s; Slack calls per minute over the commands' window."
    )
    return section


def curves(fleets: list[Fleet], sizes: list[int], p50: float, p99: float, bare_rss: float) -> list[Curve]:
    flat = [p50] * len(sizes), [p99] * len(sizes)
    return [
        Curve(
            "ack-p99-by-gamedays",
            "Slash-command ack p99 against running game days",
            "running game days",
            "ms",
            sizes,
            {
                **{f"/sce {n} ({f.label})": v for f in fleets for n, v in f.p99.items()},
                "bare Bolt ack p99": flat[1],
            },
        ),
        Curve(
            "ack-p50-by-gamedays",
            "Slash-command ack p50 against running game days",
            "running game days",
            "ms",
            sizes,
            {
                **{f"/sce {n} ({f.label})": v for f in fleets for n, v in f.p50.items()},
                "bare Bolt ack p50": flat[0],
            },
        ),
        Curve(
            "answer-p99-by-gamedays",
            "Slash-command answer p99 (in the ack or after it) against running game days",
            "running game days",
            "ms",
            sizes,
            {
                **{f"/sce {n} ({f.label})": v for f in fleets for n, v in f.answered.items()},
                "bare Bolt ack p99": flat[1],
            },
        ),
        Curve(
            "rss-by-gamedays",
            "Resident memory against running game days",
            "running game days",
            "MB",
            sizes,
            {**{f"sce serve ({f.label})": f.rss for f in fleets}, "bare Bolt app": [bare_rss] * len(sizes)},
        ),
        Curve(
            "slack-calls-by-gamedays",
            "Slack Web API calls per minute against running game days",
            "running game days",
            "/min",
            sizes,
            {f"sce serve ({f.label})": f.calls_per_minute for f in fleets},
        ),
    ]


def rows(section: Section, fleet: Fleet, sizes: list[int], floor_p99: float) -> None:
    at = f"{sizes[-1]:,} game days, {fleet.label}"
    judged = sizes[-1] >= 500
    for name, values in fleet.p99.items():
        last = values[-1] or 0.0
        met = last <= ACK_RATIO * floor_p99 if judged else None
        section.add(
            Row(f"/sce {name} ack p99 at {at}", last, "ms", floor_p99, f"ratio ≤ {ACK_RATIO:g} at 500", met)
        )
    first, last = fleet.rss[0] or 0.0, fleet.rss[-1] or 0.0
    per_gameday_kb = (last - first) * 1024 / (sizes[-1] - sizes[0])
    met = per_gameday_kb < RSS_PER_GAMEDAY_KB if judged else None
    section.add(
        Row(
            f"RSS growth per running game day ({sizes[0]} to {at})",
            per_gameday_kb,
            "KB",
            None,
            f"< {RSS_PER_GAMEDAY_KB:g} KB",
            met,
        )
    )

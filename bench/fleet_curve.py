"""How cost grows with running game days: `sce serve` whose fleet grows to 1, 10, 100 and 500
`pager-stress` game days, on SQLite, on PostgreSQL, and on PostgreSQL with a second replica sharing the
work; at each size resident memory, Slack Web API calls per minute, the ack (p50, p99) and answer (p99)
of `/sce status` and `/sce note` under the thread-reply trickle of `bench.ack`, the lateness of a few
probe game days' `say` steps (`bench.timers`), and a burst of thread replies persisted (`bench.ingest`).
The bare Bolt app answers the same commands under the same trickle, and counts the same burst, once,
after the bots have stopped; APScheduler runs jobs at the probes' due times: each is the line every
size is set against.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

from bench import ack, ingest, timers
from bench.answers import Answers
from bench.databases import count, deployments, reader
from bench.fleet import channels, start_gamedays, write_scenario
from bench.load import burst
from bench.memory import first_command, wait_for_pages
from bench.procs import SIGNING_SECRET, Proc, free_port, scenarios_dir, start_bare, start_sce, start_workspace
from bench.results import Curve, Row, Section
from bench.slack_http import SignedClient
from bench.stats import percentile
from bot.workspace.client import WorkspaceClient

RSS_PER_GAMEDAY_KB = 100.0
ACK_RATIO = 1.1
LATENESS_P99_MS = 25.0
INGEST_RATIO = 0.75
PROBE = "bench-timer-probe"


@dataclass(frozen=True)
class Config:
    sizes: tuple[int, ...]
    requests: int  # commands of each kind at each size
    settle: float
    probes: int  # probe game days started at each size, each a timers.Config of `say` steps
    probe: timers.Config
    replies: int  # the burst of thread replies at each size
    bursts: int = 1  # bursts at each size (and bare app runs): the median is the figure

    def probe_channels(self, size_index: int) -> list[str]:
        """Channels after the largest fleet's, a few for each size."""
        first = max(self.sizes) + size_index * self.probes
        return channels(first + self.probes)[first:]


FULL = Config(
    sizes=(1, 10, 100, 500),
    requests=300,
    settle=3.0,
    probes=4,
    probe=timers.Config(gamedays=4, steps=10, lead=3.0, spacing=1.0),
    replies=1000,
    bursts=3,  # one burst of 1000 is about half a second: the bare app's alone swung 1,807-2,292/s
)
QUICK = Config(
    sizes=(1, 3),
    requests=10,
    settle=0.3,
    probes=1,
    probe=timers.Config(gamedays=1, steps=3, lead=1.0, spacing=0.5),
    replies=30,
)


@dataclass
class Fleet:
    """One backend's figures, a value per size."""

    label: str
    rss: list[float | None] = field(default_factory=list)
    calls_per_minute: list[float | None] = field(default_factory=list)
    p50: dict[str, list[float | None]] = field(default_factory=dict)
    p99: dict[str, list[float | None]] = field(default_factory=dict)
    answered: dict[str, list[float | None]] = field(default_factory=dict)
    late_p50: list[float | None] = field(default_factory=list)
    late_p99: list[float | None] = field(default_factory=list)
    ingest: list[float | None] = field(default_factory=list)  # replies persisted per second
    dues: list[float] = field(default_factory=list)  # the largest size's probe timers, for APScheduler

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
    write_scenario(scenarios_dir(run_dir), PROBE, timers.scenario(config.probe, PROBE))
    all_channels = largest + config.probes * len(config.sizes)
    workspace, base = start_workspace(
        run_dir, f"curve-{name}-workspace", all_channels, [f"http://127.0.0.1:{port}/slack/events"]
    )
    threads: dict[str, str] = {}
    bots: list[Proc] = []
    try:
        bots.append(start_sce(run_dir, f"curve-{name}-sce0", f"{base}/api/", database_url, port))
        for i in range(1, replicas):  # it takes no Slack traffic; it shares the timers and the outbox
            bots.append(start_sce(run_dir, f"curve-{name}-sce{i}", f"{base}/api/", database_url))
        first_command(bots[0], answers.url(f"warm-up-{name}"))
        with WorkspaceClient(base) as people:
            for index, size in enumerate(config.sizes):
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
                probed = probe_timers(people, database_url, config, index)
                fleet.late_p50.append(percentile(probed[0], 50) * 1000 if probed[0] else None)
                fleet.late_p99.append(percentile(probed[0], 99) * 1000 if probed[0] else None)
                fleet.dues = probed[1]
                rates = [
                    ingest_rate(bots[0], database_url, threads, config.replies) for _ in range(config.bursts)
                ]
                fleet.ingest.append(None if None in rates else median([r for r in rates if r is not None]))
    finally:
        for bot in bots:
            bot.stop()
        workspace.stop()
    return fleet, threads


def probe_timers(
    people: WorkspaceClient, database_url: str, config: Config, index: int
) -> tuple[list[float], list[float]]:
    """Start this size's probe game days and wait for their steps: each `say` step's lateness (its
    message's Slack ts minus its timer's due_at) and the timers' due times."""
    where = config.probe_channels(index)
    start_gamedays(people, PROBE, where, timeout=600)
    expected = len(where) * config.probe.steps
    said = (
        "SELECT count(*) FROM event WHERE kind = 'said' AND gameday_id IN "
        f"(SELECT id FROM gameday WHERE scenario_id = '{PROBE}')"
    )
    engine = reader(database_url)
    try:
        deadline = time.monotonic() + config.probe.timeout
        while count(engine, said) < expected * (index + 1) and time.monotonic() < deadline:
            time.sleep(0.25)
    finally:
        engine.dispose()
    return timers.read_lateness(database_url, where)


def ingest_rate(bot: Proc, database_url: str, threads: dict[str, str], replies: int) -> float | None:
    """A burst of ``replies`` `note:` replies over the running game days: persisted per second."""
    engine = reader(database_url)
    try:
        client = SignedClient(bot.events_url, SIGNING_SECRET)
        got = burst(client, threads, replies, lambda: count(engine, ingest.NOTES), timeout=120.0)
    finally:
        engine.dispose()
    return got.processed_per_second if got.processed == replies else None


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
        bare_ingest = median(
            [
                ingest.bare_run(
                    run_dir, ingest.Config(gamedays=50, replies=config.replies), f"curve-bare-{i}"
                ).processed_per_second
                for i in range(config.bursts)
            ]
        )
    floor_acks = [s for t in floor.values() for s in t.acks]
    floor_p50, floor_p99 = percentile(floor_acks, 50) * 1000, percentile(floor_acks, 99) * 1000
    scheduled = timers.apscheduler_lateness(fleets[-1].dues, config.probe.timeout) if fleets else []
    floors = Floors(
        floor_p50,
        floor_p99,
        bare_rss,
        percentile(scheduled, 99) * 1000 if scheduled else 0.0,
        bare_ingest,
    )
    sizes = list(config.sizes)
    section.curves += curves(fleets, sizes, floors)
    for fleet in fleets:
        rows(section, fleet, sizes, floors)
    section.notes.append(
        f"At each size, {config.requests} commands of each kind, one at a time 10 ms apart, to the first "
        "replica, with thread replies arriving at Slack's cap over every running game day; RSS (VmRSS, "
        f"of every replica together) once the new game days' kickoffs and first pages are out and the "
        f"bots settled {config.settle:g} s; Slack calls per minute over the commands' window. Then "
        f"{config.probes} probe game days of {config.probe.steps} `say` steps {config.probe.spacing:g} s "
        "apart (timer lateness: the step message's Slack ts − its timer's due_at; the probes stay in the "
        f"fleet), then {config.replies} `note:` replies over the running game days on 8 connections at "
        f"once (ingest: from the first send to the last row; the median of {config.bursts} bursts). "
        f"Baselines: the bare Bolt app's count of the same burst (the median of {config.bursts} runs), and "
        "APScheduler jobs at the largest size's probe due times."
    )
    return section


@dataclass(frozen=True)
class Floors:
    """The baselines: bare Bolt ack p50 and p99 (ms), its RSS (MB), APScheduler p99 (ms), bare ingest (/s)."""

    ack_p50: float
    ack_p99: float
    rss: float
    lateness_p99: float
    ingest: float


def curves(fleets: list[Fleet], sizes: list[int], floors: Floors) -> list[Curve]:
    flat = [floors.ack_p50] * len(sizes), [floors.ack_p99] * len(sizes)
    bare_rss = floors.rss
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
            baselines=frozenset({"bare Bolt ack p99"}),
            why=(
                "an ack reads or writes only the game day of its channel, found by an index on the "
                "channel, and the status line's one budget for the workspace keeps background updates "
                "from growing with the fleet; what moves the p99 at 500 is the interpreter's time taken "
                "by every game day's replies and timers, not a cost of the command itself."
            ),
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
            baselines=frozenset({"bare Bolt ack p50"}),
            why=("as the p99: the command's own work does not depend on how many other game days run."),
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
            baselines=frozenset({"bare Bolt ack p99"}),
            why=(
                "as the ack; an answer that misses the ack's 4 ms goes out through response_url right "
                "after it."
            ),
        ),
        Curve(
            "rss-by-gamedays",
            "Resident memory against running game days",
            "running game days",
            "MB",
            sizes,
            {**{f"sce serve ({f.label})": f.rss for f in fleets}, "bare Bolt app": [bare_rss] * len(sizes)},
            baselines=frozenset({"bare Bolt app"}),
            why=(
                "a running game day lives in the database; memory keeps its cached timeline and lane "
                "(tens of KB), small beside the interpreter, Bolt, SQLAlchemy and the compiled templates."
            ),
        ),
        Curve(
            "slack-calls-by-gamedays",
            "Slack Web API calls per minute against running game days",
            "running game days",
            "/min",
            sizes,
            {f"sce serve ({f.label})": f.calls_per_minute for f in fleets},
            why=(
                "each game day posts its own steps and pages, but the status line (40 updates a minute) "
                "and the reactions on notes (50 a minute) share one budget per workspace, so the rate "
                "grows far slower than the fleet."
            ),
        ),
        Curve(
            "timer-lateness-by-gamedays",
            "Timer lateness of probe steps against running game days",
            "running game days",
            "ms",
            sizes,
            {
                **{f"p99 ({f.label})": f.late_p99 for f in fleets},
                **{f"p50 ({f.label})": f.late_p50 for f in fleets},
                "APScheduler p99": [floors.lateness_p99] * len(sizes),
            },
            baselines=frozenset({"APScheduler p99"}),
            why=(
                "a due timer is claimed by one indexed UPDATE on its due time and run in its game day's "
                "lane: its lateness depends on how many steps fall due at the same moment, not on how "
                "many game days wait."
            ),
        ),
        Curve(
            "ingest-by-gamedays",
            "Thread replies persisted per second against running game days",
            "running game days",
            "/s",
            sizes,
            {
                **{f"sce serve ({f.label})": f.ingest for f in fleets},
                "bare Bolt app (counts only)": [floors.ingest] * len(sizes),
            },
            baselines=frozenset({"bare Bolt app (counts only)"}),
            why=(
                "a reply costs its ack, a look-up of its thread (in memory once this process knows it, "
                "by index before) and its share of one batched transaction (up to 50 game days a batch); "
                "more game days only spread the replies over more lanes."
            ),
        ),
    ]


def rows(section: Section, fleet: Fleet, sizes: list[int], floors: Floors) -> None:
    at = f"{sizes[-1]:,} game days, {fleet.label}"
    judged = sizes[-1] >= 500
    for name, values in fleet.p99.items():
        last = values[-1] or 0.0
        met = last <= ACK_RATIO * floors.ack_p99 if judged else None
        section.add(
            Row(
                f"/sce {name} ack p99 at {at}",
                last,
                "ms",
                floors.ack_p99,
                f"ratio ≤ {ACK_RATIO:g} at 500",
                met,
            )
        )
    late = fleet.late_p99[-1]
    section.add(
        Row(
            f"timer lateness p99 at {at}",
            late,
            "ms",
            floors.lateness_p99,
            f"< {LATENESS_P99_MS:g} ms",
            (late is not None and late < LATENESS_P99_MS) if judged else None,
        )
    )
    rate = fleet.ingest[-1]
    section.add(
        Row(
            f"thread replies persisted per second at {at}",
            rate,
            "/s",
            floors.ingest,
            f"ratio ≥ {INGEST_RATIO:g}",
            (rate is not None and rate >= INGEST_RATIO * floors.ingest) if judged else None,
        )
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

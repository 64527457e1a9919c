"""Event ingest: thread replies per second, processed and persisted, with game days running.

Each reply is a `note:` in a game-day thread: the bot parses it, finds the game day and puts the note in
its inbox, whose writer appends the waiting notes of up to 50 game days in one transaction, each game
day locked (a note alone leaves the status message as it is). A reply counts when its row is in the
database. The bare Bolt app's count is its listener having run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import Engine

from bench.databases import count, fresh_postgres_database, reader, sqlite_url
from bench.fleet import channels, start_gamedays
from bench.load import Burst, burst
from bench.procs import SIGNING_SECRET, Proc, free_port, start_bare, start_sce, start_workspace
from bench.results import Row, Section
from bench.slack_http import SignedClient
from bot.workspace.client import WorkspaceClient

RATIO = 0.75  # of the bare Bolt app's count (it was an absolute 500/s until every first target was met)
ROUNDS = 3
"""Full run: the bare app and the bot on each database in turn, this many times; each row is the round of
median ratio (each round's bot against that round's bare app). One round swung 0.58-0.75× on
PostgreSQL on this machine with nothing changed; every round is in the notes."""
NOTES = "SELECT count(*) FROM event WHERE kind = 'note'"


@dataclass(frozen=True)
class Config:
    gamedays: int
    replies: int
    senders: int = 8
    timeout: float = 90.0


FULL, QUICK = Config(gamedays=50, replies=3000, timeout=40.0), Config(gamedays=3, replies=60, timeout=30.0)


def bot_run(run_dir: Path, name: str, database_url: str, config: Config) -> tuple[Burst, int]:
    """The burst against `sce serve`, and how many chat.update calls the bot made meanwhile."""
    port = free_port()
    workspace, base = start_workspace(
        run_dir, f"{name}-workspace", config.gamedays, [f"http://127.0.0.1:{port}/slack/events"]
    )
    try:
        bot = start_sce(run_dir, f"{name}-sce", f"{base}/api/", database_url, port)
        engine: Engine = reader(database_url)
        try:
            with WorkspaceClient(base) as people:
                threads = start_gamedays(people, "pager-stress", channels(config.gamedays))
                updates = len(people.calls("chat.update"))
                client = SignedClient(bot.events_url, SIGNING_SECRET)
                got = burst(
                    client,
                    threads,
                    config.replies,
                    lambda: count(engine, NOTES),
                    config.senders,
                    config.timeout,
                )
                return got, len(people.calls("chat.update")) - updates
        finally:
            engine.dispose()
            bot.stop()
    finally:
        workspace.stop()


def bare_run(run_dir: Path, config: Config, name: str = "ingest-bare") -> Burst:
    port = free_port()
    workspace, base = start_workspace(
        run_dir, f"{name}-workspace", 1, [f"http://127.0.0.1:{port}/slack/events"]
    )
    try:
        bare: Proc = start_bare(run_dir, name, f"{base}/api/", port)
        counter = f"http://127.0.0.1:{bare.port}/hooks/count"
        try:
            threads = {f"C{i}": f"1700000000.{i:06d}" for i in range(1, config.gamedays + 1)}
            client = SignedClient(bare.events_url, SIGNING_SECRET)
            return burst(
                client,
                threads,
                config.replies,
                lambda: int(requests.get(counter, timeout=5).json()["count"]),
                config.senders,
                config.timeout,
            )
        finally:
            bare.stop()
    finally:
        workspace.stop()


@dataclass(frozen=True)
class Round:
    got: Burst
    updates: int
    floor: Burst

    @property
    def ratio(self) -> float:
        return self.got.processed_per_second / max(self.floor.processed_per_second, 1e-9)

    @property
    def complete(self) -> bool:
        return self.got.processed >= self.got.sent and self.got.failed == 0


def run(run_dir: Path, quick: bool, postgres_url: str | None) -> Section:
    config = QUICK if quick else FULL
    section = Section("Event ingest", "bare Bolt app whose message listener only counts")
    labels = ["SQLite"] + (["PostgreSQL"] if postgres_url else [])
    rounds: dict[str, list[Round]] = {label: [] for label in labels}
    for index in range(1 if quick else ROUNDS):  # in turn, so a slow spell of the machine hits all alike
        floor = bare_run(run_dir, config, f"ingest-bare-{index}")
        for label in labels:
            url = (
                fresh_postgres_database(postgres_url, "ingest")
                if postgres_url and label == "PostgreSQL"
                else sqlite_url(run_dir, f"ingest-{index}")
            )
            got, updates = bot_run(run_dir, f"ingest-{label.lower()}-{index}", url, config)
            rounds[label].append(Round(got, updates, floor))
    for label in labels:
        median = sorted(rounds[label], key=lambda r: r.ratio)[len(rounds[label]) // 2]
        complete = all(r.complete for r in rounds[label])
        section.add(
            Row(
                f"replies/s persisted ({label})",
                median.got.processed_per_second,
                "/s",
                median.floor.processed_per_second,
                f"ratio ≥ {RATIO:g}",
                complete and median.ratio >= RATIO,
            )
        )
        got, updates = median.got, median.updates
        section.notes.append(
            f"{label}, the median round: {got.processed} of {got.sent} replies persisted in "
            f"{got.processed_seconds:.2f} s (all {got.sent} acked in {got.send_seconds:.2f} s, "
            f"{got.failed} not HTTP 200); meanwhile the bot called chat.update {updates} times "
            f"({updates / max(got.processed, 1):.2f} per reply; Slack allows ~50/min)."
        )
        if len(rounds[label]) > 1:
            section.notes.append(
                f"{label}, every round (bot / bare app): "
                + "; ".join(
                    f"{r.got.processed_per_second:,.0f} / {r.floor.processed_per_second:,.0f}/s "
                    f"({r.ratio:.2f}×)"
                    for r in rounds[label]
                )
                + "."
            )
    if not postgres_url:
        section.notes.append(
            "PostgreSQL not measured: no server (set SCE_BENCH_POSTGRES_URL or run `make bench` as root)."
        )
    floors = [r.floor for r in rounds[labels[0]]]
    section.notes.append(
        f"Bare app: {floors[0].processed} of {floors[0].sent} listener runs in "
        + ", ".join(f"{f.processed_seconds:.2f} s" for f in floors)
        + f". {config.replies} `note:` replies over {config.gamedays} running `pager-stress` game days, "
        f"sent on {config.senders} keep-alive connections at once; the rate is from the first send to the "
        "last row"
        + (
            f"; {len(floors)} rounds, each the bare app then the bot on each database."
            if len(floors) > 1
            else "."
        )
    )
    return section

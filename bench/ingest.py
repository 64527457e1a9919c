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


def bare_run(run_dir: Path, config: Config) -> Burst:
    port = free_port()
    workspace, base = start_workspace(
        run_dir, "ingest-bare-workspace", 1, [f"http://127.0.0.1:{port}/slack/events"]
    )
    try:
        bare: Proc = start_bare(run_dir, "ingest-bare", f"{base}/api/", port)
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


def run(run_dir: Path, quick: bool, postgres_url: str | None) -> Section:
    config = QUICK if quick else FULL
    section = Section("Event ingest", "bare Bolt app whose message listener only counts")
    floor = bare_run(run_dir, config)
    databases = [("SQLite", sqlite_url(run_dir, "ingest"))]
    if postgres_url:
        databases.append(("PostgreSQL", fresh_postgres_database(postgres_url, "ingest")))
    for label, url in databases:
        got, updates = bot_run(run_dir, f"ingest-{label.lower()}", url, config)
        complete = got.processed >= got.sent and got.failed == 0
        section.add(
            Row(
                f"replies/s persisted ({label})",
                got.processed_per_second,
                "/s",
                floor.processed_per_second,
                f"ratio ≥ {RATIO:g}",
                complete and got.processed_per_second >= RATIO * floor.processed_per_second,
            )
        )
        section.notes.append(
            f"{label}: {got.processed} of {got.sent} replies persisted in {got.processed_seconds:.2f} s "
            f"(all {got.sent} acked in {got.send_seconds:.2f} s, {got.failed} not HTTP 200); meanwhile "
            f"the bot called chat.update {updates} times ({updates / max(got.processed, 1):.2f} per reply; "
            "Slack allows ~50/min)."
        )
    if not postgres_url:
        section.notes.append(
            "PostgreSQL not measured: no server (set SCE_BENCH_POSTGRES_URL or run `make bench` as root)."
        )
    section.notes.append(
        f"Bare app: {floor.processed} of {floor.sent} listener runs in {floor.processed_seconds:.2f} s. "
        f"{config.replies} `note:` replies over {config.gamedays} running `pager-stress` game days, sent on "
        f"{config.senders} keep-alive connections at once; the rate is from the first send to the last row."
    )
    return section

"""The outbox: messages committed with their change and delivered after the commit, per second, on
SQLite and PostgreSQL; and a Slack that answers 429 for 10 s, which must lose nothing.

In one process, as `sce serve` wires it (``build_services``), against the local workspace over HTTP.
Each worker thread commits transactions of its own game days, each with a few messages
(``Injector.say``); the committing thread delivers them after its commit and records each ``ts`` in a
second transaction. The rate counts messages whose ``ts`` is recorded. The baseline is Slack alone:
the same number of ``chat.postMessage`` calls by the same number of threads, with no database (the
local workspace has no rate limit; Slack's own, about 8 events per second per workspace and a post per
second per channel, is far below either). The floor: 20 messages per second, lost or doubled none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from slack_sdk import WebClient

from bench.databases import count, fresh_postgres_database, reader, sqlite_url
from bench.procs import BOT_TOKEN, SIGNING_SECRET, scenarios_dir
from bench.results import Row, Section
from bot.config import Settings
from bot.gameday.clock import SystemClock
from bot.gameday.timeline import Kind
from bot.runtime.service import Services, build_services
from bot.workspace.server import LocalWorkspace

SCENARIO = """id: bench-outbox
title: Outbox benchmark
charter: {objective: Measure the outbox, hypothesis: Every message is delivered once.}
guardrails: {max_duration: 2h}
steps:
  - {at: 1h, say: never reached}
"""
CHANNEL = "C1"
RATE_FLOOR = 20.0  # messages/s: Slack itself takes about 8 events/s per workspace, 1 post/s per channel
RATE_LIMITED_SECONDS = 10.0


@dataclass(frozen=True)
class Config:
    gamedays: int
    transactions: int  # per game day
    messages: int  # per transaction
    workers: int


FULL, QUICK = Config(gamedays=20, transactions=10, messages=3, workers=4), Config(4, 3, 2, 2)


def services_on(run_dir: Path, database_url: str, workspace: LocalWorkspace) -> Services:
    folder = scenarios_dir(run_dir)
    (folder / "bench-outbox.yaml").write_text(SCENARIO)
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=workspace.api_url,
        database_url=database_url,
        scenarios_dir=folder,
        slack_posts_per_second=10_000.0,  # the local workspace has no rate limit; the bench measures ours
    )
    return build_services(settings, SystemClock())


def start_gamedays(services: Services, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        outcome = services.engine.start(SCENARIO, CHANNEL, "UFAC", {"primary": "U1", "secondary": "U2"})
        assert outcome.gameday_id, outcome.message
        ids.append(outcome.gameday_id)
    return ids


def said(services: Services, workspace: LocalWorkspace, gamedays: list[str]) -> list[str]:
    """Every benchmark message in these game days' threads, as the workspace holds them."""
    texts = []
    for gameday in gamedays:
        record = services.store.get(gameday)
        assert record is not None and record.thread_ts
        for message in workspace.messages(CHANNEL, thread_ts=record.thread_ts):
            text = str(message.get("text") or "")
            if "outbox gd-" in text:
                texts.append(text[text.index("outbox gd-") :])
    return texts


def recorded(database_url: str) -> int:
    """Messages whose delivery is recorded: their post timer done (after the record's transaction)."""
    query = "SELECT count(*) FROM timer WHERE kind = 'post' AND state = 'done' AND key LIKE :bench"
    return count(reader(database_url), query, bench="post:%:b-%")


def commit_messages(services: Services, gamedays: list[str], config: Config) -> float:
    """Each game day's transactions, spread over the workers; seconds until every message is out."""
    say = services.engine.injects.say

    def one_gameday(gameday: str) -> None:
        for t in range(config.transactions):
            with services.store.transaction(gameday) as tx:
                for m in range(config.messages):
                    say(tx, f"b-{t}:{m}", f"outbox {gameday} {t} {m}", step=None)
                    tx.append(Kind.NOTE, time.time(), "UFAC", {"kind": "note", "text": f"{t}.{m}"})

    began = time.monotonic()
    with ThreadPoolExecutor(config.workers) as pool:
        list(pool.map(one_gameday, gamedays))
    return time.monotonic() - began


def bare_posts(workspace: LocalWorkspace, total: int, workers: int) -> float:
    """Slack alone: ``total`` chat.postMessage calls over ``workers`` threads; seconds."""
    client = WebClient(token=BOT_TOKEN, base_url=workspace.api_url)
    thread = client.chat_postMessage(channel=CHANNEL, text="baseline")["ts"]

    def post(i: int) -> None:
        client.chat_postMessage(channel=CHANNEL, thread_ts=thread, text=f"bare {i}")

    began = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(post, range(total)))
    return time.monotonic() - began


def recorded_after(database_url: str, expected: int, limit: float) -> float | None:
    """Seconds until ``expected`` messages are recorded (None when not within ``limit``)."""
    began = time.monotonic()
    while time.monotonic() - began < limit:
        if recorded(database_url) >= expected:
            return time.monotonic() - began
        time.sleep(0.2)
    return None


def measure(
    section: Section, name: str, database_url: str, run_dir: Path, config: Config, add: Callable[[Row], Row]
) -> None:
    workspace = LocalWorkspace(
        signing_secret=SIGNING_SECRET,
        bot_token=BOT_TOKEN,
        users={"U1": "alice", "U2": "bob", "UFAC": "carol"},
        channels={CHANNEL: "gameday"},
    ).start()
    services = services_on(run_dir, database_url, workspace)
    services.timers.start()
    try:
        gamedays = start_gamedays(services, config.gamedays)
        total = config.gamedays * config.transactions * config.messages
        baseline = total / bare_posts(workspace, total, config.workers)
        seconds = commit_messages(services, gamedays, config)
        done = recorded(database_url)
        texts = said(services, workspace, gamedays)
        rate = done / seconds
        add(
            Row(
                f"{name}: messages committed and delivered ({total} in {config.workers} threads)",
                rate,
                "/s",
                baseline,
                f">= {RATE_FLOOR:g}/s, none lost or doubled",
                rate >= RATE_FLOOR and done == len(texts) == total == len(set(texts)),
            )
        )
        # a Slack that answers 429 (Retry-After 10) to every post for 10 s: nothing lost, nothing doubled
        workspace.web_api.faults.add("chat.postMessage", 429, times=1_000_000, retry_after=10)
        limited = time.monotonic()
        more = gamedays[: max(2, config.gamedays // 4)]
        with ThreadPoolExecutor(config.workers) as pool:
            list(pool.map(lambda gd: rate_limited_messages(services, gd, config.messages), more))
        time.sleep(max(0.0, RATE_LIMITED_SECONDS - (time.monotonic() - limited)))
        workspace.web_api.faults.take_all("chat.postMessage")  # Slack answers again
        expected = total + len(more) * config.messages
        drained = recorded_after(database_url, expected, 120.0)
        texts = said(services, workspace, gamedays)
        lost, doubled = expected - len(set(texts)), len(texts) - len(set(texts))
        section.notes.append(
            f"{name}: Slack answered 429 (Retry-After 10 s) to every post for {RATE_LIMITED_SECONDS:g} s "
            "while "
            f"{len(more) * config.messages} messages were committed: {lost} lost, {doubled} doubled; all out "
            + (f"{drained:.1f} s after Slack answered again." if drained is not None else "NOT within 120 s.")
        )
        add(
            Row(
                f"{name}: messages lost or doubled after 10 s of 429",
                float(lost + doubled),
                "calls",
                None,
                "0",
                lost + doubled == 0 and drained is not None,
            )
        )
    finally:
        services.stop()
        workspace.stop()


def rate_limited_messages(services: Services, gameday: str, messages: int) -> None:
    with services.store.transaction(gameday) as tx:
        for m in range(messages):
            services.engine.injects.say(tx, f"b-limited:{m}", f"outbox {gameday} limited {m}", step=None)


def run(run_dir: Path, quick: bool, pg: str | None) -> Section:
    section = Section("Outbox", "Slack alone: the same chat.postMessage calls, same threads, no database")
    config = QUICK if quick else FULL
    lock = threading.Lock()

    def add(row: Row) -> Row:
        with lock:
            return section.add(row)

    measure(section, "SQLite", sqlite_url(run_dir, "outbox"), run_dir, config, add)
    if pg:
        measure(section, "PostgreSQL", fresh_postgres_database(pg, "outbox"), run_dir, config, add)
    else:
        section.notes.append("PostgreSQL: not measured (no server).")
    return section

"""Memory: resident size of `sce serve` idle and with many game days running, against the bare app's.

Resident size is VmRSS from /proc/<pid>/status, read after each app answered a first command (so lazily
loaded code is counted) and, with game days, once every kickoff and first page is out and it settled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bench.databases import sqlite_url
from bench.fleet import channels, start_gamedays
from bench.procs import SIGNING_SECRET, Proc, free_port, start_bare, start_sce, start_workspace
from bench.results import Row, Section
from bench.slack_http import SignedClient, slash_form
from bot.workspace.client import WorkspaceClient

TARGET_MB = 200.0


@dataclass(frozen=True)
class Config:
    gamedays: int
    settle: float


FULL, QUICK = Config(gamedays=100, settle=3.0), Config(gamedays=3, settle=0.5)


def first_command(proc: Proc, respond: str) -> None:
    client = SignedClient(proc.events_url, SIGNING_SECRET)
    try:
        for _ in range(3):
            client.send("slash_commands", slash_form("UFAC", "C1", "help", respond))
    finally:
        client.close()


def wait_for_pages(people: WorkspaceClient, threads: dict[str, str], timeout: float = 120.0) -> None:
    """Until every thread has the first page (pager-stress pages at 0 s)."""
    deadline = time.monotonic() + timeout
    waiting = dict(threads)
    while waiting and time.monotonic() < deadline:
        for channel, ts in list(waiting.items()):
            if any("paged" in (m.get("text") or "") for m in people.messages(channel, thread_ts=ts)):
                del waiting[channel]
        time.sleep(0.1)


def run(run_dir: Path, quick: bool) -> Section:
    config = QUICK if quick else FULL
    section = Section("Memory", "bare Bolt app, idle, after answering its first commands")
    port = free_port()
    workspace, base = start_workspace(
        run_dir, "memory-workspace", config.gamedays, [f"http://127.0.0.1:{port}/slack/events"]
    )
    respond = f"{base}/_respond/unused"
    try:
        bot = start_sce(run_dir, "memory-sce", f"{base}/api/", sqlite_url(run_dir, "memory"), port)
        try:
            first_command(bot, respond)
            time.sleep(config.settle)
            idle = bot.rss_mb()
            with WorkspaceClient(base) as people:
                threads = start_gamedays(people, "pager-stress", channels(config.gamedays))
                wait_for_pages(people, threads)
            time.sleep(config.settle)
            busy, peak = bot.rss_mb(), bot.peak_mb()
        finally:
            bot.stop()
        bare = start_bare(run_dir, "memory-bare", f"{base}/api/")
        try:
            first_command(bare, respond)
            time.sleep(config.settle)
            floor = bare.rss_mb()
        finally:
            bare.stop()
    finally:
        workspace.stop()
    section.add(Row("RSS idle", idle, "MB", floor, f"< {TARGET_MB:.0f} MB", idle < TARGET_MB))
    section.add(
        Row(
            f"RSS with {config.gamedays} game days",
            busy,
            "MB",
            floor,
            f"< {TARGET_MB:.0f} MB",
            busy < TARGET_MB,
        )
    )
    section.notes.append(
        f"{config.gamedays} `pager-stress` game days, each with its kickoff and first page posted; peak RSS "
        f"(VmHWM) of `sce serve` {peak:.1f} MB. SQLite."
    )
    return section

"""Timer precision: how late each scheduled step is posted, across many game days at once.

A scenario of N `say` steps runs in every channel; a step's lateness is its message's Slack ts minus its
timer's ``due_at`` (both read back from the database), so it includes claiming the timer, the locked
transaction and the chat.postMessage round trip. The baseline is APScheduler alone: a date job per
timer, due at the same offsets, timed from its due time to the job starting.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text

from bench.databases import count, deployments, reader
from bench.fleet import channels, start_gamedays, write_scenario
from bench.procs import Proc, free_port, scenarios_dir, start_sce, start_workspace
from bench.results import Row, Section
from bench.stats import percentile
from bot.workspace.client import WorkspaceClient

SCENARIO_ID = "bench-timers"
TARGET_MS = 25.0  # p99 on every backend (it was 100 ms until every first target was met)


@dataclass(frozen=True)
class Config:
    gamedays: int
    steps: int
    lead: float  # seconds from the start to the first step: the fleet must be started by then
    spacing: float

    @property
    def timeout(self) -> float:
        return self.lead + self.steps * self.spacing + 90.0


ROUNDS = 3
"""Full run: every deployment in turn, this many times; each row is the round of median p99. The p99 of
one round swung 15-176 ms on PostgreSQL on this machine with nothing changed; every round is in the notes."""
FULL, QUICK = (
    Config(gamedays=100, steps=10, lead=20.0, spacing=2.0),
    Config(gamedays=4, steps=3, lead=3.0, spacing=0.5),
)


def scenario(config: Config, scenario_id: str = SCENARIO_ID) -> str:
    steps = "\n".join(
        f"  - at: {config.lead + i * config.spacing:g}\n    say: timer {i + 1} of {config.steps}"
        for i in range(config.steps)
    )
    return (
        f"id: {scenario_id}\ntitle: Timer precision benchmark\nmode: live\n"
        "charter: {objective: Measure timer lateness, hypothesis: Every step is posted on time.}\n"
        "guardrails: {max_duration: 30m}\n"
        f"steps:\n{steps}\n"
    )


@dataclass(frozen=True)
class Fired:
    lateness: list[float]  # seconds, one per step that ran
    dues: list[float]  # the timers' due_at, for the baseline to replay
    expected: int


def read_lateness(database_url: str, channels: Collection[str] = ()) -> tuple[list[float], list[float]]:
    """Each `say` step's lateness and every step timer's due_at; only game days in ``channels``, if given."""
    engine = reader(database_url)
    where = ""
    if channels:
        names = ", ".join(f"'{c}'" for c in channels if c.isalnum())  # the bench's own channel ids
        where = f" AND gameday_id IN (SELECT id FROM gameday WHERE channel IN ({names}))"
    try:
        with engine.connect() as connection:
            timers = connection.execute(
                text(f"SELECT key, due_at FROM timer WHERE kind = 'step'{where}")
            ).all()
            said = connection.execute(
                text(f"SELECT gameday_id, at, data FROM event WHERE kind = 'said'{where}")
            ).all()
    finally:
        engine.dispose()
    due = {str(key): float(due_at) for key, due_at in timers}
    lateness = []
    for gameday_id, at, data in said:
        parsed: dict[str, Any] = data if isinstance(data, dict) else json.loads(data)
        key = f"{gameday_id}:step:{parsed['step']}"
        if key in due:
            lateness.append(float(at) - due[key])
    return lateness, sorted(due.values())


def bot_run(run_dir: Path, name: str, database_url: str, config: Config, replicas: int = 1) -> Fired:
    write_scenario(scenarios_dir(run_dir), SCENARIO_ID, scenario(config))
    ports = [free_port() for _ in range(replicas)]
    urls = [f"http://127.0.0.1:{port}/slack/events" for port in ports]
    workspace, base = start_workspace(run_dir, f"{name}-workspace", config.gamedays, urls)
    bots: list[Proc] = []
    expected = config.gamedays * config.steps
    engine = reader(database_url)
    try:
        for i, port in enumerate(ports):  # one after the other: each runs the migrations at start
            bots.append(start_sce(run_dir, f"{name}-sce{i}", f"{base}/api/", database_url, port))
        with WorkspaceClient(base) as people:
            start_gamedays(people, SCENARIO_ID, channels(config.gamedays))
        deadline = time.monotonic() + config.timeout
        while count(engine, "SELECT count(*) FROM event WHERE kind = 'said'") < expected:
            if time.monotonic() > deadline:
                break
            time.sleep(0.25)
    finally:
        engine.dispose()
        for bot in bots:
            bot.stop()
        workspace.stop()
    lateness, dues = read_lateness(database_url)
    return Fired(lateness, dues, expected)


def apscheduler_lateness(dues: list[float], timeout: float) -> list[float]:
    """The floor: APScheduler date jobs at the same relative due times, nothing else running."""
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.start()
    lateness: list[float] = []
    lock = threading.Lock()
    done = threading.Event()

    def job(due: float) -> None:
        late = time.time() - due
        with lock:
            lateness.append(late)
            if len(lateness) == len(dues):
                done.set()

    origin = time.time() + 2.0
    first = dues[0] if dues else 0.0
    for due in dues:
        at = origin + (due - first)
        scheduler.add_job(
            job, "date", run_date=datetime.fromtimestamp(at, UTC), args=[at], misfire_grace_time=None
        )
    done.wait(timeout)
    scheduler.shutdown(wait=False)
    return lateness


def run(run_dir: Path, quick: bool, postgres_url: str | None) -> Section:
    config = QUICK if quick else FULL
    section = Section("Timer precision", "bare APScheduler date jobs at the same due times (job start − due)")
    fired: dict[str, list[Fired]] = {}
    for index in range(1 if quick else ROUNDS):  # every deployment in turn, ROUNDS times
        notes = section.notes if index == 0 else []
        runs = deployments(run_dir, postgres_url, f"timers{index}", notes, one=", 1 replica")
        for i, (label, url, replicas) in enumerate(runs):
            fired.setdefault(label, []).append(bot_run(run_dir, f"timers-{index}-{i}", url, config, replicas))
    floor = apscheduler_lateness(next(iter(fired.values()))[0].dues, config.timeout)
    for label, results in fired.items():
        ran = [r for r in results if r.lateness]
        if not ran:
            section.notes.append(f"{label}: no step ran.")
            continue
        median = sorted(ran, key=lambda r: percentile(r.lateness, 99))[len(ran) // 2]
        complete = len(ran) == len(results) and all(len(r.lateness) == r.expected for r in results)
        for q in (50, 99):
            value, base = percentile(median.lateness, q) * 1000, percentile(floor, q) * 1000
            met = complete and value < TARGET_MS if q == 99 else None
            section.add(
                Row(
                    f"lateness p{q} ({label})",
                    value,
                    "ms",
                    base,
                    f"< {TARGET_MS:.0f} ms" if q == 99 else "",
                    met,
                )
            )
        section.notes.append(
            f"{label}{', the median round' if len(results) > 1 else ''}: {len(median.lateness)} of "
            f"{median.expected} steps posted; max lateness {max(median.lateness) * 1000:.0f} ms."
        )
        if len(results) > 1:
            section.notes.append(
                f"{label}, p99 of every round: "
                + ", ".join(f"{percentile(r.lateness, 99) * 1000:.1f} ms" for r in ran)
                + "."
            )
    section.notes.append(
        f"{config.gamedays} game days × {config.steps} `say` steps, {config.lead:g} s after the start and "
        f"{config.spacing:g} s apart (plus the spread of the starts); lateness = the step message's Slack "
        f"ts − the timer's due_at. APScheduler baseline: {len(floor)} jobs, max "
        f"{max(floor, default=0) * 1000:.1f} ms."
    )
    return section

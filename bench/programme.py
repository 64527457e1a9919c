"""The programme report (`sce report`) over a long programme: 5,000 finished game days (each with its kept
summary, as `sce history` or an earlier report left it) and 50,000 findings, against a bare SELECT of the
columns it reads (the summaries joined to their game days; the findings' scenario, state and times).

Rows are written straight into a migrated database in a few bulk inserts (what sce would have stored):
game days of the catalog's scenarios spread over two years, each with a short timeline (the summary's
event count must match it, or the summary would be stale), and findings in every state and age. The
figure is `sce report --format md` without the process start: open the store, read, compute, render.
The 2 s target is checked here on the full sizes (quick mode's are too small to judge).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from bench.databases import fresh_postgres_database, sqlite_url
from bench.debrief import timed
from bench.procs import ROOT
from bench.results import Row, Section
from bot.config import Settings
from bot.debrief.programme import render_report
from bot.gameday.findings.model import FindingState
from bot.gameday.scenario.catalog import ScenarioCatalog
from bot.gameday.timeline import Kind
from bot.runtime.programme import build_programme_report, catalog_techniques
from storage.database import make_engine, migrate
from storage.finding_store import FINDINGS
from storage.sql_store import EVENT_TABLE, GAMEDAY_TABLE
from storage.summary_store import SUMMARIES

TARGET_S = 2.0
DAY = 86400.0
NOW = 1_800_000_000.0
EVENTS_EACH = 20  # a short finished game day's timeline; only its length is read (the staleness check)
BATCH = 10_000


@dataclass(frozen=True)
class Config:
    gamedays: int
    findings: int
    repeats: int


FULL, QUICK = (
    Config(gamedays=5_000, findings=50_000, repeats=3),
    Config(gamedays=200, findings=2_000, repeats=1),
)


def _bulk(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        for first in range(0, len(rows), BATCH):
            connection.execute(insert(table), rows[first : first + BATCH])


def seed(url: str, config: Config) -> Engine:
    """A migrated database holding ``config``'s game days (finished, with summaries) and findings."""
    engine = make_engine(url)
    migrate(engine)
    techniques, _ = catalog_techniques(ScenarioCatalog(ROOT / "scenarios"))
    scenarios = sorted(techniques)
    gamedays, events, summaries = [], [], []
    span = 730 * DAY
    for i in range(config.gamedays):
        gameday_id, scenario = f"gd-{i:08x}", scenarios[i % len(scenarios)]
        start = NOW - span + span * i / config.gamedays
        gamedays.append(
            {
                "id": gameday_id,
                "scenario_id": scenario,
                "scenario_text": "",
                "scenario_hash": "",
                "channel": f"C{i % 7}",
                "started_by": "UFAC",
                "roster": {},
                "created_at": start,
                "status": "completed" if i % 10 else "aborted",
                "dry_run": False,
            }
        )
        for seq in range(1, EVENTS_EACH + 1):
            kind = Kind.STARTED if seq == 1 else Kind.ENDED if seq == EVENTS_EACH else Kind.NOTE
            events.append(
                {"gameday_id": gameday_id, "seq": seq, "kind": kind.value, "at": start + seq, "actor": None}
                | {"data": {}}
            )
        named = techniques[scenario]
        summaries.append(
            {
                "gameday_id": gameday_id,
                "events": EVENTS_EACH,
                "started_at": start,
                "verdict": "validated",
                "mtta": 30.0 + i % 90,
                "ttd": 60.0 + i % 240 if i % 4 else None,
                "ttc": 300.0 + i % 600,
                "detected": named[: i % (len(named) + 1)],
                "dry_run": i % 50 == 0,
            }
        )
    states = list(FindingState)
    findings = []
    for n in range(config.findings):
        created = NOW - span + span * n / config.findings
        state = states[n % len(states)]
        fixed = created + (n % 30) * DAY if state in (FindingState.FIXED, FindingState.VERIFIED) else None
        findings.append(
            {
                "gameday_id": gamedays[n % len(gamedays)]["id"],
                "key": f"gap:{n}",
                "kind": "gap",
                "scenario_id": gamedays[n % len(gamedays)]["scenario_id"],
                "channel": "C1",
                "text": f"finding {n}: the runbook step for <this> was missing",
                "state": str(state),
                "created_at": created,
                "fixed_at": fixed,
                "verified_at": fixed + DAY if fixed is not None and state is FindingState.VERIFIED else None,
                "accepted_until": created + 90 * DAY if state is FindingState.ACCEPTED_RISK else None,
                "notes": [],
                "version": 1,
            }
        )
    _bulk(
        engine,
        GAMEDAY_TABLE,
        [{c.name: g[c.name] for c in GAMEDAY_TABLE.columns if c.name in g} for g in gamedays],
    )
    _bulk(engine, EVENT_TABLE, events)
    _bulk(engine, SUMMARIES, summaries)
    _bulk(engine, FINDINGS, findings)
    return engine


def bare_read(engine: Engine) -> int:
    """The floor: the columns the report reads, with one SELECT each: the summaries joined to their game
    days, and the findings' scenario, state and times."""
    joined = GAMEDAY_TABLE.join(SUMMARIES, SUMMARIES.c.gameday_id == GAMEDAY_TABLE.c.id)
    g, f = GAMEDAY_TABLE.c, FINDINGS.c
    finding_columns = (f.scenario_id, f.state, f.created_at, f.fixed_at, f.verified_at, f.accepted_until)
    with engine.connect() as connection:
        summaries = connection.execute(
            select(g.id, g.scenario_id, g.created_at, *SUMMARIES.c).select_from(joined)
        ).all()
        findings = connection.execute(select(*finding_columns).order_by(f.id)).all()
    return len(summaries) + len(findings)


def measure(label: str, url: str, config: Config, section: Section) -> None:
    began = time.perf_counter()
    engine = seed(url, config)
    seeded = time.perf_counter() - began
    settings = Settings(database_url=url, scenarios_dir=ROOT / "scenarios")

    def sce_report() -> str:
        return render_report(build_programme_report(settings, NOW, 90, 90, 90), "md")

    report = build_programme_report(settings, NOW, 3650, 90, 90)
    assert report.findings.total == config.findings, report.findings.total
    kept = sum(1 for i in range(config.gamedays) if i % 50)  # dry runs are left out
    assert sum(q.gamedays for q in report.quarters) == kept, [q.gamedays for q in report.quarters]
    cold, took = timed(sce_report, config.repeats)
    _, floor = timed(lambda: bare_read(engine), config.repeats)
    engine.dispose()
    full = config is FULL
    section.add(
        Row(
            f"{label}: sce report over {config.gamedays:,} game days, {config.findings:,} findings",
            took * 1000,
            "ms",
            floor * 1000,
            f"< {TARGET_S:g} s" if full else "",
            took < TARGET_S if full else None,
        )
    )
    section.notes.append(
        f"{label}: seeded in {seeded:.1f} s; first (cold) report {cold * 1000:.0f} ms, then the median of "
        f"{config.repeats} warm runs."
    )
    if full and took >= TARGET_S:
        section.notes.append(f"**{label} missed the target**: {took:.2f} s, not under {TARGET_S:g} s.")


def run(run_dir: Path, quick: bool, postgres_url: str | None) -> Section:
    config = QUICK if quick else FULL
    section = Section(
        "Programme report",
        "a SELECT of the same columns: summaries joined to their game days, findings' state and times",
    )
    measure("SQLite", sqlite_url(run_dir, "programme"), config, section)
    if postgres_url:
        measure("PostgreSQL", fresh_postgres_database(postgres_url, "programme"), config, section)
    else:
        section.notes.append("PostgreSQL not measured (no server).")
    section.notes.append(
        f"Each game day has a kept summary and a {EVENTS_EACH}-event timeline; one in 50 is a dry run. "
        "`sce report` reads the summaries in one query and builds a debrief only for a game day whose "
        "summary is missing or stale (none here)."
    )
    return section

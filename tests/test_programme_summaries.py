"""`sce report` reads each finished game day's kept summary (``gameday_summary``) instead of building
every debrief: the report it gives is the one full debriefs give, for real game days run by the engine.

The reference facts are built here the way the report was built before summaries: one debrief per
finished game day (``build_debrief_for``), dry runs left out. A kept summary is shown to be read (a
figure written into it is what the report shows), a summary made stale by a note after the end is
computed again, and so is a row written before migration 0009 (``detected`` and ``dry_run`` NULL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from core_harness import ROOT, CoreHarness, scenario_text
from databases import STORES, make_store
from sqlalchemy import select, update

from bot.config import Settings
from bot.gameday.findings.model import FindingDraft, FindingKind, FindingState
from bot.gameday.findings.recording import FindingFilter
from bot.gameday.ports import GameDayStore
from bot.gameday.programme.compute import programme_report
from bot.gameday.programme.model import RunFacts
from bot.gameday.running.engine import build_debrief_for
from bot.gameday.running.outbound import sends
from bot.gameday.scenario.catalog import ScenarioCatalog
from bot.gameday.timeline import Kind
from bot.runtime.programme import build_programme_report, catalog_techniques, run_facts
from storage.finding_store import FindingStore
from storage.sql_store import SqlStore
from storage.summary_store import SUMMARIES

D = 86400.0


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


NOW = at("2026-11-15T00:00:00")


def game_day(
    store: GameDayStore,
    start: float,
    ack_after: float,
    source: str,
    dry_run: bool = False,
    n: int = 0,
    detect_after: float = 0.0,
) -> str:
    """pager-stress (T1078, detect_within 5m): the page acknowledged after ``ack_after`` s, detected by
    ``source`` 10 s later (or ``detect_after`` s after the page), contained, ended. An alert (source
    alertmanager) detects the technique; a person (command) only detects the game day."""
    h = CoreHarness(store=store, start=start)
    h._delivery = 1000 * n  # delivery ids are unique per store, not per harness
    outcome = h.engine.start(
        scenario_text(), "C1", "UFAC", {"primary": "U1", "secondary": "U2"}, dry_run=dry_run
    )
    gd = outcome.gameday_id
    assert gd
    h.advance_to(start + 1)
    p0 = h.page_ts(gd, "p0")
    h.advance_to(p0 + ack_after)
    assert h.engine.acknowledge(gd, "U1", p0 + ack_after, h.delivery()).ok
    actor = "alertmanager:ImpossibleTravel" if source == "alertmanager" else "U1"
    detected = p0 + max(ack_after + 10, detect_after)
    h.advance_to(detected)
    h.engine.mark(gd, Kind.DETECTED, actor, detected, h.delivery(), source=source, page_id="p0")
    h.engine.mark(gd, Kind.CONTAINED, "U1", detected + 10, h.delivery())
    h.advance_to(detected + 20)
    h.engine.end(gd, "UFAC")
    h.posted_debrief()  # its end published: the summary is kept then
    return gd


def from_debriefs(store: GameDayStore) -> list[RunFacts]:
    """The facts as the report computed them before summaries: a full debrief per finished game day."""
    facts = []
    for record in store.all():
        if record.status not in ("completed", "aborted", "failed") or not sends(record):
            continue
        debrief = build_debrief_for(record, store.events(record.id))
        m = debrief.metrics
        facts.append(
            RunFacts(
                gameday_id=record.id,
                scenario=record.scenario_id,
                started_at=debrief.started_at if debrief.started_at is not None else record.created_at,
                mtta=m.mtta_seconds,
                ttd=m.ttd_seconds,
                ttc=m.ttc_seconds,
                detected_in_time=tuple(t.id for t in debrief.coverage.techniques if t.status == "in_time"),
            )
        )
    return sorted(facts, key=lambda f: f.gameday_id)


def facts(store: GameDayStore) -> list[RunFacts]:
    return sorted(run_facts(store), key=lambda f: f.gameday_id)


@pytest.mark.parametrize("kind", STORES)
def test_the_report_from_kept_summaries_is_the_report_full_debriefs_give(kind: str, tmp_path: Path) -> None:
    store = make_store(kind, tmp_path)
    alert = game_day(store, at("2026-09-20T10:00:00"), 60, "alertmanager", n=1)
    person = game_day(store, at("2026-10-20T10:00:00"), 30, "command", n=2)
    late = game_day(store, at("2026-11-01T10:00:00"), 50, "alertmanager", n=3, detect_after=400)  # > 5m
    dry = game_day(store, at("2026-11-02T10:00:00"), 20, "alertmanager", dry_run=True, n=4)
    reference = from_debriefs(store)
    # worked out by hand: one acknowledged page each; only the alert within 5 minutes detects T1078
    assert [(f.gameday_id, f.mtta, f.detected_in_time) for f in reference] == sorted(
        [(alert, 60.0, ("T1078",)), (person, 30.0, ()), (late, 50.0, ())]
    )
    assert dry not in {f.gameday_id for f in reference}

    kept = dict(store.run_summaries(None))  # kept as each game day's end was published
    assert set(kept) == {alert, person, late, dry} and all(kept.values())  # the dry run too
    assert facts(store) == reference
    dry_kept, alert_kept = kept[dry], kept[alert]
    assert dry_kept is not None and dry_kept["dry_run"] is True
    assert alert_kept is not None and alert_kept["detected"] == ["T1078"]
    assert facts(store) == reference

    catalog, titles = catalog_techniques(ScenarioCatalog(ROOT / "scenarios"))
    for since in (30, 90, 365):
        assert programme_report(facts(store), [], catalog, set(), NOW, since, 90, 30, titles) == (
            programme_report(reference, [], catalog, set(), NOW, since, 90, 30, titles)
        )

    # a kept summary is what the report reads (nothing is rebuilt) ...
    person_kept = kept[person]
    assert person_kept is not None
    store.save_run_summaries({person: (len(store.events(person)), {**person_kept, "mtta": 1.0})})
    assert {f.gameday_id: f.mtta for f in facts(store)}[person] == 1.0
    # ... until the timeline grows past what it was computed from: a note after the end
    with store.transaction(person) as tx:
        tx.append(Kind.NOTE, NOW - 5 * D, "U1", {"kind": "gap", "text": "late note", "step": 0})
    assert facts(store) == from_debriefs(store) == reference


def test_a_summary_kept_before_0009_is_computed_again_and_completed(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    assert isinstance(store, SqlStore)
    alert = game_day(store, at("2026-09-20T10:00:00"), 60, "alertmanager", n=1)
    dry = game_day(store, at("2026-10-20T10:00:00"), 30, "alertmanager", dry_run=True, n=2)
    reference = from_debriefs(store)
    assert facts(store) == reference
    # rows as a version before 0009 left them: the new columns NULL (and a figure no timeline gives)
    with store.engine.begin() as connection:
        connection.execute(update(SUMMARIES).values(detected=None, dry_run=None, mtta=1.0))
    assert dict(store.run_summaries(None)) == {alert: None, dry: None}
    assert facts(store) == reference  # the dry run stays out: it was computed again, not guessed
    with store.engine.connect() as connection:
        rows = connection.execute(select(SUMMARIES.c.gameday_id, SUMMARIES.c.detected, SUMMARIES.c.dry_run))
        assert sorted(tuple(r) for r in rows) == sorted([(alert, ["T1078"], False), (dry, ["T1078"], True)])

    # the report `sce report` builds (findings and all) is the one the debriefs give
    stored = FindingStore(store.engine)
    drafts = [
        FindingDraft(gameday=alert, key=f"gap:{n}", kind=FindingKind.GAP, scenario="pager-stress", text="x")
        for n in range(4)
    ]
    made = stored.record(drafts, "C1", at("2026-09-20T11:00:00"))
    # one fixed and verified, one accepted until a day before NOW (open again), one accepted beyond it
    changes = [
        {"state": FindingState.VERIFIED, "fixed_at": at("2026-10-01T00:00:00"), "verified_at": NOW - 9 * D},
        {"state": FindingState.ACCEPTED_RISK, "accepted_until": NOW - D, "accepted_reason": "r"},
        {"state": FindingState.ACCEPTED_RISK, "accepted_until": NOW + D, "accepted_reason": "r"},
    ]
    for finding, change in zip(made[1:], changes, strict=True):
        assert stored.replace(finding, finding.model_copy(update={**change, "version": finding.version + 1}))
    findings = stored.list(FindingFilter(), NOW)
    assert [str(f.state) for f in findings] == ["open", "verified", "open", "accepted-risk"]
    catalog, titles = catalog_techniques(ScenarioCatalog(ROOT / "scenarios"))
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'sce.db'}", scenarios_dir=ROOT / "scenarios")
    for since in (30, 90):
        built = build_programme_report(settings, NOW, since, 90, 30)
        assert built == programme_report(reference, findings, catalog, set(), NOW, since, 90, 30, titles)
    assert built.findings.by_state == {"open": 2, "fixing": 0, "fixed": 0, "verified": 1, "accepted-risk": 1}
    assert (built.loop_speed_overall.fixed, built.loop_speed_overall.verified) == (1, 1)


def test_history_still_reads_a_row_kept_before_0009_after_computing_it_again(tmp_path: Path) -> None:
    from bot.gameday.measuring.trends import finished_summaries

    store = make_store("sqlite", tmp_path)
    assert isinstance(store, SqlStore)
    gd = game_day(store, at("2026-09-20T10:00:00"), 60, "alertmanager", n=1)
    assert [r.mtta for r in finished_summaries(store, "pager-stress")] == [60.0]
    with store.engine.begin() as connection:
        connection.execute(update(SUMMARIES).values(detected=None, mtta=1.0))
    assert [r.mtta for r in finished_summaries(store, "pager-stress")] == [60.0]
    assert dict(store.run_summaries("pager-stress"))[gd] is not None


@pytest.mark.parametrize("size", [1, 3])
def test_the_report_reads_in_a_few_indexed_queries_whatever_the_history(size: int, tmp_path: Path) -> None:
    """Summaries, findings, bookings: one query each (no query per game day or finding), the findings in
    their primary key's order (no sort of the table)."""
    from sqlalchemy import event, text

    from bench.programme import NOW as BENCH_NOW
    from bench.programme import Config, seed
    from bot.runtime.programme import report_from

    url = f"sqlite:///{tmp_path / 'big.db'}"
    engine = seed(url, Config(gamedays=100 * size, findings=1000 * size, repeats=1))
    store = SqlStore(engine)
    statements: list[str] = []
    for reads in {engine, store.reader}:  # the store reads summaries through its reader
        event.listen(reads, "before_cursor_execute", lambda *args: statements.append(args[2]))
    report = report_from(store, ScenarioCatalog(ROOT / "scenarios"), BENCH_NOW, 3650, 90, 90)
    assert report.findings.total == 1000 * size
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3, selects  # the same three for 100 game days as for 300
    assert any("gameday_summary" in s for s in selects)
    finding_query = next(s for s in selects if "FROM finding" in s)
    with engine.connect() as connection:
        plan = " ".join(
            str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {finding_query}"))
        )
    assert "TEMP B-TREE" not in plan, plan  # read in id order from the table's key, never sorted

"""The programme report (`sce report`): every figure against values worked out by hand, the real engine's
game days on SQLite across two quarters, the HTML page in headless Chromium (hostile scenario titles
stay text), the JSON against its shipped schema, and the Navigator layer as mitreattack-python reads it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from core_harness import ROOT, CoreHarness, scenario_text
from test_debrief_browser import CHROMIUM, chromium, parse
from test_navigator_conformance import read_by_mitre
from typer.testing import CliRunner

from bot.cli import cli
from bot.config import Settings
from bot.debrief.programme import render_report
from bot.gameday.findings.model import Finding, FindingDraft, FindingKind, FindingState
from bot.gameday.programme.compute import BadSince, parse_since, programme_report
from bot.gameday.programme.model import ProgrammeReport, RunFacts
from bot.gameday.programme.schema import SCHEMA_PATH, schema_text
from bot.gameday.running.engine import build_debrief_for
from bot.gameday.running.schedule import ScheduleRequest
from bot.gameday.timeline import Kind
from bot.runtime.programme import build_programme_report
from storage.database import make_engine, migrate
from storage.finding_store import FindingStore
from storage.schedule_store import ScheduleStore
from storage.sql_store import SqlStore

D = 86400.0
HOSTILE = '<script>document.title="owned"</script><img src=x onerror=alert(1)> | `x` *y*'


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


NOW = at("2026-11-15T00:00:00")
RUNS = [
    RunFacts("r0", "s-old", at("2026-05-10T10:00:00"), 100, 200, 600, ("T1110.004",)),  # Q2: the baseline
    RunFacts("r3", "s-a", at("2026-07-05T10:00:00"), 1000, 50, 100),  # Q3, before the 90-day window
    RunFacts("r1", "s-a", at("2026-08-20T10:00:00"), 60, 120, 400, ("T1078", "T1046")),
    RunFacts("r2", "s-b", at("2026-09-10T10:00:00"), 80, None, 500),
    RunFacts("r4", "s-b", at("2026-10-05T00:00:00"), 40, 90, 300, ("T1071.004",)),
    RunFacts("r5", "s-a", at("2026-11-01T00:00:00"), 50, 110, None, ("T1071.004", "T1078")),
]
CATALOG = {"s-a": ["T1078", "T1046"], "s-b": ["T1071.004", "T1613"], "s-c": []}


def finding(
    n: int, scenario: str, state: FindingState, age_days: float, channel: str = "C1", **days_ago: float
) -> Finding:
    """A stored finding found ``age_days`` before NOW; ``fixed_at=15``: fixed 15 days before NOW."""
    times = {k: NOW - v * D for k, v in days_ago.items()}
    return Finding.model_validate(
        {
            "number": n,
            "gameday": "g",
            "key": f"k{n}",
            "kind": FindingKind.GAP,
            "scenario": scenario,
            "channel": channel,
            "text": "t",
            "state": state,
            "created_at": NOW - age_days * D,
            **times,
        }
    )


FINDINGS = [
    finding(1, "s-a", FindingState.OPEN, 3),
    finding(2, "s-a", FindingState.FIXING, 10),
    finding(3, "s-a", FindingState.FIXED, 20, fixed_at=15),
    finding(4, "s-b", FindingState.VERIFIED, 40, "C2", fixed_at=30, verified_at=28),
    finding(5, "s-b", FindingState.ACCEPTED_RISK, 100, accepted_until=-10),
    finding(6, "s-b", FindingState.OPEN, 120),
    finding(7, "s-a", FindingState.VERIFIED, 200, fixed_at=190, verified_at=100),  # before the window
    finding(8, "s-a", FindingState.FIXED, 30, "C2", fixed_at=29),
]


def hand_report(booked: set[str] | None = None) -> ProgrammeReport:
    return programme_report(
        RUNS,
        FINDINGS,
        CATALOG,
        booked or set(),
        NOW,
        90,
        decay_days=30,
        repeat_days=30,
        titles={"s-a": HOSTILE},
    )


def test_quarters_medians_and_deltas_match_the_hand_computation() -> None:
    r = hand_report()
    assert r.window_start == at("2026-08-17T00:00:00")
    assert r.gamedays == 4  # r1, r2, r4, r5
    q3, q4 = r.quarters
    assert (q3.quarter, q3.gamedays, q3.mtta, q3.ttd, q3.ttc) == ("2026-Q3", 3, 80, 85, 400)
    assert (q3.mtta_delta, q3.ttd_delta, q3.ttc_delta) == (-20, -115, -200)  # against Q2's only run
    assert (q4.quarter, q4.gamedays, q4.mtta, q4.ttd, q4.ttc) == ("2026-Q4", 2, 45, 100, 300)
    assert (q4.mtta_delta, q4.ttd_delta, q4.ttc_delta) == (-35, 15, -100)
    assert (q3.start, q4.start, q4.end) == (
        at("2026-07-01T00:00:00"),
        at("2026-10-01T00:00:00"),
        at("2027-01-01T00:00:00"),
    )


def test_coverage_verified_decayed_untested_and_the_score() -> None:
    c = hand_report().coverage
    states = {t.id: (t.state, t.score, t.scenarios) for t in c.techniques}
    assert states == {
        "T1046": ("decayed", 50, ["s-a"]),  # detected 87 days ago, decay after 30
        "T1071.004": ("verified", 100, ["s-a", "s-b"]),  # s-a detected it too (r5)
        "T1078": ("verified", 100, ["s-a"]),
        "T1110.004": ("decayed", 50, ["s-old"]),  # a scenario no longer in the folder: still shown
        "T1613": ("untested", 0, ["s-b"]),
    }
    assert (c.verified, c.decayed, c.untested, c.score) == (2, 2, 1, 40.0)
    assert c.techniques[1].last_verified_at == at("2026-11-01T00:00:00")
    nothing = programme_report([], [], {"s": []}, set(), NOW)
    assert nothing.coverage.score is None and nothing.coverage.techniques == []


def test_findings_by_state_age_and_learning_loop_speed() -> None:
    r = hand_report()
    assert r.findings.total == 8
    assert r.findings.by_state == {"open": 2, "fixing": 1, "fixed": 2, "verified": 2, "accepted-risk": 1}
    assert [(b.label, b.count) for b in r.findings.unresolved_by_age] == [
        ("0-7 days", 1),
        ("7-30 days", 1),
        ("30-90 days", 0),
        ("90+ days", 1),
    ]
    speed = {s.scenario: (s.found_to_fixed, s.fixed, s.fixed_to_verified, s.verified) for s in r.loop_speed}
    assert speed == {"s-a": (3 * D, 2, None, 0), "s-b": (10 * D, 1, 2 * D, 1)}  # F-7 is before the window
    o = r.loop_speed_overall
    assert (o.found_to_fixed, o.fixed, o.fixed_to_verified, o.verified) == (5 * D, 3, 2 * D, 1)
    # by team (channel), the window's findings: C1 has F-1, F-2, F-3 (fixed after 5 days); C2 has F-4
    # (fixed after 10 days, verified 2 days later) and F-8 (fixed after a day)
    teams = {
        t.team: (t.found_to_fixed, t.fixed, t.fixed_to_verified, t.verified) for t in r.loop_speed_by_team
    }
    assert teams == {"C1": (5 * D, 1, None, 0), "C2": (5.5 * D, 2, 2 * D, 1)}


def test_overdue_scenarios_and_a_booking_clears_one() -> None:
    assert [(o.scenario, o.days_since) for o in hand_report().overdue] == [("s-b", 41)]
    assert hand_report(booked={"s-b"}).overdue == []  # s-old is not in the folder; s-c was never run


@pytest.mark.parametrize("text", ["", "90", "0d", "-5d", "1e9d", "90d; rm -rf /", "９０d", "123456d", "5y"])
def test_a_window_that_is_not_one_is_one_sentence(text: str) -> None:
    with pytest.raises(BadSince, match="not a window"):
        parse_since(text)
    assert (parse_since("90d"), parse_since("12w"), parse_since(" 365D ")) == (90, 84, 365)


def test_the_markdown_shows_the_figures_and_escapes_titles() -> None:
    md = render_report(hand_report(), "md")
    assert "| 2026-Q4 | 2 | 45s (-35s) | 1m40s (+15s) | 5m (-1m40s) |" in md
    assert "Score 40.0%: 2 verified, 2 decayed, 1 untested" in md
    assert "<script>" not in md and "\\<script\\>" in md and "\\|" in md


def test_the_json_validates_against_the_shipped_schema_which_matches_the_model() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "run python -m bot.gameday.programme.schema"
    )
    document = json.loads(render_report(hand_report(), "json"))
    jsonschema.validate(document, json.loads(schema_text()))
    assert document["coverage"]["score"] == 40.0 and document["titles"]["s-a"] == HOSTILE
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**document, "gamedays": "four"}, json.loads(schema_text()))


def test_the_navigator_layer_reads_cleanly_in_mitreattack_python() -> None:
    layer = json.loads(render_report(hand_report(), "navigator"))
    back, said = read_by_mitre(layer)
    assert back is not None and not said.strip(), said
    scores = [
        (t["techniqueID"], t.get("score"), t.get("showSubtechniques", False)) for t in back["techniques"]
    ]
    assert scores == [
        ("T1046", 50, False),
        ("T1071.004", 100, False),
        ("T1078", 100, False),
        ("T1110.004", 50, False),
        ("T1613", 0, False),
        ("T1071", None, True),  # parents of the sub-techniques, expanded
        ("T1110", None, True),
    ]


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_the_page_shows_the_heat_map_and_no_script_from_a_hostile_title_runs(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report(hand_report(), "html"), encoding="utf-8")
    shown = parse(chromium("--dump-dom", page.as_uri(), profile=tmp_path / "p").stdout)
    assert shown.scripts == 0  # the title stayed text: no <script> element, no <img> handler ran
    text = " ".join("".join(shown.body).split())
    assert HOSTILE.split(" |")[0] in text
    assert shown.text["coverage-score"].strip() == "40.0%"
    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "q").stdout
    assert dom.count('class="cell cell-') == 5 and "owned" not in dom.split("<body")[0]
    assert dom.count('data-state="verified"') == 2 and dom.count('data-state="untested"') == 1


def _sqlite(tmp_path: Path) -> SqlStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'sce.db'}")
    migrate(engine)
    return SqlStore(engine)


def _game_day(store: SqlStore, start: float, ack_after: float) -> str:
    """pager-stress: p0 acknowledged ``ack_after`` seconds after its page, detected, contained, ended."""
    h = CoreHarness(store=store, start=start)
    h._delivery = int(start)  # delivery ids are unique per store, not per harness
    outcome = h.engine.start(scenario_text(), "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    gd = outcome.gameday_id
    assert gd
    h.advance_to(start + 1)
    p0 = h.page_ts(gd, "p0")
    h.advance_to(p0 + ack_after)
    assert h.engine.acknowledge(gd, "U1", p0 + ack_after, h.delivery()).ok
    h.engine.mark(gd, Kind.DETECTED, "U1", p0 + ack_after + 10, h.delivery(), page_id="p0")
    h.engine.mark(gd, Kind.CONTAINED, "U1", p0 + ack_after + 20, h.delivery())
    h.advance_to(p0 + ack_after + 30)
    h.engine.end(gd, "UFAC")
    return gd


def test_real_game_days_on_sqlite_across_two_quarters(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    q3 = _game_day(store, at("2026-09-20T10:00:00"), 60)
    q4 = _game_day(store, at("2026-10-20T10:00:00"), 30)
    for gd in (q3, q4):
        record = store.get(gd)
        assert record is not None and record.status == "completed"
    mtta = {gd: build_debrief_for(store.get(gd), store.events(gd)).metrics.mtta_seconds for gd in (q3, q4)}  # type: ignore[arg-type]
    assert mtta == {q3: 60, q4: 30}  # one acknowledged page each
    findings = FindingStore(store.engine)
    made = findings.record(
        [FindingDraft(gameday=q3, key="gap:1", kind=FindingKind.GAP, scenario="pager-stress", text=HOSTILE)],
        "C1",
        at("2026-09-20T11:00:00"),
    )
    assert [f.number for f in made] == [1]
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'sce.db'}", scenarios_dir=ROOT / "scenarios")
    now = at("2026-11-01T00:00:00")
    r = build_programme_report(settings, now, 90, 90, 30)
    assert r.gamedays == 2
    assert [(q.quarter, q.gamedays, q.mtta) for q in r.quarters] == [("2026-Q3", 1, 60), ("2026-Q4", 1, 30)]
    assert r.quarters[1].mtta_delta == -30
    assert r.findings.by_state["open"] == 1 and r.findings.unresolved_by_age[2].count == 1  # 41 days old
    assert r.overdue == []  # last run 12 days before, within 30
    late = build_programme_report(settings, now, 90, 90, 7)
    assert [(o.scenario, o.days_since) for o in late.overdue] == [("pager-stress", 11)]
    ScheduleStore(store.engine).create(
        ScheduleRequest("pager-stress", now + 7 * D, None, None, {}, None), "C1", "UFAC", now
    )
    assert build_programme_report(settings, now, 90, 90, 7).overdue == []

    env = {"DATABASE_URL": settings.database_url, "SCE_SCENARIOS_DIR": str(ROOT / "scenarios")}
    shown = CliRunner().invoke(cli, ["report", "--since", "3650d", "--format", "json"], env=env)
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    jsonschema.validate(document, json.loads(schema_text()))
    assert document["gamedays"] == 2  # both, ten years back from the real now
    for args in (["--since", "soon"], ["--format", "pdf"]):
        refused = CliRunner().invoke(cli, ["report", *args], env=env)
        assert refused.exit_code == 2 and "Traceback" not in refused.output

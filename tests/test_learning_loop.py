"""Learning-loop speed where people look: the debrief posted at the end (this scenario's and this team's
medians, the findings the game day left), `sce debrief`, `sce history` (text and JSON) and `/metrics`.

Expected medians are computed here from the stored times, never by the code under test.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from core_harness import CoreHarness, scenario_text
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from bot.cli import cli
from bot.debrief.render import render_debrief
from bot.gameday.findings.joining import LoopJoiner
from bot.gameday.findings.loop import learning_loop
from bot.gameday.findings.model import Finding, FindingKind, FindingState
from bot.gameday.findings.recording import FindingFilter, FindingRecorder, change_finding
from bot.runtime import loop_metrics
from bot.runtime.observability import REGISTRY
from storage.database import make_engine, migrate
from storage.finding_store import FindingStore, loop_rows
from storage.sql_store import SqlStore

DAY = 86400.0


def finding(n: int, scenario: str, channel: str, created: float, **times: float | None) -> Finding:
    state = FindingState.OPEN
    if times.get("fixed_at") is not None:
        state = FindingState.FIXED
    if times.get("verified_at") is not None:
        state = FindingState.VERIFIED
    return Finding(
        number=n,
        gameday=f"g{n}",
        key=f"k{n}",
        kind=FindingKind.GAP,
        scenario=scenario,
        channel=channel,
        text="t",
        state=state,
        created_at=created,
        **times,  # type: ignore[arg-type]
    )


def test_medians_per_scenario_and_team_count_only_findings_that_got_that_far() -> None:
    facts = [
        finding(1, "a", "C1", 0.0, fixed_at=10 * DAY, verified_at=12 * DAY),
        finding(2, "a", "C1", 0.0, fixed_at=4 * DAY),
        finding(3, "a", "C2", 5 * DAY, fixed_at=6 * DAY, verified_at=9 * DAY),
        finding(4, "a", "C2", 1.0),  # open: in no median
        finding(5, "b", "C1", 0.0, fixed_at=30 * DAY),  # the team's, not the scenario's
    ]
    loop = learning_loop("a", "C1", facts, ["F-4"])
    assert loop.findings == 4
    assert loop.by_state == {"open": 1, "fixing": 0, "fixed": 1, "verified": 2, "accepted-risk": 0}
    assert loop.found_to_fixed_seconds == statistics.median([10 * DAY, 4 * DAY, 1 * DAY])
    assert loop.fixed_to_verified_seconds == statistics.median([2 * DAY, 3 * DAY])
    assert (loop.fixed, loop.verified) == (3, 2)
    assert loop.team_found_to_fixed_seconds == statistics.median([10 * DAY, 4 * DAY, 30 * DAY])
    assert loop.team_fixed_to_verified_seconds == 2 * DAY
    assert loop.this_run == ["F-4"]
    nothing = learning_loop("c", "C9", facts)
    assert nothing.findings == 0 and nothing.found_to_fixed_seconds is None
    assert nothing.team_fixed_to_verified_seconds is None


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[SqlStore, FindingStore]:
    url = f"sqlite:///{tmp_path / 'sce.db'}"
    engine = make_engine(url)
    migrate(engine)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    return SqlStore(engine), FindingStore(engine)


def game_day_with_a_gap(h: CoreHarness, gap: str) -> str:
    gd = h.engine.start(scenario_text(), "C1", "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 60)
    assert h.engine.add_note(gd, "gap", gap, "U2", h.clock.now(), h.delivery()).ok
    assert h.engine.end(gd, "UFAC").ok
    return gd


def test_the_posted_debrief_shows_the_loop_of_earlier_findings_and_its_own(
    database: tuple[SqlStore, FindingStore],
) -> None:
    store, findings = database
    h = CoreHarness(store)
    h.engine.finishing.after_debrief.append(FindingRecorder(findings, h.clock.now))
    h.engine.finishing.debrief_extras.append(LoopJoiner(findings, h.clock.now))
    first = game_day_with_a_gap(h, "nobody knew the revoke runbook")
    before = h.posted_debrief()
    assert before.learning_loop is not None
    of_first = findings.list(FindingFilter(scenario="pager-stress"), h.clock.now())
    assert before.learning_loop.this_run == [f.id for f in of_first] and {f.gameday for f in of_first} == {
        first
    }
    [made] = [f for f in of_first if f.kind is FindingKind.GAP]
    assert before.learning_loop.found_to_fixed_seconds is None  # nothing fixed yet
    h.clock.advance(3 * DAY)
    fixed = change_finding(findings, made.number, FindingState.FIXED, h.clock.now(), "U1", "runbook written")
    second = game_day_with_a_gap(h, "the pager app was slow")
    after = h.posted_debrief()
    loop = after.learning_loop
    assert loop is not None and after.id == second
    assert fixed.fixed_at is not None
    assert loop.found_to_fixed_seconds == fixed.fixed_at - made.created_at
    assert loop.team_found_to_fixed_seconds == fixed.fixed_at - made.created_at
    every = findings.list(FindingFilter(), h.clock.now())
    assert loop.findings == len(every) and loop.by_state["fixed"] == 1
    assert loop.by_state["open"] == len(every) - 1
    assert loop.this_run == [f.id for f in every if f.gameday == second] and made.id not in loop.this_run
    markdown = render_debrief(after, "md")
    assert "## Learning loop" in markdown and f"This game day left {', '.join(loop.this_run)}" in markdown
    assert "| 72h | 72h |" in markdown.split("## Learning loop")[1].split("##")[0]
    html = render_debrief(after, "html")
    assert "<h2>Learning loop</h2>" in html
    document = json.loads(render_debrief(after, "json"))
    assert document["learning_loop"]["found_to_fixed_seconds"] == fixed.fixed_at - made.created_at
    # `sce debrief` reads the same loop from the database
    result = CliRunner().invoke(cli, ["debrief", second, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["learning_loop"]["this_run"] == loop.this_run


def test_history_text_and_json_carry_the_scenario_loop(database: tuple[SqlStore, FindingStore]) -> None:
    store, findings = database
    h = CoreHarness(store)
    h.engine.finishing.after_debrief.append(FindingRecorder(findings, h.clock.now))
    game_day_with_a_gap(h, "a gap")
    h.posted_debrief()
    every = findings.list(FindingFilter(), h.clock.now())
    [made] = [f for f in every if f.kind is FindingKind.GAP]
    h.clock.advance(DAY)
    fixed = change_finding(findings, made.number, FindingState.FIXED, h.clock.now(), "U1")
    assert fixed.fixed_at is not None
    result = CliRunner().invoke(cli, ["history", "pager-stress", "--format", "json"])
    assert result.exit_code == 0, result.output
    loop = json.loads(result.stdout)["learning_loop"]
    assert loop["found_to_fixed_seconds"] == fixed.fixed_at - made.created_at
    assert loop["by_state"]["fixed"] == 1 and loop["verified"] == 0
    text = CliRunner().invoke(cli, ["history", "pager-stress"])
    assert text.exit_code == 0
    opened = len(every) - 1
    shown = (
        f"Learning loop: {len(every)} finding(s) ({opened} open, 1 fixed); found to fixed 24h (median of 1)"
    )
    assert shown in text.stdout


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for s in family.samples:
            if s.name.startswith(("sce_findings", "sce_learning_loop")):
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_metrics_show_findings_by_state_and_loop_medians(database: tuple[SqlStore, FindingStore]) -> None:
    store, findings = database
    h = CoreHarness(store)
    h.engine.finishing.after_debrief.append(FindingRecorder(findings, h.clock.now))
    for gap in ("one", "two"):
        game_day_with_a_gap(h, gap)
        h.posted_debrief()
    made = [f for f in findings.list(FindingFilter(), h.clock.now()) if f.kind is FindingKind.GAP]
    assert len(made) == 2
    others = len(findings.list(FindingFilter(), h.clock.now())) - 2
    h.clock.advance(2 * DAY)
    fixed = change_finding(findings, made[0].number, FindingState.FIXED, h.clock.now(), "U1")
    accepted = change_finding(
        findings,
        made[1].number,
        FindingState.ACCEPTED_RISK,
        h.clock.now(),
        "U1",
        reason="r",
        until=h.clock.now() + DAY,
    )
    assert fixed.fixed_at is not None and accepted.state is FindingState.ACCEPTED_RISK
    now = [h.clock.now()]
    loop_metrics.watch_loop(lambda _wall: loop_rows(store.engine, now[0]))
    try:
        seen = scrape()
        assert seen[("sce_findings", (("state", "fixed"),))] == 1
        assert seen[("sce_findings", (("state", "accepted-risk"),))] == 1
        stage = (("scenario", "pager-stress"), ("stage", "found_to_fixed"))
        assert seen[("sce_learning_loop_scenario_seconds", stage)] == fixed.fixed_at - made[0].created_at
        team = (("stage", "found_to_fixed"), ("team", "C1"))
        assert seen[("sce_learning_loop_team_seconds", team)] == fixed.fixed_at - made[0].created_at
        assert not any(k[0].endswith("_seconds") and ("stage", "fixed_to_verified") in k[1] for k in seen)
        # kept for a while, then read again: the lapsed acceptance is open
        now[0] += 2 * DAY
        assert scrape()[("sce_findings", (("state", "accepted-risk"),))] == 1
        loop_metrics.LOOP._kept = None
        again = scrape()
        assert again[("sce_findings", (("state", "accepted-risk"),))] == 0
        assert again[("sce_findings", (("state", "open"),))] == others + 1
    finally:
        loop_metrics.watch_loop(lambda _wall: [])

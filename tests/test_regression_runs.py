"""Regression runs end to end, in this process on a virtual clock: a live game day leaves findings, people
mark them fixed, `sce serve`'s regression look (bot/runtime/regression) starts one unattended run of the
scenario with `sce run`'s runner, and the run's end verifies what it now meets (an alert arrives: the
missed detection is met) or leaves the findings fixed with a note naming the run (no alert). Two serve
instances sharing one database start one run between them. Summaries go to the local Slack workspace."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import Settings
from bot.gameday.clock import VirtualClock
from bot.gameday.findings.model import Finding, FindingDraft, FindingKind, FindingState
from bot.gameday.findings.recording import FindingFilter, change_finding
from bot.gameday.findings.verifying import regression_judgements
from bot.gameday.timeline import Kind
from bot.runtime.regression import RegressionRuns
from bot.runtime.service import Services, build_services
from bot.workspace.server import LocalWorkspace
from storage.finding_store import FindingStore

ROSTER = {"primary": "U1", "secondary": "U2"}
DRILL = """\
id: drill
title: Detection drill
attack: [T1078]
charter: {objective: o, hypothesis: an alert names the drill within 3 seconds}
guardrails: {max_duration: 20s}
oncall: {escalate_after: null}
expect: {detect_within: 3s}
steps:
  - {at: 0s, page: {severity: SEV-2, summary: "Simulated: impossible travel"}}
"""
GATED = DRILL.replace("id: drill", "id: gated").replace(
    "guardrails:", "approval: {required: true}\nchange: {ticket: CAB-1}\nguardrails:"
)


@dataclass
class Serve:
    services: Services
    clock: VirtualClock
    workspace: LocalWorkspace

    @property
    def findings(self) -> FindingStore:
        return FindingStore(self.services.store.engine)

    @property
    def regression(self) -> RegressionRuns:
        return next(o for o in self.services.timers.others if isinstance(o, RegressionRuns))

    def runs(self) -> list[str]:
        return [r.id for r in self.services.store.all() if r.id.startswith("run-")]


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[tuple[Settings, VirtualClock, LocalWorkspace]]:
    clock = VirtualClock()
    ws = LocalWorkspace(
        signing_secret="s", clock=clock.now, channels={"C1": "drills"}, users={"U1": "alice", "U2": "bob"}
    ).start()
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "drill.yaml").write_text(DRILL)
    (folder / "gated.yaml").write_text(GATED)
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret="s",
        slack_api_url=ws.api_url,
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        scenarios_dir=folder,
        rotations_dir=tmp_path / "none",
    )
    yield settings, clock, ws
    ws.stop()


@pytest.fixture
def serve(settings: tuple[Settings, VirtualClock, LocalWorkspace]) -> Iterator[Serve]:
    config, clock, ws = settings
    services = build_services(config, clock, simulate_faults=True)
    yield Serve(services, clock, ws)
    services.stop()


def fixed_findings(serve: Serve) -> list[Finding]:
    """A live game day of the drill nobody detects, with a gap noted: its findings (the missed detection
    and the gap) marked fixed by people, as `/sce fixed` does."""
    services, clock = serve.services, serve.clock
    gd = services.engine.start(DRILL, "C1", "UFAC", ROSTER).gameday_id
    assert gd
    services.timers.poll()
    assert services.engine.add_note(
        gd, "gap", "no alert rule for impossible travel", "U2", clock.now(), "n1"
    ).ok
    unrelated(serve, gd)  # the alert path works, the drill's rule is missing: detect_within is missed
    for _ in range(30):  # its time box ends it; the end's timers post the debrief and record findings
        clock.advance(1)
        services.timers.poll()
    found = serve.findings.list(FindingFilter(gameday=gd), clock.now())
    assert {f.key for f in found} >= {"missed:detect_within"} and any(
        f.kind is FindingKind.GAP for f in found
    )
    clock.advance(60)
    fixed = [
        change_finding(serve.findings, f.number, FindingState.FIXED, clock.now(), "U1", "alert rule added")
        for f in found
    ]
    clock.advance(60)
    return fixed


def unrelated(serve: Serve, gameday: str) -> None:
    """An alert without the game day's marker reaches it (as `sce serve` records one)."""
    at = serve.clock.now()
    outcome = serve.services.engine.record_unmatched_alert(
        gameday, "alertmanager", "DiskFull", {"host": "db-1"}, at, f"u-{gameday}"
    )
    assert outcome.ok, outcome.message


def regression_run(serve: Serve, look: Callable[[], str | None], alert: bool) -> str | None:
    """``look`` (a regression look, which follows its run to the end) on a thread; once the run's page is
    out, the drill's alert arrives (as `sce serve` records it) or, without it, the run's time box passes."""
    before = set(serve.runs())
    result: list[str | None] = []
    thread = threading.Thread(target=lambda: result.append(look()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and thread.is_alive():
        new = [r for r in serve.runs() if r not in before]
        if new and any(e.kind is Kind.PAGE_SENT for e in serve.services.store.events(new[0])):
            if alert:
                at = serve.clock.now()
                outcome = serve.services.engine.mark(
                    new[0], Kind.DETECTED, "alertmanager:Drill", at, "a1", source="alertmanager"
                )
                assert outcome.ok, outcome.message
            else:
                unrelated(serve, new[0])
                serve.clock.advance(30)  # past detect_within and the time box: the run's timers end it
            break
        time.sleep(0.02)
    thread.join(30)
    assert not thread.is_alive(), "the regression run did not end"
    return result[0]


def test_a_fixed_finding_is_verified_by_the_regression_run_that_meets_it(serve: Serve) -> None:
    fixed = fixed_findings(serve)
    run = regression_run(serve, serve.regression.look_once, alert=True)
    assert run is not None and run.startswith("run-") and serve.runs() == [run]
    for finding in fixed:
        now = serve.findings.get(finding.number)
        assert now is not None and now.state is FindingState.VERIFIED, now
        assert now.verified_by == run and now.verified_at is not None and finding.fixed_at is not None
        assert now.verified_at >= finding.fixed_at
        assert now.notes[-1].by == run and now.notes[-1].text.startswith("regression run:")
    detect = next(serve.findings.get(f.number) for f in fixed if f.key == "missed:detect_within")
    assert detect is not None and f"{run} met detect_within" in detect.notes[-1].text
    # its summary went to the channel of the findings' game day, as `sce run --channel` posts it
    top = [m.get("text") or "" for m in serve.workspace.messages("C1")]
    assert any("Unattended run" in t and run in t and "validated" in t for t in top), top
    # nothing is owed any more: the next look starts nothing
    assert serve.regression.look_once() is None and serve.runs() == [run]
    # a dry run of the same scenario would have verified nothing
    record = serve.services.store.get(run)
    assert record is not None
    debrief = serve.services.engine.debrief_from(record, serve.services.store.events(run))
    as_fixed = [f.model_copy(update={"state": FindingState.FIXED}) for f in fixed]
    assert regression_judgements(as_fixed, dataclasses.replace(record, dry_run=True), debrief) == []
    assert all(j.met for j in regression_judgements(as_fixed, record, debrief))


def test_a_run_that_fails_the_expectation_leaves_the_finding_fixed_with_a_note(serve: Serve) -> None:
    fixed = fixed_findings(serve)
    run = regression_run(serve, serve.regression.look_once, alert=False)
    assert run is not None
    for finding in fixed:
        now = serve.findings.get(finding.number)
        assert now is not None and now.state is FindingState.FIXED and now.verified_by is None
        assert now.notes[-1].by == run and now.notes[-1].text.endswith("still fixed, not verified")
    detect = next(serve.findings.get(f.number) for f in fixed if f.key == "missed:detect_within")
    assert detect is not None and f"{run} missed detect_within" in detect.notes[-1].text
    assert serve.regression.look_once() is None  # a run started since the fix: none is owed again


def test_two_serve_instances_sharing_one_database_start_one_run(
    serve: Serve, settings: tuple[Settings, VirtualClock, LocalWorkspace]
) -> None:
    fixed_findings(serve)
    other = build_services(settings[0], serve.clock, simulate_faults=True)
    try:
        second = next(o for o in other.timers.others if isinstance(o, RegressionRuns))
        results: list[str | None] = []
        lock = threading.Lock()
        barrier = threading.Barrier(2)

        def both() -> str | None:
            def one(look: Callable[[], str | None]) -> None:
                barrier.wait()
                said = look()
                with lock:
                    results.append(said)

            threads = [
                threading.Thread(target=one, args=(look,))
                for look in (serve.regression.look_once, second.look_once)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            return next((r for r in results if r is not None), None)

        run = regression_run(serve, both, alert=True)
        assert run is not None and sorted(results, key=str) == sorted([run, None], key=str)
        assert serve.runs() == [run]
    finally:
        other.stop()


def test_a_scenario_needing_approval_without_a_standing_one_is_not_started_and_said_once(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    gd = serve.services.engine.start(DRILL, "C1", "UFAC", ROSTER).gameday_id
    assert gd
    draft = FindingDraft(
        gameday=gd, key="missed:detect_within", kind=FindingKind.MISSED, scenario="gated", text="t"
    )
    (finding,) = serve.findings.record([draft], "C1", serve.clock.now())
    change_finding(serve.findings, finding.number, FindingState.FIXED, serve.clock.now(), "U1")
    serve.clock.advance(10)
    with caplog.at_level(logging.WARNING, logger="bot.runtime.regression"):
        assert serve.regression.look_once() is None
        assert serve.regression.look_once() is None
    said = [r.getMessage() for r in caplog.records if r.name == "bot.runtime.regression"]
    assert len(said) == 1 and "gated" in said[0] and "/sce approve-standing gated" in said[0]
    assert serve.runs() == []
    stored = serve.findings.get(finding.number)
    assert stored is not None and stored.state is FindingState.FIXED

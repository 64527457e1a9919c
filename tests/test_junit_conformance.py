"""The debrief's JUnit XML is read by CI tools, each with its own schema: every shipped scenario's report
validates against the Jenkins xUnit plugin's `junit-10.xsd` and the JUnit 5 / Jenkins schema
(`jenkins-junit.xsd`), both in `tests/schemas/`, with xmlschema, and a real consumer (junitparser) reads
the same counts and outcomes.

Each scenario runs on the core (virtual clock, simulated faults) three ways: ended by the facilitator
with nothing done (its expectations missed: failures), aborted after its first minute (what was still
open, or never seen before the abort, cannot be judged: errors), and still running (pending: skipped).
Expected outcomes come from the debrief's own expectation list, counted here.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import xmlschema
from core_harness import ROOT, CoreHarness
from junitparser import Error, Failure, JUnitXml, Skipped
from test_starter_pack import fault_namespaces

from bot.debrief.render import render_debrief
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.running.engine import build_debrief_for

SCHEMAS = Path(__file__).resolve().parent / "schemas"
XSDS = {name: xmlschema.XMLSchema(SCHEMAS / name) for name in ("junit-10.xsd", "jenkins-junit.xsd")}
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
ROSTER = {"primary": "U1", "secondary": "U2"}
WAYS = ("ended", "aborted", "running")


def run(path: Path, way: str) -> Debrief:
    h = CoreHarness(allowed_namespaces=frozenset(fault_namespaces()))
    outcome = h.engine.start(path.read_text(), "C1", "UFAC", ROSTER)
    assert outcome.ok, outcome
    gameday = outcome.gameday_id
    assert gameday is not None
    record = h.store.get(gameday)
    assert record is not None
    if record.status == "awaiting_approval":
        assert h.engine.approve(gameday, "UAPP", h.clock.now(), h.delivery(), frozenset({"UAPP"})).ok
    h.advance_to(h.clock.now() + 60)
    if way == "ended":
        h.engine.end(gameday, "UFAC")
    elif way == "aborted":
        h.engine.abort(gameday, "UFAC", "a real incident <started> & needs the team")
    record = h.store.get(gameday)
    assert record is not None
    return build_debrief_for(record, h.store.events(gameday))


def expected(d: Debrief) -> Counter[str]:
    """What each expectation should be in JUnit, from the debrief's outcomes and status."""
    broken = d.status in ("aborted", "failed")
    kinds: Counter[str] = Counter()
    for e in d.expectations:
        if broken and (e.outcome == "pending" or (e.outcome == "missed" and e.actual_seconds is None)):
            kinds["error"] += 1  # cut short before it could happen: not judged
        elif e.outcome == "missed":
            kinds["failure"] += 1
        elif e.outcome in ("pending", "not_applicable", "not_measured"):
            kinds["skipped"] += 1
        else:
            kinds["passed"] += 1
    for probe in d.steady_state.probes:  # a test case each: breached fails, never looked at is skipped
        if probe.breached:
            kinds["failure"] += 1
        elif not probe.looks:
            kinds["skipped"] += 1
        else:
            kinds["passed"] += 1
    return kinds


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_shipped_scenarios_junit_validates_against_both_schemas_and_reads_back(path: Path) -> None:
    seen: Counter[str] = Counter()
    for way in WAYS:
        d = run(path, way)
        xml = render_debrief(d, "junit")
        for name, schema in XSDS.items():
            errors = list(schema.iter_errors(xml))
            assert not errors, f"{path.stem} ({way}) against {name}: {errors[0]}"

        suites = list(JUnitXml.fromstring(xml.encode()))
        assert len(suites) == 1
        suite = suites[0]
        kinds: Counter[str] = Counter()
        for case in suite:
            results = case.result
            if any(isinstance(r, Failure) for r in results):
                kinds["failure"] += 1
            elif any(isinstance(r, Error) for r in results):
                kinds["error"] += 1
            elif any(isinstance(r, Skipped) for r in results):
                kinds["skipped"] += 1
            else:
                kinds["passed"] += 1
        want = expected(d)
        assert kinds == want, (path.stem, way)
        assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (
            len(d.expectations) + len(d.steady_state.probes),
            want["failure"],
            want["error"],
            want["skipped"],
        ), (path.stem, way)
        seen.update(kinds)
    assert seen["error"] or seen["skipped"], f"{path.stem}: no run left anything open"


def test_across_the_pack_every_kind_of_result_is_exercised() -> None:
    """The schemas are checked on failures, errors and skips alike, not on passing cases alone."""
    kinds: Counter[str] = Counter()
    for path in SCENARIOS:
        for way in WAYS:
            kinds.update(expected(run(path, way)))
    assert kinds["failure"] and kinds["error"] and kinds["skipped"], kinds


def test_a_skip_gives_its_reason_as_text_and_an_error_names_the_abort() -> None:
    d = run(ROOT / "scenarios" / "pager-stress.yaml", "aborted")
    suite = next(iter(JUnitXml.fromstring(render_debrief(d, "junit").encode())))
    errors = [r for case in suite for r in case.result if isinstance(r, Error)]
    assert errors and all(e.type == "aborted" for e in errors)
    assert all("a real incident <started> & needs the team" in (e.message or "") for e in errors)
    running = run(ROOT / "scenarios" / "pager-stress.yaml", "running")
    suite = next(iter(JUnitXml.fromstring(render_debrief(running, "junit").encode())))
    skips = [(case.classname, r) for case in suite for r in case.result if isinstance(r, Skipped)]
    pending = [s for classname, s in skips if not classname.endswith(".steady_state")]
    assert pending and all((s.text or "").startswith("pending") and s.message is None for s in pending)
    # the steady state, with no Prometheus here, was never looked at: its skip says why
    unmeasured = [s for classname, s in skips if classname.endswith(".steady_state")]
    assert [(s.text or "").split(";")[0] for s in unmeasured] == [
        "not measured: SCE_PROMETHEUS_URL is not set"
    ]

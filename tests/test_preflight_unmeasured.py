"""A steady state nobody can measure: with real faults, no Prometheus vetoes the start; when every fault
would be simulated (no cluster, a demo, a dry run) nothing real is at risk, so the game day runs, says its
steady state is not measured, and every debrief format lists it as not measured, never as held."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from core_harness import CoreHarness
from slack_sdk import WebClient
from test_faults_kmock import NAMESPACE, KubeTestServer

from bot.debrief.render import render_debrief
from bot.faults.registry import FaultDrivers
from bot.gameday.preflight import passed
from bot.gameday.scenario.loading import parse_scenario
from bot.gameday.state import Status, fold
from bot.gameday.timeline import Kind
from bot.slack.start_checks import StartChecks
from bot.workspace.server import LocalWorkspace

SCENARIO = f"""id: unmeasured
title: Steady state without Prometheus
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m, namespaces: [{NAMESPACE}]}}
steady_state:
  - {{name: error ratio, promql: 'sum(rate(errors_total[1m]))', expect: "< 0.5"}}
steps:
  - {{at: 0s, fault: {{type: k8s.network-deny, namespace: {NAMESPACE}, selector: {{app: web}}, ttl: 5m}}}}
  - {{at: 5m, say: "look at the dashboards"}}
"""


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


@pytest.fixture
def slack() -> Iterator[WebClient]:
    ws = LocalWorkspace().start()
    yield WebClient(token=ws.bot_token, base_url=ws.api_url)
    ws.stop()


def checks_for(slack: WebClient, drivers: FaultDrivers, dry_run: bool = False) -> list[str]:
    checks = StartChecks(slack, lambda: None, lambda: lambda *a: (200, None), drivers)
    found = checks(parse_scenario(SCENARIO), "C1", dry_run)
    return [c.line() for c in found if c.name == "prometheus"] + (["PASSED"] if passed(found) else [])


def test_no_prometheus_vetoes_real_faults_but_not_simulated_ones(
    kube: KubeTestServer, slack: WebClient
) -> None:
    real = checks_for(slack, FaultDrivers(kube.cluster(frozenset({NAMESPACE}))))
    assert len(real) == 1 and real[0].startswith("FAIL prometheus: ") and "SCE_PROMETHEUS_URL" in real[0], (
        real
    )
    simulated = checks_for(slack, FaultDrivers(None))  # no cluster: the fault would be simulated
    assert simulated[0].startswith("ok   prometheus: not measured:") and simulated[-1] == "PASSED", simulated
    dry = checks_for(slack, FaultDrivers(kube.cluster(frozenset({NAMESPACE}))), dry_run=True)
    assert dry[-1] == "PASSED", dry


def test_a_simulated_game_day_runs_with_its_steady_state_listed_as_not_measured() -> None:
    h = CoreHarness(allowed_namespaces=frozenset({NAMESPACE}))  # no Prometheus, faults simulated
    gd = h.engine.start(SCENARIO, "C1", "UFAC", {"primary": "U1"}).gameday_id
    assert gd is not None
    h.advance_to(h.clock.now() + 180)  # well past three looks: a blind watch would have stopped it
    events = h.store.events(gd)
    assert fold(events).status is Status.RUNNING
    looks = [e for e in events if e.kind is Kind.STEADY_STATE]
    assert [e.data["phase"] for e in looks] == ["unmeasured"]
    assert any(
        text.startswith("Steady state not measured: SCE_PROMETHEUS_URL is not set")
        for _, text in h.announcer.posts
    )
    assert h.engine.end(gd, "UFAC").ok
    debrief = h.posted_debrief()
    assert debrief.steady_state.not_measured_reason and not debrief.steady_state.breached
    assert [(n.name, n.evidence) for n in debrief.not_measured] == [("steady_state", "no_telemetry")]
    markdown = render_debrief(debrief, "md")
    assert "Not measured: SCE\\_PROMETHEUS\\_URL is not set" in markdown  # Markdown's escapes
    assert "Held while the game day ran" not in markdown
    html = render_debrief(debrief, "html").split('id="steady-verdict">')[1].split("</p>")[0]
    assert html.startswith("Not measured: SCE_PROMETHEUS_URL is not set") and "Held" not in html
    junit = render_debrief(debrief, "junit")
    assert "<skipped>not measured: SCE_PROMETHEUS_URL is not set" in junit

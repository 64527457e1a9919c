"""Steady state and the preflight veto against a real Prometheus: a scenario's probes (PromQL with a
tolerance) are checked before a game day starts; no data, a value out of tolerance, a refused query or an
unreachable Prometheus each stop the start with a sentence, in `sce preflight` and in `/sce start`."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from bot_process import SIGNING_SECRET, free_port
from core_harness import CoreHarness
from inprocess_bot import bot_on
from junitparser import Failure, JUnitXml
from prometheus_server import MetricsTarget, PrometheusServer, metrics, needs_prometheus
from test_debrief_honest import schema_valid
from test_junit_conformance import XSDS
from test_limits import validate
from test_more_steps import Target
from threads import start_gameday, wait_until
from typer.testing import CliRunner

from bot.cli import cli
from bot.debrief.render import render_debrief
from bot.gameday.preflight import Check, http_status, passed, preflight
from bot.gameday.running.steady_watch import AFTER_LOOKS, STEADY_EVERY
from bot.gameday.scenario.loading import parse_scenario
from bot.gameday.scenario.steady_state import parse_tolerance
from bot.gameday.timeline import Event, Kind
from bot.integrations.http_caller import RequestsCaller
from bot.integrations.prometheus import Prometheus
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

__all__ = ["metrics"]  # the module's Prometheus fixture

HEAD = """id: {id}
title: Steady drill
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m}}
steady_state:
{probes}steps:
  - {{at: 0s, say: hello}}
"""
HEALTHY = """  - {name: error ratio, promql: 'http_error_ratio{job="target"}', expect: "< 0.01"}
  - {name: checkout up, promql: 'checkout_up', expect: 1}
"""


def scenario_text(probes: str, scenario_id: str = "steady") -> str:
    return HEAD.format(id=scenario_id, probes=probes)


@pytest.mark.parametrize(
    ("written", "inside", "outside"),
    [
        ("< 0.01", [0.0, 0.0099], [0.01, 1.0, math.nan]),
        ("<= 1", [1.0, -5.0], [1.0001]),
        ("> 5", [5.1], [5.0]),
        (">=5", [5.0, 1e9], [4.99]),
        ("== 1", [1.0], [0.0, 2.0]),
        ("0.9..1.1", [0.9, 1.0, 1.1], [0.89, 1.2, math.inf]),
        ("-1e3 .. 2.5e-1", [-1000.0, 0.25], [0.26]),
    ],
)
def test_a_tolerance_holds_exactly_for_the_values_it_says(
    written: str, inside: list[float], outside: list[float]
) -> None:
    tolerance = parse_tolerance(written)
    assert all(tolerance.holds(v) for v in inside) and not any(tolerance.holds(v) for v in outside)


@pytest.mark.parametrize("expect", ["'less than 1'", "'1..0.5'", "''", "'< abc'", "'=< 3'", "[1, 2]"])
def test_validate_names_a_tolerance_it_cannot_read_at_its_line(tmp_path: Path, expect: str) -> None:
    path = tmp_path / "steady.yaml"
    path.write_text(scenario_text(f"  - name: x\n    promql: up\n    expect: {expect}\n"))
    code, lines = validate(path)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:8: steady_state[0].expect: "), lines


def checks(probes: str, url: str | None) -> list[Check]:
    return preflight(parse_scenario(scenario_text(probes)), Prometheus(url).query if url else None)


@needs_prometheus
def test_a_healthy_steady_state_passes_with_the_values_prometheus_has(
    metrics: tuple[PrometheusServer, MetricsTarget],
) -> None:
    server, _ = metrics
    found = checks(HEALTHY, server.url)
    assert passed(found)
    assert [c.line() for c in found] == [
        "ok   steady state: error ratio: 0.002 is within < 0.01",
        "ok   steady state: checkout up: 1 is within == 1",
    ]


@needs_prometheus
@pytest.mark.parametrize(
    ("probe", "said"),
    [
        (
            "{name: queue, promql: queue_depth, expect: '< 10'}",
            "50 is outside < 10: the system is not in its steady state",
        ),
        ("{name: gone, promql: 'no_such_metric', expect: '< 1'}", "the query returns no data"),
        ("{name: typo, promql: 'sum(rate(', expect: '< 1'}", "Prometheus refused the query: "),
        ("{name: range, promql: 'queue_depth[1m]', expect: '< 1'}", "is a matrix, not a number per series"),
        ("{name: nan, promql: 'queue_depth / 0 - queue_depth / 0', expect: '< 1'}", "nan is outside < 1"),
    ],
)
def test_each_way_a_probe_fails_vetoes_the_start_with_its_sentence(
    metrics: tuple[PrometheusServer, MetricsTarget], probe: str, said: str
) -> None:
    server, _ = metrics
    found = checks(HEALTHY + f"  - {probe}\n", server.url)
    assert not passed(found)
    assert [c.ok for c in found] == [True, True, False]
    assert said in found[-1].sentence, found[-1]


def test_an_unreachable_prometheus_or_none_configured_is_a_sentence() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    unreachable = checks(HEALTHY, closed)
    assert [c.ok for c in unreachable] == [False, False]
    assert (
        unreachable[0].sentence
        == f"cannot reach Prometheus at {closed}: the connection was refused or dropped"
    )
    unset = checks(HEALTHY, None)
    assert len(unset) == 1 and "SCE_PROMETHEUS_URL is not set" in unset[0].sentence
    assert preflight(parse_scenario(scenario_text("  []\n")), None) == []  # nothing declared, nothing asked


@needs_prometheus
def test_sce_preflight_prints_a_line_per_check_and_fails_when_one_fails(
    metrics: tuple[PrometheusServer, MetricsTarget], tmp_path: Path
) -> None:
    server, _ = metrics
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(scenario_text(HEALTHY, "good"))
    bad.write_text(scenario_text(HEALTHY + "  - {name: queue, promql: queue_depth, expect: '< 10'}\n", "bad"))
    env = {"SCE_PROMETHEUS_URL": server.url}
    passing = CliRunner().invoke(cli, ["preflight", str(good)], env=env)
    assert passing.exit_code == 0 and passing.stdout.count("ok   steady state") == 2, passing.stdout
    failing = CliRunner().invoke(cli, ["preflight", str(bad)], env=env)
    assert failing.exit_code == 1 and "FAIL steady state: queue: 50 is outside < 10" in failing.stdout
    unknown = CliRunner().invoke(
        cli, ["preflight", "no-such-scenario"], env={"SCE_SCENARIOS_DIR": str(tmp_path)}
    )
    assert unknown.exit_code == 1 and "There is no scenario `no-such-scenario`" in unknown.stderr


@needs_prometheus
def test_sce_start_does_not_start_a_game_day_whose_steady_state_does_not_hold(
    metrics: tuple[PrometheusServer, MetricsTarget], tmp_path: Path
) -> None:
    server, _ = metrics
    bad = HEALTHY + "  - {name: queue, promql: queue_depth, expect: '< 10'}\n"
    ws = LocalWorkspace(
        signing_secret=SIGNING_SECRET, users={"UFAC": "carol", "U1": "alice", "U2": "bob"}
    ).start()
    try:
        scenarios = {"vetoed": scenario_text(bad, "vetoed"), "healthy": scenario_text(HEALTHY, "healthy")}
        with bot_on(ws, tmp_path, scenarios=scenarios, prometheus_url=server.url) as bot:
            people = WorkspaceClient(ws.base_url)
            answer = people.slash("UFAC", "/sce", "start vetoed oncall=<@U1> secondary=<@U2>", channel="C1")
            assert answer["status"] == 200

            def vetoed() -> str | None:
                said = [e["text"] for e in people.ephemerals("UFAC") if "Preflight failed" in e["text"]]
                return said[0] if said else None

            text = wait_until(vetoed, what="the veto")
            assert "so the game day did not start" in text and "queue*: 50 is outside" in text, text
            assert bot.services.store.all() == []  # nothing was started, so nothing is left to undo
            start_gameday(people, "start healthy oncall=<@U1> secondary=<@U2>")
            assert [r.scenario_id for r in bot.services.store.all()] == ["healthy"]
            people.close()
    finally:
        ws.stop()


# --- while the game day runs ----------------------------------------------------------------------------
WATCHED = """id: watched
title: Watched drill
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m}}
steady_state:
  - {{name: drill errors, promql: '{query}', expect: "< 0.1"}}
steps:
  - {{at: 0s, fault: {{type: simulated.egress-block, ttl: 20m}}}}
  - {{at: 25m, say: done}}
"""


def watched_day(server: PrometheusServer, query: str) -> tuple[CoreHarness, str]:
    h = CoreHarness()
    h.engine.steady.query = Prometheus(server.url).query
    outcome = h.engine.start(WATCHED.format(query=query), "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    assert outcome.ok and outcome.gameday_id
    h.advance_to(h.clock.now() + 1)
    return h, outcome.gameday_id


def faults_in(h: CoreHarness, gameday: str) -> set[str]:
    """The faults applied and not reverted, from the timeline."""
    events = h.store.events(gameday)
    applied = {str(e.data.get("fault_id")) for e in events if e.kind is Kind.FAULT_APPLIED}
    return applied - {str(e.data.get("fault_id")) for e in events if e.kind is Kind.FAULT_REVERTED}


def steady_events(h: CoreHarness, gameday: str) -> list[Event]:
    return [e for e in h.store.events(gameday) if e.kind is Kind.STEADY_STATE]


@needs_prometheus
def test_a_breach_of_the_steady_state_while_it_runs_aborts_the_game_day_and_reverts_its_faults(
    metrics: tuple[PrometheusServer, MetricsTarget],
) -> None:
    server, target = metrics
    target.values["drill_error_ratio"] = 0.01
    server.wait_for("drill_error_ratio < 0.1")
    h, gameday = watched_day(server, "drill_error_ratio")
    assert faults_in(h, gameday)  # the fault is in
    h.advance_to(h.clock.now() + STEADY_EVERY)
    held = steady_events(h, gameday)
    assert [(e.data["breached"], e.data["probes"][0]["finding"]) for e in held] == [
        (False, "0.01 is within < 0.1")
    ]
    target.values["drill_error_ratio"] = 0.5  # the drill hurts more than it may
    server.wait_for("drill_error_ratio > 0.1")
    h.advance_to(h.clock.now() + STEADY_EVERY)
    record = h.store.get(gameday)
    assert record is not None and record.status == "aborted"
    assert not faults_in(h, gameday)  # reverted
    ended = [e for e in h.store.events(gameday) if e.kind is Kind.ENDED][0]
    assert ended.data["reason"] == "stopped: steady state breached (drill errors 0.5 is outside < 0.1)"
    assert any("Stopping the game day: steady state breached" in text for _, text in h.announcer.posts)
    # after the end it is looked at until it holds again: how long recovery took is said and recorded
    h.advance_to(h.clock.now() + STEADY_EVERY)
    assert [e.data["recovered"] for e in steady_events(h, gameday) if e.data["phase"] == "after"] == [False]
    target.values["drill_error_ratio"] = 0.02
    server.wait_for("drill_error_ratio < 0.1")
    h.advance_to(h.clock.now() + STEADY_EVERY)
    after = [e.data for e in steady_events(h, gameday) if e.data["phase"] == "after"]
    assert [(a["recovered"], a["after_seconds"]) for a in after] == [(False, 15), (True, 30)]
    said = [text for _, text in h.announcer.posts if text.startswith("Steady state recovered")]
    assert said == ["Steady state recovered: every probe within its tolerance 30 s after the end."]
    h.advance_to(h.clock.now() + 5 * STEADY_EVERY)
    assert len(steady_events(h, gameday)) == 4  # 2 while it ran, 2 after: no look once it recovered
    log = render_debrief(h.engine.debrief_from(h.store.get(gameday), h.store.events(gameday)), "md")  # type: ignore[arg-type]
    debrief = h.engine.debrief_from(h.store.get(gameday), h.store.events(gameday))  # type: ignore[arg-type]
    steady = schema_valid(debrief)["steady_state"]
    assert (steady["breached"], steady["recovered"], steady["recovered_after_seconds"]) == (True, True, 30)
    assert steady["probes"] == [
        {
            "name": "drill errors",
            "looks": 2,
            "held": 1,
            "breached": 1,
            "not_measured": 0,
            "first_breach_at": steady["probes"][0]["first_breach_at"],
            "last_finding": "0.5 is outside < 0.1",
            "recovered_after_seconds": 30,
        }
    ]
    junit = render_debrief(debrief, "junit")
    for schema in XSDS.values():
        schema.validate(junit)
    case = next(c for c in next(iter(JUnitXml.fromstring(junit.encode()))) if c.name == "drill errors")
    assert isinstance(case.result[0], Failure) and "0.5 is outside" in (case.result[0].message or "")
    markdown = render_debrief(debrief, "md")
    assert "## Steady state" in markdown and "Recovered 30s after the end." in markdown
    html = render_debrief(debrief, "html")
    verdict = html.split('id="steady-verdict">')[1].split("</p>")[0]
    assert "Breached while the game day ran" in verdict and "Recovered 30s after the end." in verdict
    assert "<td>drill errors</td>" in html.split('id="steady-state"')[1]
    log = log.replace("\\<", "<")  # Markdown's escape
    assert "steady state breached; drill errors: 0.5 is outside < 0.1" in log
    assert "steady state recovered 30 s after the end; drill errors: 0.02 is within < 0.1" in log


@needs_prometheus
def test_a_paused_game_day_is_still_watched_and_a_breach_stops_it(
    metrics: tuple[PrometheusServer, MetricsTarget],
) -> None:
    server, target = metrics
    target.values["paused_error_ratio"] = 0.01
    server.wait_for("paused_error_ratio < 0.1")
    h, gameday = watched_day(server, "paused_error_ratio")
    assert h.engine.pause(gameday, "UFAC").ok
    h.advance_to(h.clock.now() + STEADY_EVERY)  # a pause holds the steps, not the look at the system
    assert [e.data["breached"] for e in steady_events(h, gameday)] == [False]
    target.values["paused_error_ratio"] = 0.5
    server.wait_for("paused_error_ratio > 0.1")
    h.advance_to(h.clock.now() + STEADY_EVERY)
    record = h.store.get(gameday)
    assert record is not None and record.status == "aborted" and not faults_in(h, gameday)


@needs_prometheus
def test_a_steady_state_it_cannot_measure_is_said_then_stops_the_game_day_after_three_looks(
    metrics: tuple[PrometheusServer, MetricsTarget],
) -> None:
    server, _ = metrics
    h, gameday = watched_day(server, "vanished_metric")
    h.advance_to(h.clock.now() + STEADY_EVERY)
    warnings = [text for _, text in h.announcer.posts if "Steady state not measured" in text]
    assert len(warnings) == 1 and "the query returns no data" in warnings[0]
    record = h.store.get(gameday)
    assert record is not None and record.status == "running"  # one look blind: not yet
    h.advance_to(h.clock.now() + 2 * STEADY_EVERY)
    record = h.store.get(gameday)
    assert record is not None and record.status == "aborted"
    during = [e.data for e in steady_events(h, gameday) if e.data["phase"] == "during"]
    assert [d["blind"] for d in during] == [True, True, True]
    assert not faults_in(h, gameday)
    h.advance_to(h.clock.now() + AFTER_LOOKS * STEADY_EVERY)  # never measurable again: said once, at the last
    said = [text for _, text in h.announcer.posts if "Steady state not recovered" in text]
    assert said == [
        f":warning: Steady state not recovered {int(AFTER_LOOKS * STEADY_EVERY)} s after the end: "
        "drill errors: the query returns no data: check the metric's name and labels, and that "
        "Prometheus scrapes it."
    ]


# --- HTTP probes ------------------------------------------------------------------------------------------
HTTP_HEAD = """id: web
title: Web drill
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m, hosts: [{hosts}]}}
steady_state:
{probes}steps:
  - {{at: 0s, say: hello}}
"""


@pytest.mark.parametrize(
    ("probe", "hosts", "field", "said"),
    [
        (
            "{name: web, http: {url: 'http://web.example/healthz'}}",
            "api.example",
            "steady_state[0].http.url",
            "web.example is not in guardrails.hosts",
        ),
        (
            "{name: web, promql: up, expect: 1, http: {url: 'http://web.example/'}}",
            "web.example",
            "steady_state[0]",
            "either `promql:` (with `expect:`) or `http:`",
        ),
        ("{name: web}", "web.example", "steady_state[0]", "either `promql:` (with `expect:`) or `http:`"),
        ("{name: web, promql: up}", "web.example", "steady_state[0]", "`expect:` is missing"),
        (
            "{name: web, expect: 200, http: {url: 'http://web.example/'}}",
            "web.example",
            "steady_state[0]",
            "`expect:` belongs inside `http:`",
        ),
    ],
)
def test_validate_says_what_is_wrong_with_a_probe_at_its_line(
    tmp_path: Path, probe: str, hosts: str, field: str, said: str
) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(HTTP_HEAD.format(hosts=hosts, probes=f"  - {probe}\n"))
    code, lines = validate(path)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:6: {field}: ") and said in lines[0], lines


def test_an_http_probe_passes_on_its_status_and_fails_on_another_or_on_silence() -> None:
    target = Target(200)
    try:
        host = "127.0.0.1"
        probes = (
            f"  - {{name: web up, http: {{url: '{target.url}/healthz', expect: 200}}}}\n"
            f"  - {{name: api up, http: {{url: '{target.url}/api', expect: [200, 204]}}}}\n"
        )
        scenario = parse_scenario(HTTP_HEAD.format(hosts=host, probes=probes))
        ask = http_status(RequestsCaller())
        assert [c.line() for c in preflight(scenario, None, ask)] == [
            f"ok   steady state: web up: {target.url}/healthz answered 200",
            f"ok   steady state: api up: {target.url}/api answered 200",
        ]
        target.status = 503
        down = preflight(scenario, None, ask)
        assert [(c.ok, c.blind, c.finding) for c in down] == [
            (False, False, "503 is outside 200"),
            (False, False, "503 is outside 200 or 204"),
        ]
    finally:
        target.server.shutdown()
        target.server.server_close()
    silent = preflight(scenario, None, ask)  # nothing listens any more
    assert all(not c.ok and c.blind for c in silent), silent

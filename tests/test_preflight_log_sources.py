"""Preflight's log sources: every live `logs:` step must be readable before the game day starts. A pod
log source is asked of the Kubernetes test server as access reviews (list pods, get pods/log), a Loki
source of a local server that follows Loki's published HTTP API; a source not configured at all vetoes
a game day with real faults and only warns when every fault is simulated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from loki_server import LokiTestServer
from test_faults_kmock import NAMESPACE, OTHER_NAMESPACE, KubeTestServer

from bot.gameday.preflight import Check, passed
from bot.gameday.scenario.loading import parse_scenario
from bot.gameday.scenario.model import Scenario
from bot.integrations.log_sources.readable import log_source_checks

SCENARIO = f"""id: logs-preflight
title: Logs preflight
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m, namespaces: [{NAMESPACE}, {OTHER_NAMESPACE}]}}
steps:
  - at: 0s
    logs: {{source: {{source}}, {{where}}, match: "denied|refused"}}
  - {{at: 5m, say: done}}
"""


def scenario(source: str, where: str) -> Scenario:
    return parse_scenario(SCENARIO.replace("{source}", source).replace("{where}", where).replace("{{", "{"))


def pods(namespace: str = NAMESPACE) -> Scenario:
    return scenario("kubernetes", f"namespace: {namespace}, selector: {{app: web}}")


def loki() -> Scenario:
    return scenario("loki", "query: '{app=\"web\"}'")


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


@pytest.fixture
def loki_server() -> Iterator[LokiTestServer]:
    server = LokiTestServer()
    yield server
    server.close()


def lines(checks: list[Check]) -> list[str]:
    return [check.line() for check in checks]


def test_a_pod_log_source_is_asked_as_access_reviews_and_a_refusal_vetoes(kube: KubeTestServer) -> None:
    cluster = kube.cluster(frozenset({NAMESPACE}))
    allowed = log_source_checks(pods(), cluster, None, changes_nothing=False)
    assert lines(allowed) == [
        f"ok   kubernetes: list pods in {NAMESPACE}: allowed",
        f"ok   kubernetes: get pods/log in {NAMESPACE}: allowed",
    ]
    asked = [
        (r.get("verb"), r.get("resource"), r.get("subresource"), r.get("namespace")) for r in kube.reviews
    ]
    assert asked == [("list", "pods", None, NAMESPACE), ("get", "pods", "log", NAMESPACE)]

    kube.denied.add(("get", "", "pods", NAMESPACE))
    refused = log_source_checks(pods(), cluster, None, changes_nothing=True)
    assert not passed(refused)  # a refusal is never excused: the cluster is there and says no
    (failed,) = [c for c in refused if not c.ok]
    assert failed.sentence.startswith(f"the bot may not get pods/log in {NAMESPACE}")
    assert "its logs could not be followed" in failed.sentence


def test_a_namespace_the_deployment_does_not_allow_vetoes_without_asking(kube: KubeTestServer) -> None:
    cluster = kube.cluster(frozenset({NAMESPACE}))
    found = log_source_checks(pods(OTHER_NAMESPACE), cluster, None, False)
    assert lines(found) == [
        f"FAIL logs of step 0 (kubernetes): namespace {OTHER_NAMESPACE} is not in SCE_ALLOWED_NAMESPACES "
        "for this deployment"
    ]
    assert kube.reviews == []


@pytest.mark.parametrize("source", ["kubernetes", "loki"])
def test_a_source_not_configured_vetoes_real_faults_and_warns_when_nothing_is_real(source: str) -> None:
    spec = pods() if source == "kubernetes" else loki()
    real = log_source_checks(spec, None, None, changes_nothing=False)
    simulated = log_source_checks(spec, None, None, changes_nothing=True)
    assert not passed(real) and "configure it, or remove the step" in real[0].sentence
    assert passed(simulated) and simulated[0].sentence.startswith("not readable here: ")


def test_a_loki_source_is_asked_its_query_once_and_every_failure_is_a_sentence(
    loki_server: LokiTestServer,
) -> None:
    ok = log_source_checks(loki(), None, loki_server.url, False)
    assert lines(ok) == ["ok   logs of step 0 (loki): Loki answers the query"]
    (asked,) = loki_server.requests
    assert asked["query"] == '{app="web"}' and asked["limit"] == "1" and loki_server.problems == []
    assert 0 < int(asked["end"]) - int(asked["start"]) <= 300 * 10**9 + 10**9  # the last five minutes

    for status, said in (
        (401, "refused the query (401)"),
        (403, "refused the query (403)"),
        (503, "answered 503"),
    ):
        loki_server.status = status
        (check,) = log_source_checks(loki(), None, loki_server.url, True)
        assert not check.ok and said in check.sentence, check
    loki_server.status = None
    bad = parse_scenario(
        SCENARIO.replace("{source}", "loki")
        .replace("{where}", "query: '{app=~\"web\"} |= '")
        .replace("{{", "{")
    )
    (check,) = log_source_checks(bad, None, loki_server.url, False)
    assert not check.ok and check.sentence.startswith("Loki cannot run the query"), check
    gone = "http://127.0.0.1:9"
    (check,) = log_source_checks(loki(), None, gone, True)
    assert not check.ok and check.sentence.startswith(f"cannot reach Loki at {gone}"), check

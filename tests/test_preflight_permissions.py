"""Preflight asks the API server whether the bot may make every call a scenario's faults would make, and
every call undoing them would (SelfSubjectAccessReview, over HTTP against the Kubernetes test server): one
refused verb and the game day does not start, the check naming the verb, resource, namespace and Role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_faults_e2e import kubeconfig
from test_faults_kmock import NAMESPACE, KubeTestServer
from typer.testing import CliRunner

from bot.cli import cli
from bot.faults.access import needed_permissions, permission_checks
from bot.faults.registry import FaultDrivers
from bot.gameday.preflight import passed
from bot.gameday.scenario.loading import parse_scenario

HEAD = """id: perms
title: Permissions
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m, namespaces: [{ns}]}}
steps:
{steps}"""
POD_DELETE = "  - {at: 0s, fault: {type: k8s.pod-delete, namespace: %s, selector: {app: web}, ttl: 5m}}\n"
SCALE = "  - {at: 1s, fault: {type: k8s.scale, namespace: %s, deployment: web, replicas: 0, ttl: 5m}}\n"
CHAOS = (
    "  - {at: 2s, fault: {type: chaos-mesh.network-chaos, namespace: %s, selector: {app: web}, "
    "action: delay, external_targets: [kms.example], ttl: 5m}}\n"
)


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def scenario(*steps: str, namespace: str = NAMESPACE):  # type: ignore[no-untyped-def]
    return parse_scenario(HEAD.format(ns=namespace, steps="".join(step % namespace for step in steps)))


def test_every_call_a_fault_makes_and_its_undoing_is_asked_once(kube: KubeTestServer) -> None:
    drivers = FaultDrivers(kube.cluster())
    checks = permission_checks(scenario(POD_DELETE, SCALE, CHAOS), drivers)
    assert passed(checks)
    asked = [(r["verb"], r.get("group", ""), r["resource"], r["namespace"]) for r in kube.reviews]
    assert asked == [
        ("delete", "", "pods", NAMESPACE),
        ("list", "", "pods", NAMESPACE),
        ("get", "apps", "deployments", NAMESPACE),
        ("patch", "apps", "deployments", NAMESPACE),
        ("create", "chaos-mesh.org", "networkchaos", NAMESPACE),
        ("delete", "chaos-mesh.org", "networkchaos", NAMESPACE),
        ("list", "chaos-mesh.org", "networkchaos", NAMESPACE),
    ]
    assert [c.line() for c in checks][:2] == [
        f"ok   kubernetes: delete pods in {NAMESPACE}: allowed",
        f"ok   kubernetes: list pods in {NAMESPACE}: allowed",
    ]


@pytest.mark.parametrize(
    ("denied", "said"),
    [
        (
            ("delete", "", "pods", NAMESPACE),
            f"the bot may not delete pods in {NAMESPACE} (no RBAC policy matched)",
        ),
        (("patch", "apps", "deployments", NAMESPACE), "bind its Role there (deploy/role.yaml)"),
        (("delete", "chaos-mesh.org", "networkchaos", NAMESPACE), "(deploy/chaos-mesh-role.yaml)"),
    ],
)
def test_a_refused_verb_fails_its_check_naming_what_to_bind(
    kube: KubeTestServer, denied: tuple[str, str, str, str], said: str
) -> None:
    kube.denied.add(denied)
    checks = permission_checks(scenario(POD_DELETE, SCALE, CHAOS), FaultDrivers(kube.cluster()))
    failed = [c for c in checks if not c.ok]
    assert len(failed) == 1 and said in failed[0].sentence, failed
    assert not passed(checks)


def test_a_fault_outside_the_allowed_namespaces_fails_before_any_review(kube: KubeTestServer) -> None:
    checks = permission_checks(scenario(POD_DELETE, namespace="payments"), FaultDrivers(kube.cluster()))
    assert len(checks) == 1 and not checks[0].ok and "payments" in checks[0].sentence
    assert kube.reviews == []


def test_an_api_server_that_does_not_answer_fails_the_check(kube: KubeTestServer) -> None:
    drivers = FaultDrivers(kube.cluster())
    drivers.cluster.configuration.host = "http://127.0.0.1:9"  # type: ignore[union-attr]  # nothing listens
    checks = permission_checks(scenario(POD_DELETE), drivers)
    assert checks and all(not c.ok and c.blind for c in checks)
    assert "did not answer the access review" in checks[0].sentence


def test_without_a_cluster_or_a_fault_nothing_is_asked(kube: KubeTestServer) -> None:
    assert permission_checks(scenario(POD_DELETE), FaultDrivers(None)) == []
    assert permission_checks(scenario(POD_DELETE), None) == []
    no_fault = parse_scenario(HEAD.format(ns=NAMESPACE, steps="  - {at: 0s, say: hello}\n"))
    assert permission_checks(no_fault, FaultDrivers(kube.cluster())) == []
    assert kube.reviews == []


def test_needed_permissions_come_from_the_plan_with_their_undoing() -> None:
    plan = [
        {"verb": "create", "apiVersion": "v1", "kind": "Pod", "namespace": "a"},
        {"verb": "create", "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "namespace": "a"},
        {"verb": "create", "apiVersion": "v1", "kind": "Pod", "namespace": "a"},
        {"verb": "get", "apiVersion": "v1", "kind": "Unknown", "namespace": "a"},
    ]
    assert needed_permissions(plan) == [
        ("create", "", "pods", "a"),
        ("delete", "", "pods", "a"),
        ("list", "", "pods", "a"),
        ("create", "networking.k8s.io", "networkpolicies", "a"),
        ("delete", "networking.k8s.io", "networkpolicies", "a"),
        ("list", "networking.k8s.io", "networkpolicies", "a"),
    ]


def test_sce_preflight_asks_the_cluster_of_kubeconfig_and_fails_on_a_refused_verb(
    kube: KubeTestServer, tmp_path: Path
) -> None:
    path = tmp_path / "perms.yaml"
    path.write_text(HEAD.format(ns=NAMESPACE, steps=POD_DELETE % NAMESPACE))
    env = {"KUBECONFIG": str(kubeconfig(tmp_path, kube.url)), "SCE_ALLOWED_NAMESPACES": NAMESPACE}
    allowed = CliRunner().invoke(cli, ["preflight", str(path)], env=env)
    assert allowed.exit_code == 0, allowed.stdout
    assert allowed.stdout.splitlines() == [
        f"ok   kubernetes: delete pods in {NAMESPACE}: allowed",
        f"ok   kubernetes: list pods in {NAMESPACE}: allowed",
    ]
    kube.denied.add(("list", "", "pods", NAMESPACE))
    refused = CliRunner().invoke(cli, ["preflight", str(path)], env=env)
    assert refused.exit_code == 1
    assert (
        f"FAIL kubernetes: list pods in {NAMESPACE}: the bot may not list pods in {NAMESPACE}"
        in refused.stdout
    )

"""Guardrails come before any request reaches the cluster; the driver registry; the engine end to end.

The engine is the real one (in-memory store, virtual clock) with the real drivers pointed at the
Kubernetes test server, so these also show the drivers plug into the engine as it is today.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from recording_announcer import RecordingAnnouncer
from test_faults_kmock import NAMESPACE, OTHER_NAMESPACE, KubeTestServer

from bot.faults.cluster import Cluster
from bot.faults.kubernetes_driver import KubernetesDriver
from bot.faults.labels import object_name
from bot.faults.registry import NO_CLUSTER, FaultDrivers
from bot.gameday.clock import VirtualClock
from bot.gameday.memory_store import MemoryStore
from bot.gameday.ports import FaultRejected
from bot.gameday.running.engine import Engine
from bot.gameday.running.poller import fire_due_timers
from bot.gameday.scenario.model import FaultSpec

SCENARIO = """\
id: lab-deny
title: Deny web traffic
charter: {{objective: see who notices, hypothesis: the on-call notices within 5m}}
guardrails: {{namespaces: [{allowed}], max_duration: 30m}}
steps:
  - at: 0s
    fault: {{type: k8s.network-deny, namespace: {target}, selector: {{app: web}}, ttl: 10m}}
  - at: 20m
    say: the end
"""


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def engine_on(
    kube: KubeTestServer, deployment_allows: frozenset[str]
) -> tuple[Engine, MemoryStore, VirtualClock]:
    clock, store = VirtualClock(), MemoryStore()
    drivers = FaultDrivers(kube.cluster(deployment_allows))
    return Engine(store, RecordingAnnouncer(clock.now), clock.now, drivers, deployment_allows), store, clock


@pytest.mark.parametrize(
    "allowed, target, deployment",
    [
        (NAMESPACE, OTHER_NAMESPACE, {NAMESPACE, OTHER_NAMESPACE}),  # not in the scenario's list
        (OTHER_NAMESPACE, OTHER_NAMESPACE, {NAMESPACE}),  # not in SCE_ALLOWED_NAMESPACES
        ("kube-system", "kube-system", {"kube-system"}),  # never a system namespace
    ],
)
def test_the_engine_refuses_a_fault_outside_the_allow_list_before_any_request(
    kube: KubeTestServer, allowed: str, target: str, deployment: set[str]
) -> None:
    engine, _, _ = engine_on(kube, frozenset(deployment))
    outcome = engine.start(SCENARIO.format(allowed=allowed, target=target), "C1", "UFAC", {"primary": "U1"})
    assert not outcome.ok and "namespace" in outcome.message
    assert kube.bot_requests() == []


def test_the_driver_refuses_on_its_own_too_before_any_request(kube: KubeTestServer) -> None:
    """Defence in depth: a caller that skipped the engine's check still cannot reach the cluster."""
    drv = KubernetesDriver(kube.cluster(frozenset({NAMESPACE, "kube-system"})))
    assert drv.cluster.allowed_namespaces == {NAMESPACE}
    for namespace in (OTHER_NAMESPACE, "kube-system", None):
        fault = FaultSpec(type="k8s.network-deny", namespace=namespace, selector={"app": "web"})
        with pytest.raises(FaultRejected):
            drv.plan("gd-1", "f1", fault, 0)
        with pytest.raises(FaultRejected):
            drv.apply("gd-1", "f1", fault, 0)
    assert kube.bot_requests() == []


def test_an_allowed_fault_is_applied_by_the_engine_and_abort_reverts_it(kube: KubeTestServer) -> None:
    engine, store, clock = engine_on(kube, frozenset({NAMESPACE}))
    outcome = engine.start(
        SCENARIO.format(allowed=NAMESPACE, target=NAMESPACE), "C1", "UFAC", {"primary": "U1"}
    )
    assert outcome.ok and outcome.gameday_id
    clock.advance(1)
    fire_due_timers(store, engine, clock.now())
    name = object_name(outcome.gameday_id, "f0", "deny")
    assert kube.names("networkpolicies", NAMESPACE) == [name]
    assert engine.abort(outcome.gameday_id, "UFAC", "drill over").ok
    assert kube.names("networkpolicies", NAMESPACE) == []


def test_without_a_cluster_cluster_faults_are_simulated_and_say_why() -> None:
    drivers = FaultDrivers(None)
    fault = FaultSpec(type="k8s.network-deny", namespace=NAMESPACE, selector={"app": "web"})
    sentence = drivers.apply("gd-1", "f1", fault, 0)
    assert sentence == f"simulated k8s.network-deny in {NAMESPACE}: {NO_CLUSTER}"
    assert drivers.driver_for("chaos-mesh.pod-chaos").name == "simulated"
    assert drivers.driver_for("simulated").name == "simulated"
    assert drivers.observe("gd-1", "f1") is None
    assert drivers.revert("gd-1", "f1") == "simulated fault reverted"
    assert drivers.revert_expired([NAMESPACE], 0).sentences == []
    with pytest.raises(FaultRejected, match="unknown fault type"):
        drivers.driver_for("ssh.reboot")


def test_with_a_cluster_each_family_has_its_driver(kube: KubeTestServer) -> None:
    drivers = FaultDrivers(kube.cluster())
    assert drivers.driver_for("k8s.scale").name == "kubernetes"
    assert drivers.driver_for("chaos-mesh.dns-chaos").name == "chaos-mesh"
    assert drivers.named("chaos-mesh") is drivers.driver_for("chaos-mesh.pod-chaos")


def test_without_chaos_mesh_its_faults_are_refused_and_its_kinds_never_listed(kube: KubeTestServer) -> None:
    drivers = FaultDrivers(kube.cluster(), chaos_mesh=False)
    with pytest.raises(FaultRejected, match="not enabled"):
        drivers.driver_for("chaos-mesh.pod-chaos")
    assert drivers.revert_expired([NAMESPACE], 0).failed == []
    assert not any(r.resource and r.resource.group == "chaos-mesh.org" for r in kube.bot_requests())


def test_the_cluster_comes_from_kubeconfig_or_nowhere(kube: KubeTestServer, tmp_path: Path) -> None:
    assert Cluster.from_environment({NAMESPACE}, {"KUBECONFIG": str(tmp_path / "missing")}) is None
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
        f"clusters: [{{name: lab, cluster: {{server: '{kube.url}'}}}}]\n"
        "users: [{name: bot, user: {token: not-a-secret}}]\n"
        "contexts: [{name: lab, context: {cluster: lab, user: bot}}]\n"
    )
    cluster = Cluster.from_environment({NAMESPACE}, {"KUBECONFIG": str(config)})
    assert cluster is not None
    FaultDrivers(cluster).apply(
        "gd-1", "f1", FaultSpec(type="k8s.honeytoken", namespace=NAMESPACE), 1_800_000_000
    )
    assert kube.names("secrets", NAMESPACE) == [object_name("gd-1", "f1", "honeytoken")]
    (request,) = kube.bot_requests()
    assert request.headers.get("Authorization") == "Bearer not-a-secret"

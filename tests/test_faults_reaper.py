"""The reaper finds expired faults from the cluster alone: orphans no database knows are reverted too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kmock
import pytest
from test_faults_kmock import NAMESPACE, OTHER_NAMESPACE, KubeTestServer

from bot.faults.kubernetes_driver import KubernetesDriver
from bot.faults.labels import EXPIRES_AT, FAULT, GAMEDAY, MANAGED_BY, ORIGINAL_REPLICAS, rfc3339
from bot.faults.reaper import revert_expired
from bot.gameday.scenario.model import FaultSpec

NOW = 1_800_000_000.0


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def orphan(name: str, expires_at: float, fault: str = "f1") -> dict[str, Any]:
    """An object as a crashed bot would have left it: labels and lease, and no record anywhere else."""
    return {
        "metadata": {
            "name": name,
            "labels": {MANAGED_BY: "sce", GAMEDAY: "gd-dead0001", FAULT: fault},
            "annotations": {EXPIRES_AT: rfc3339(expires_at)},
        },
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }


def test_an_expired_orphan_is_deleted_and_an_unexpired_one_is_left(kube: KubeTestServer) -> None:
    kube.create("networkpolicies", NAMESPACE, orphan("sce-expired", NOW - 60))
    kube.create("networkpolicies", NAMESPACE, orphan("sce-still-leased", NOW + 60))
    kube.create("networkpolicies", NAMESPACE, {"metadata": {"name": "not-ours"}, "spec": {"podSelector": {}}})
    report = revert_expired(kube.cluster(), [NAMESPACE], NOW)
    assert (
        report.reverted == ["deleted NetworkPolicy chaos-lab/sce-expired (expired 2027-01-15T07:59:00Z)"]
        and report.failed == []
    )
    assert kube.names("networkpolicies", NAMESPACE) == ["not-ours", "sce-still-leased"]
    again = revert_expired(kube.cluster(), [NAMESPACE], NOW)  # idempotent: nothing more to do
    assert again.reverted == [] and again.failed == []


def test_every_kind_the_bot_makes_is_reaped_including_a_scaled_deployment(kube: KubeTestServer) -> None:
    kube.create("deployments", NAMESPACE, {"metadata": {"name": "web"}, "spec": {"replicas": 4}})
    drv = KubernetesDriver(kube.cluster(), sinkhole_domain="sinkhole.example")
    faults: list[dict[str, Any]] = [
        {"type": "k8s.attack-pod", "probe": "dns-beacon"},
        {"type": "k8s.honeytoken"},
        {"type": "k8s.network-deny", "selector": {"app": "web"}},
        {"type": "k8s.scale", "deployment": "web", "replicas": 0},
    ]
    for index, keys in enumerate(faults):
        spec = FaultSpec.model_validate({"namespace": NAMESPACE, "ttl": 60, **keys})
        drv.apply("gd-crashed", f"f{index}", spec, NOW - 1)
    report = revert_expired(kube.cluster(), [NAMESPACE], NOW)
    assert report.failed == [] and len(report.reverted) == 5, report.reverted
    for plural in ("pods", "secrets", "networkpolicies"):
        assert kube.names(plural, NAMESPACE) == [], plural
    web = kube.read("deployments", NAMESPACE, "web") or {}
    assert web["spec"]["replicas"] == 4 and ORIGINAL_REPLICAS not in (
        web["metadata"].get("annotations") or {}
    )


def test_chaos_mesh_orphans_are_reaped_too(kube: KubeTestServer) -> None:
    body = orphan("sce-podchaos", NOW - 1)
    body["spec"] = {"action": "pod-kill", "mode": "one", "duration": "60s"}
    kube.create("podchaos", NAMESPACE, body)
    report = revert_expired(kube.cluster(), [NAMESPACE], NOW)
    assert report.reverted == ["deleted PodChaos chaos-lab/sce-podchaos (expired 2027-01-15T07:59:59Z)"]


def test_the_reaper_never_leaves_the_deployment_allow_list(kube: KubeTestServer) -> None:
    kube.create("networkpolicies", OTHER_NAMESPACE, orphan("sce-expired", NOW - 60))
    report = revert_expired(kube.cluster(frozenset({NAMESPACE})), [NAMESPACE, OTHER_NAMESPACE], NOW)
    assert report.reverted == [] and kube.names("networkpolicies", OTHER_NAMESPACE) == ["sce-expired"]
    assert {r.namespace for r in kube.bot_requests()} == {NAMESPACE}


def test_an_object_without_a_readable_lease_is_reported_and_left(kube: KubeTestServer) -> None:
    body = orphan("sce-no-lease", NOW)
    body["metadata"]["annotations"] = {EXPIRES_AT: "soon"}
    kube.create("networkpolicies", NAMESPACE, body)
    report = revert_expired(kube.cluster(), [NAMESPACE], NOW)
    assert report.reverted == [] and report.failed == [
        "NetworkPolicy chaos-lab/sce-no-lease has no readable expiry annotation; left in place"
    ]
    assert report.sentences == ["failed: " + report.failed[0]]


def test_a_transient_error_is_retried_and_a_refusal_is_reported_not_raised(kube: KubeTestServer) -> None:
    kube.create("networkpolicies", NAMESPACE, orphan("sce-flaky", NOW - 60))
    kube.create("networkpolicies", NAMESPACE, orphan("sce-forbidden", NOW - 60))
    answers = iter([kmock.KubernetesError(status=503, reason="ServiceUnavailable", message="try again")])
    emulator = kube.emulator
    assert emulator is not None
    emulator["delete", kmock.name("sce-flaky")] << (lambda: next(answers))  # once, then the real server
    emulator["delete", kmock.name("sce-forbidden")] << kmock.KubernetesError(
        status=403, reason="Forbidden", message="RBAC says no"
    )
    report = revert_expired(kube.cluster(), [NAMESPACE], NOW)
    flaky = [r for r in kube.bot_requests() if r.method == "DELETE" and r.name == "sce-flaky"]
    assert len(flaky) == 2  # retried after the 503
    # kmock applies a delete before a reaction answers, like a server whose reply was lost: the retry
    # then finds the object gone, which is success.
    assert report.reverted == [
        "NetworkPolicy chaos-lab/sce-flaky was already gone (expired 2027-01-15T07:59:00Z)"
    ]
    assert report.failed == ["could not revert NetworkPolicy chaos-lab/sce-forbidden: 403 Forbidden"]

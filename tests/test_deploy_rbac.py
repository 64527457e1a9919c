"""deploy/ grants the bot exactly the API calls its drivers make: each one, and nothing more.

The calls are not listed by hand: every fault type is applied, observed and reverted, and the reaper
run, against the Kubernetes test server, and the (group, resource, verb) of each HTTP request the bot
sent is what the Role and the Chaos Mesh ClusterRole must allow.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from test_faults_kmock import NAMESPACE, KubeTestServer
from test_faults_manifests import SCHEMA

from bot.faults.labels import object_name
from bot.faults.registry import FaultDrivers
from bot.gameday.scenario.model import FaultSpec

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
GD, NOW = "gd-rbac0001", 1_800_000_000.0
Call = tuple[str, str, str]  # (API group, resource, verb)


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def documents() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted(DEPLOY.glob("*.yaml"))
        if path.name != "kustomization.yaml"  # kustomize's own file, not a Kubernetes object
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def granted(kind: str) -> set[Call]:
    return {
        (group, resource, verb)
        for doc in documents()
        if doc["kind"] == kind
        for rule in doc["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


CHAOS_FAULTS: list[dict[str, Any]] = [
    {"type": "chaos-mesh.pod-chaos"},
    {"type": "chaos-mesh.network-chaos", "external_targets": ["kms.example"]},
    {"type": "chaos-mesh.dns-chaos", "patterns": ["kms.*"]},
]
K8S_FAULTS: list[dict[str, Any]] = [
    {"type": "k8s.pod-delete", "selector": {"app": "web"}},
    {"type": "k8s.network-deny", "selector": {"app": "web"}},
    {"type": "k8s.attack-pod", "probe": "sa-token"},
    {"type": "k8s.honeytoken"},
    {"type": "k8s.scale", "deployment": "web", "replicas": 0},
    {"type": "k8s.token-revoke", "secret": "ci-token"},
    {"type": "k8s.token-revoke", "service_account": "legacy"},
]


def every_code_path(kube: KubeTestServer) -> set[Call]:
    """Apply, observe and revert every fault type, then reap expired ones; the calls the bot made."""
    for name in ("web-1", "web-2"):
        kube.pod(name, {"app": "web"})
    kube.create("deployments", NAMESPACE, {"metadata": {"name": "web"}, "spec": {"replicas": 2}})
    for name, account in (("ci-token", "ci"), ("ci-legacy", "legacy")):
        meta = {"name": name, "annotations": {"kubernetes.io/service-account.name": account}}
        kube.create("secrets", NAMESPACE, {"metadata": meta, "type": "kubernetes.io/service-account-token"})
    drivers = FaultDrivers(kube.cluster(), sinkhole_domain="sinkhole.example")
    for index, keys in enumerate(K8S_FAULTS + CHAOS_FAULTS):
        spec = FaultSpec.model_validate(
            {"namespace": NAMESPACE, "selector": {"app": "web"}, "ttl": 60, **keys}
        )
        drivers.apply(GD, f"f{index}", spec, NOW - 1)
        kube.logs[(NAMESPACE, object_name(GD, f"f{index}", "probe"))] = "SCE-PROBE-RESULT blocked no token\n"
        drivers.observe(GD, f"f{index}")
        if index % 2:
            drivers.revert(GD, f"f{index}")  # the others are left for the reaper
    report = drivers.revert_expired([NAMESPACE], NOW)
    assert report.failed == [] and report.reverted
    return kube.calls()


def test_the_roles_allow_every_call_the_drivers_make_and_nothing_more(kube: KubeTestServer) -> None:
    calls = every_code_path(kube)
    core = {call for call in calls if call[0] != "chaos-mesh.org"}
    chaos = calls - core
    for kind, used in (("Role", core), ("ClusterRole", chaos)):
        missing, unused = sorted(used - granted(kind)), sorted(granted(kind) - used)
        assert not missing and not unused, f"{kind}: missing {missing}; granted but never used {unused}"


def test_nothing_is_granted_cluster_wide() -> None:
    kinds = {doc["kind"] for doc in documents()}
    assert "ClusterRoleBinding" not in kinds
    bindings = [doc for doc in documents() if doc["kind"] == "RoleBinding"]
    assert bindings and all(b["metadata"]["namespace"] == NAMESPACE for b in bindings)
    assert {s["name"] for b in bindings for s in b["subjects"]} == {"sce"}


@pytest.mark.parametrize("doc", documents(), ids=lambda d: f"{d['kind']}-{d['metadata']['name']}")
def test_every_deploy_manifest_is_schema_valid(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, SCHEMA, strict=True)

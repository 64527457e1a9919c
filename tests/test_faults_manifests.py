"""Every manifest any driver can render validates against the Kubernetes schema of the client's version.

Chaos Mesh resources are custom (no schema ships for them): their metadata is validated as the
metadata of a core object, and their ``spec.duration`` must be the fault's ttl.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import kubernetes
import kubernetes_validate
import pytest
from kubernetes import client as k8s

from bot.faults.chaos_mesh import ChaosMeshDriver
from bot.faults.cluster import Cluster
from bot.faults.kubernetes_driver import KubernetesDriver
from bot.faults.labels import EXPIRES_AT, FAULT, GAMEDAY, MANAGED_BY
from bot.gameday.scenario.model import FaultSpec

GD, EXPIRES = "gd-0badcafe", 1_800_000_600.0
CLIENT_MINOR = int(kubernetes.__version__.split(".")[0])  # client 37.x speaks Kubernetes 1.37
SCHEMA = min(f"1.{CLIENT_MINOR}", kubernetes_validate.latest_version(), key=lambda v: int(v.split(".")[1]))

K8S_FAULTS: list[dict[str, Any]] = [
    {"type": "k8s.pod-delete", "selector": {"app": "web"}, "count": 2},
    {"type": "k8s.network-deny", "selector": {"app": "web"}},
    {"type": "k8s.network-deny", "selector": {"app": "web"}, "direction": "ingress"},
    {"type": "k8s.network-deny", "selector": {"app": "web"}, "direction": "egress"},
    {"type": "k8s.attack-pod", "probe": "metadata"},
    {"type": "k8s.attack-pod", "probe": "credential-read", "secret": "payments-db"},
    {"type": "k8s.attack-pod", "probe": "dns-beacon"},
    {"type": "k8s.attack-pod", "probe": "dns-beacon", "sinkhole": "canary.example"},
    {"type": "k8s.attack-pod", "probe": "tcp-connect", "target": "10.0.0.7:5432"},
    {"type": "k8s.attack-pod", "probe": "tcp-connect", "target": "db.payments.svc:5432"},
    {"type": "k8s.attack-pod", "probe": "sa-token"},
    {"type": "k8s.honeytoken"},
    {"type": "k8s.honeytoken", "secret_name": "payments-db-backup"},
    {"type": "k8s.scale", "deployment": "web", "replicas": 0},
    {"type": "k8s.token-revoke", "secret": "ci-token"},
    {"type": "k8s.token-revoke", "service_account": "ci"},
]
CHAOS_FAULTS: list[dict[str, Any]] = [
    {"type": "chaos-mesh.pod-chaos"},
    {"type": "chaos-mesh.pod-chaos", "action": "pod-failure", "mode": "fixed-percent", "value": "50"},
    {"type": "chaos-mesh.pod-chaos", "action": "container-kill", "container_names": ["app"]},
    {"type": "chaos-mesh.network-chaos", "external_targets": ["kms.eu-west-1.amazonaws.com"]},
    {"type": "chaos-mesh.network-chaos", "action": "loss", "loss": "30", "external_targets": ["10.1.2.3"]},
    {"type": "chaos-mesh.network-chaos", "action": "partition", "external_targets": ["kms.example"]},
    {"type": "chaos-mesh.dns-chaos", "patterns": ["kms.*.amazonaws.com"]},
    {"type": "chaos-mesh.dns-chaos", "action": "random", "patterns": ["vault.example"], "mode": "all"},
]


def cluster() -> Cluster:
    """Planning makes no request, so the client points nowhere."""
    return Cluster(k8s.ApiClient(k8s.Configuration(host="http://127.0.0.1:9")), {"chaos-lab"})


def fault(keys: dict[str, Any]) -> FaultSpec:
    return FaultSpec.model_validate(
        {"namespace": "chaos-lab", "ttl": "10m", **keys, "selector": keys.get("selector", {"app": "web"})}
    )


def fault_id(keys: dict[str, Any]) -> str:
    return "f" + str((K8S_FAULTS + CHAOS_FAULTS).index(keys))


def assert_marked(metadata: dict[str, Any], fid: str) -> None:
    assert metadata["labels"][GAMEDAY] == GD and metadata["labels"][FAULT] == fid
    assert metadata["labels"][MANAGED_BY] == "sce"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", metadata["annotations"][EXPIRES_AT])


def sample_deployment() -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "chaos-lab"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template},
    }


def merged(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        out[key] = merged(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


@pytest.mark.parametrize(
    "keys", K8S_FAULTS, ids=lambda k: "-".join(str(v) for v in k.values() if isinstance(v, str))
)
def test_every_kubernetes_fault_renders_schema_valid_objects(keys: dict[str, Any]) -> None:
    fid = fault_id(keys)
    drv = KubernetesDriver(cluster(), sinkhole_domain="sinkhole.example", sinkhole_cidr="192.0.2.53/32")
    plan = drv.plan(GD, fid, fault(keys), EXPIRES)
    assert plan, keys
    for call in plan:
        assert call["namespace"] == "chaos-lab" and call["verb"] in {
            "create",
            "get",
            "list",
            "patch",
            "delete",
        }
        if call["verb"] == "create":
            kubernetes_validate.validate(call["body"], SCHEMA, strict=True)
            assert_marked(call["body"]["metadata"], fid)
            if call["kind"] == "Pod":
                assert call["body"]["spec"]["activeDeadlineSeconds"] == 600
        if call["verb"] == "patch":  # the patched object must still be a valid Deployment
            kubernetes_validate.validate(merged(sample_deployment(), call["body"]), SCHEMA, strict=True)


@pytest.mark.parametrize(
    "keys", CHAOS_FAULTS, ids=lambda k: "-".join(str(v) for v in k.values() if isinstance(v, str))
)
def test_every_chaos_mesh_resource_has_valid_metadata_and_a_duration(keys: dict[str, Any]) -> None:
    fid = fault_id(keys)
    (call,) = ChaosMeshDriver(cluster()).plan(GD, fid, fault(keys), EXPIRES)
    body = call["body"]
    assert body["apiVersion"] == "chaos-mesh.org/v1alpha1" and call["verb"] == "create"
    carrier = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": body["metadata"]}
    kubernetes_validate.validate(carrier, SCHEMA, strict=True)
    assert_marked(body["metadata"], fid)
    assert body["spec"]["duration"] == "600s"
    assert body["spec"]["selector"] == {"namespaces": ["chaos-lab"], "labelSelectors": {"app": "web"}}
    assert body["spec"]["mode"] in {"one", "all", "fixed", "fixed-percent", "random-max-percent"}


def test_the_schema_version_follows_the_client() -> None:
    assert f"1.{CLIENT_MINOR}" == SCHEMA, (
        f"kubernetes-validate ships up to {kubernetes_validate.latest_version()}"
    )


def test_an_invalid_manifest_is_caught_by_the_validator() -> None:
    """The check above is not vacuous: a pod with a bad field does not validate."""
    drv = KubernetesDriver(cluster(), sinkhole_domain="sinkhole.example")
    pod = drv.plan(GD, "f1", fault({"type": "k8s.attack-pod", "probe": "metadata"}), EXPIRES)[1]["body"]
    pod["spec"]["activeDeadlineSeconds"] = "ten minutes"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, SCHEMA, strict=True)

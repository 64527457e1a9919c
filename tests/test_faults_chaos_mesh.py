"""The chaos-mesh driver against the Kubernetes test server (CustomObjectsApi, chaos-mesh.org/v1alpha1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_faults_kmock import NAMESPACE, KubeTestServer

from bot.faults.chaos_mesh import ChaosMeshDriver
from bot.faults.labels import EXPIRES_AT, FAULT, GAMEDAY, MANAGED_BY, object_name
from bot.gameday.ports import FaultRejected
from bot.gameday.scenario.model import FaultSpec

GD, EXPIRES = "gd-0badcafe", 1_800_000_600.0
FAULTS = [
    ("podchaos", {"type": "chaos-mesh.pod-chaos", "action": "pod-kill"}),
    (
        "networkchaos",
        {"type": "chaos-mesh.network-chaos", "action": "delay", "external_targets": ["kms.example"]},
    ),
    ("dnschaos", {"type": "chaos-mesh.dns-chaos", "patterns": ["kms.*"]}),
]


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def spec(keys: dict[str, Any]) -> FaultSpec:
    return FaultSpec.model_validate(
        {"namespace": NAMESPACE, "selector": {"app": "web"}, "ttl": "90s", **keys}
    )


@pytest.mark.parametrize("plural, keys", FAULTS, ids=[plural for plural, _ in FAULTS])
def test_each_chaos_resource_is_created_with_duration_and_labels_then_reverted(
    kube: KubeTestServer, plural: str, keys: dict[str, Any]
) -> None:
    drv = ChaosMeshDriver(kube.cluster())
    sentence = drv.apply(GD, "f1", spec(keys), EXPIRES)
    name = object_name(GD, "f1", plural)
    created = kube.read(plural, NAMESPACE, name)
    assert created is not None and created == drv.plan(GD, "f1", spec(keys), EXPIRES)[0]["body"]
    assert created["spec"]["duration"] == "90s"
    labels = created["metadata"]["labels"]
    assert labels[GAMEDAY] == GD and labels[FAULT] == "f1" and labels[MANAGED_BY] == "sce"
    assert EXPIRES_AT in created["metadata"]["annotations"]
    assert sentence.startswith(f"created {created['kind']} chaos-lab/{name}") and "90s" in sentence
    assert drv.observe(GD, "f1") is None
    assert drv.revert(GD, "f1") == f"reverted fault f1: deleted {created['kind']} chaos-lab/{name}"
    assert drv.revert(GD, "f1").startswith("nothing left to revert")
    assert kube.names(plural, NAMESPACE) == []


def test_network_chaos_delays_traffic_to_an_external_endpoint(kube: KubeTestServer) -> None:
    keys = {
        "type": "chaos-mesh.network-chaos",
        "external_targets": ["kms.eu-west-1.amazonaws.com"],
        "latency": "2s",
    }
    ChaosMeshDriver(kube.cluster()).apply(GD, "f2", spec(keys), EXPIRES)
    chaos = kube.read("networkchaos", NAMESPACE, object_name(GD, "f2", "networkchaos")) or {}
    assert chaos["spec"]["externalTargets"] == ["kms.eu-west-1.amazonaws.com"]
    assert chaos["spec"]["direction"] == "to" and chaos["spec"]["delay"]["latency"] == "2s"


def test_revert_without_chaos_mesh_installed_is_a_no_op(kube: KubeTestServer) -> None:
    with KubeTestServer(resources=("pods",)) as bare:
        assert ChaosMeshDriver(bare.cluster()).revert(GD, "f1").startswith("nothing left to revert")


def test_a_bad_chaos_spec_is_refused_before_any_request(kube: KubeTestServer) -> None:
    drv = ChaosMeshDriver(kube.cluster())
    for keys, problem in [
        ({"type": "chaos-mesh.network-chaos"}, "external_targets"),
        ({"type": "chaos-mesh.pod-chaos", "mode": "fixed"}, "`value:` must be a whole number above 0"),
        ({"type": "chaos-mesh.pod-chaos", "action": "container-kill"}, "container_names"),
        ({"type": "chaos-mesh.time-chaos"}, "unknown fault type"),
    ]:
        with pytest.raises(FaultRejected, match=problem):
            drv.apply(GD, "f3", spec(keys), EXPIRES)
    assert kube.bot_requests() == []

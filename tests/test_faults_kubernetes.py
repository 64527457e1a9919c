"""The kubernetes driver against the Kubernetes test server: every fault type applies, observes and
reverts over real HTTP, reverting twice is fine, and a restarted bot can still revert."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_faults_kmock import NAMESPACE, KubeTestServer

from bot.faults.attack_pod import CONTAINER
from bot.faults.kubernetes_driver import KubernetesDriver
from bot.faults.labels import EXPIRES_AT, FAULT, GAMEDAY, MANAGED_BY, ORIGINAL_REPLICAS, marker, object_name
from bot.faults.undo import CORE_KINDS
from bot.gameday.ports import FaultRejected, Observation
from bot.gameday.scenario.model import FaultSpec

GD, NOW = "gd-0badcafe", 1_800_000_000.0
EXPIRES = NOW + 600


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def spec(type_: str, selector: dict[str, str] | None = None, **extra: Any) -> FaultSpec:
    return FaultSpec.model_validate(
        {"type": type_, "namespace": NAMESPACE, "selector": selector or {}, "ttl": "10m", **extra}
    )


def driver(kube: KubeTestServer) -> KubernetesDriver:
    return KubernetesDriver(kube.cluster(), sinkhole_domain="sinkhole.example", sinkhole_cidr="192.0.2.53/32")


def assert_ours(obj: dict[str, Any] | None, fault_id: str) -> dict[str, Any]:
    assert obj is not None
    meta = obj["metadata"]
    assert meta["labels"][GAMEDAY] == GD and meta["labels"][FAULT] == fault_id
    assert meta["labels"][MANAGED_BY] == "sce"
    assert meta["annotations"][EXPIRES_AT] == "2027-01-15T08:10:00Z"
    return obj


def reverted_twice(drv: KubernetesDriver, fault_id: str) -> str:
    first = drv.revert(GD, fault_id)
    second = drv.revert(GD, fault_id)
    assert second.startswith("nothing left to revert"), second
    return first


def test_pod_delete_deletes_count_pods_of_the_selector_filtered_on_our_side(kube: KubeTestServer) -> None:
    for name in ("web-1", "web-2", "web-3"):
        kube.pod(name, {"app": "web"})
    kube.pod("db-1", {"app": "db"})
    drv = driver(kube)
    sentence = drv.apply(GD, "f1", spec("k8s.pod-delete", {"app": "web"}, count=2), EXPIRES)
    left = kube.names("pods", NAMESPACE)
    assert "db-1" in left and len(left) == 2, left
    assert sentence.startswith("picked 2 of 3 pods (count 2") and "; deleted pods " in sentence
    assert "recreate" in sentence
    assert drv.observe(GD, "f1") is None
    assert reverted_twice(drv, "f1").startswith("nothing left to revert")  # nothing to undo, said so


def test_pod_delete_with_no_matching_pod_is_refused_with_a_sentence(kube: KubeTestServer) -> None:
    kube.pod("db-1", {"app": "db"})
    with pytest.raises(FaultRejected, match="^no pod in chaos-lab matches app=web: nothing was deleted$"):
        driver(kube).apply(GD, "f1", spec("k8s.pod-delete", {"app": "web"}), EXPIRES)
    assert kube.names("pods", NAMESPACE) == ["db-1"]


@pytest.mark.parametrize("direction, types", [("both", ["Ingress", "Egress"]), ("egress", ["Egress"])])
def test_network_deny_creates_exactly_the_planned_policy_and_revert_deletes_it(
    kube: KubeTestServer, direction: str, types: list[str]
) -> None:
    drv = driver(kube)
    fault = spec("k8s.network-deny", {"app": "web"}, direction=direction)
    planned = drv.plan(GD, "f2", fault, EXPIRES)
    sentence = drv.apply(GD, "f2", fault, EXPIRES)
    name = object_name(GD, "f2", "deny")
    policy = assert_ours(kube.read("networkpolicies", NAMESPACE, name), "f2")
    assert policy == planned[0]["body"]  # what was sent is what the dry run showed
    assert policy["spec"] == {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": types}
    assert "isolates pods matching app=web" in sentence
    assert reverted_twice(drv, "f2") == f"reverted fault f2: deleted NetworkPolicy chaos-lab/{name}"
    assert kube.names("networkpolicies", NAMESPACE) == []


def test_applying_twice_after_a_crash_is_not_an_error(kube: KubeTestServer) -> None:
    drv = driver(kube)
    fault = spec("k8s.network-deny", {"app": "web"})
    drv.apply(GD, "f2", fault, EXPIRES)
    drv.apply(GD, "f2", fault, EXPIRES)
    assert kube.names("networkpolicies", NAMESPACE) == [object_name(GD, "f2", "deny")]


PROBES = [
    {"probe": "metadata"},
    {"probe": "credential-read", "secret": "payments-db"},
    {"probe": "dns-beacon"},
    {"probe": "tcp-connect", "target": "10.0.0.7:5432"},
    {"probe": "sa-token"},
]


@pytest.mark.parametrize("probe", PROBES, ids=[p["probe"] for p in PROBES])
def test_attack_pod_runs_one_probe_reports_through_its_log_and_reverts(
    kube: KubeTestServer, probe: dict[str, str]
) -> None:
    drv = driver(kube)
    sentence = drv.apply(GD, "f3", spec("k8s.attack-pod", None, **probe), EXPIRES)
    pod_name, fence_name = object_name(GD, "f3", "probe"), object_name(GD, "f3", "fence")
    pod = assert_ours(kube.read("pods", NAMESPACE, pod_name), "f3")
    assert_ours(kube.read("networkpolicies", NAMESPACE, fence_name), "f3")
    assert f"started probe {probe['probe']}" in sentence
    assert pod["spec"]["activeDeadlineSeconds"] == 600
    assert drv.observe(GD, "f3") is None  # the container has not started: no log yet
    kube.logs[(NAMESPACE, pod_name)] = (
        "starting\nSCE-PROBE-RESULT blocked the metadata service did not answer\n"
    )
    assert drv.observe(GD, "f3") == Observation("blocked", "the metadata service did not answer")
    kube.logs[(NAMESPACE, pod_name)] = "SCE-PROBE-RESULT allowed connected to 10.0.0.7:5432\n"
    assert drv.observe(GD, "f3") == Observation("allowed", "connected to 10.0.0.7:5432")
    first = reverted_twice(drv, "f3")
    assert (
        f"deleted Pod chaos-lab/{pod_name}" in first
        and f"deleted NetworkPolicy chaos-lab/{fence_name}" in first
    )
    assert kube.names("pods", NAMESPACE) == [] and kube.names("networkpolicies", NAMESPACE) == []
    assert drv.observe(GD, "f3") is None


def test_a_probe_pod_that_ended_without_a_result_is_inconclusive(kube: KubeTestServer) -> None:
    drv = driver(kube)
    drv.apply(GD, "f3", spec("k8s.attack-pod", probe="metadata"), EXPIRES)
    pod_name = object_name(GD, "f3", "probe")
    kube.patch("pods", NAMESPACE, pod_name, {"status": {"phase": "Failed", "reason": "DeadlineExceeded"}})
    kube.logs[(NAMESPACE, pod_name)] = ""
    seen = drv.observe(GD, "f3")
    assert seen is not None and seen.outcome == "inconclusive" and "DeadlineExceeded" in seen.detail


def test_the_probe_container_is_locked_down(kube: KubeTestServer) -> None:
    driver(kube).apply(GD, "f3", spec("k8s.attack-pod", probe="dns-beacon"), EXPIRES)
    pod = kube.read("pods", NAMESPACE, object_name(GD, "f3", "probe")) or {}
    (container,) = pod["spec"]["containers"]
    assert container["name"] == CONTAINER
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert container["resources"]["limits"]["memory"] == "64Mi"
    assert container["args"] == [f"{marker(GD, 'f3')}.sinkhole.example"]  # an argument, not shell text


def test_honeytoken_plants_a_secret_carrying_the_fault_marker(kube: KubeTestServer) -> None:
    drv = driver(kube)
    sentence = drv.apply(GD, "f4", spec("k8s.honeytoken", secret_name="payments-db-backup"), EXPIRES)
    secret = assert_ours(kube.read("secrets", NAMESPACE, "payments-db-backup"), "f4")
    assert secret["stringData"]["password"] == marker(GD, "f4") and marker(GD, "f4") in sentence
    assert "deleted Secret chaos-lab/payments-db-backup" in reverted_twice(drv, "f4")
    assert kube.names("secrets", NAMESPACE) == []


def deployment(kube: KubeTestServer, replicas: int = 3) -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    kube.create(
        "deployments",
        NAMESPACE,
        {
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": template},
        },
    )


def test_scale_records_the_original_on_the_deployment_so_a_restarted_bot_restores_it(
    kube: KubeTestServer,
) -> None:
    deployment(kube, replicas=3)
    sentence = driver(kube).apply(GD, "f5", spec("k8s.scale", deployment="web", replicas=0), EXPIRES)
    scaled = kube.read("deployments", NAMESPACE, "web") or {}
    assert scaled["spec"]["replicas"] == 0 and scaled["metadata"]["annotations"][ORIGINAL_REPLICAS] == "3"
    assert MANAGED_BY not in scaled["metadata"]["labels"]  # not ours: never deleted, only restored
    assert "from 3 to 0 replicas" in sentence
    restarted = driver(kube)  # a new process: nothing in memory
    assert "restored Deployment chaos-lab/web to 3 replicas" in reverted_twice(restarted, "f5")
    restored = kube.read("deployments", NAMESPACE, "web") or {}
    assert restored["spec"]["replicas"] == 3
    assert restored["metadata"]["labels"] == {"app": "web"} and not restored["metadata"].get("annotations")


def test_scale_refuses_a_missing_deployment_and_a_second_fault_on_the_same_one(kube: KubeTestServer) -> None:
    drv = driver(kube)
    with pytest.raises(FaultRejected, match="does not exist"):
        drv.apply(GD, "f5", spec("k8s.scale", deployment="web"), EXPIRES)
    deployment(kube)
    drv.apply(GD, "f5", spec("k8s.scale", deployment="web"), EXPIRES)
    assert "already scaled by this fault" in drv.apply(GD, "f5", spec("k8s.scale", deployment="web"), EXPIRES)
    with pytest.raises(FaultRejected, match="another fault"):
        drv.apply(GD, "f6", spec("k8s.scale", deployment="web", replicas=1), EXPIRES)


def token_secret(
    kube: KubeTestServer, name: str, account: str, type_: str = "kubernetes.io/service-account-token"
) -> None:
    meta = {"name": name, "annotations": {"kubernetes.io/service-account.name": account}}
    kube.create("secrets", NAMESPACE, {"metadata": meta, "type": type_, "data": {}})


def test_token_revoke_deletes_a_named_token_secret_and_only_a_token_secret(kube: KubeTestServer) -> None:
    token_secret(kube, "ci-token", "ci")
    token_secret(kube, "db-password", "ci", type_="Opaque")
    drv = driver(kube)
    assert "revoked service-account token Secret ci-token" in drv.apply(
        GD, "f7", spec("k8s.token-revoke", secret="ci-token"), EXPIRES
    )
    assert "already gone" in drv.apply(GD, "f9", spec("k8s.token-revoke", secret="ci-token"), EXPIRES)
    with pytest.raises(FaultRejected, match="not a service-account token"):
        drv.apply(GD, "f8", spec("k8s.token-revoke", secret="db-password"), EXPIRES)
    record = object_name(GD, "f7", "revoked")
    assert kube.names("secrets", NAMESPACE) == ["db-password", record]
    assert reverted_twice(drv, "f7") == (
        "reverted fault f7: recreated Secret chaos-lab/ci-token (a new token); "
        f"deleted Secret chaos-lab/{record}"
    )
    assert kube.names("secrets", NAMESPACE) == ["ci-token", "db-password"]


def test_token_revoke_by_service_account_deletes_its_legacy_tokens(kube: KubeTestServer) -> None:
    token_secret(kube, "ci-token-a", "ci")
    token_secret(kube, "ci-token-b", "ci")
    token_secret(kube, "web-token", "web")
    sentence = driver(kube).apply(GD, "f7", spec("k8s.token-revoke", service_account="ci"), EXPIRES)
    assert "ci-token-a, ci-token-b" in sentence
    assert kube.names("secrets", NAMESPACE) == [object_name(GD, "f7", "revoked"), "web-token"]


def test_every_request_names_the_game_day_in_its_user_agent(kube: KubeTestServer) -> None:
    drv = driver(kube)
    drv.apply(GD, "f2", spec("k8s.network-deny", {"app": "web"}), EXPIRES)
    drv.revert(GD, "f2")
    agents = {str(r.headers.get("User-Agent")) for r in kube.bot_requests()}
    assert len(agents) == 1 and agents.pop().endswith(f"(game day {GD})")


@pytest.mark.parametrize(
    "fault, problem",
    [
        (spec("k8s.pod-delete"), "needs a `selector:`"),
        (spec("k8s.pod-delete", {"app": "web"}, count=0), "count"),
        (spec("k8s.attack-pod", probe="tcp-connect"), "target: host:port"),
        (spec("k8s.attack-pod", probe="mine-bitcoin"), "probe"),
        (spec("k8s.token-revoke"), "exactly one"),
        (spec("k8s.scale", deployment="web", replica=2), "replica"),
        (spec("k8s.fork-bomb"), "unknown fault type"),
    ],
)
def test_a_bad_spec_is_refused_with_a_sentence_before_any_request(
    kube: KubeTestServer, fault: FaultSpec, problem: str
) -> None:
    with pytest.raises(FaultRejected, match=problem):
        driver(kube).apply(GD, "f9", fault, EXPIRES)
    assert kube.bot_requests() == []


def test_reverting_many_faults_at_once_lists_each_kind_once_and_undoes_each_fault(
    kube: KubeTestServer,
) -> None:
    deployment(kube, replicas=3)
    drv = driver(kube)
    for index in range(6):
        drv.apply(GD, f"d{index}", spec("k8s.network-deny", {"app": "web"}), EXPIRES)
    drv.apply(GD, "h1", spec("k8s.honeytoken"), EXPIRES)
    drv.apply(GD, "s1", spec("k8s.scale", deployment="web", replicas=0), EXPIRES)
    drv.apply("gd-other", "d0", spec("k8s.network-deny", {"app": "web"}), EXPIRES)  # another game day's
    before = len(kube.bot_requests())
    wanted = [f"d{i}" for i in range(6)] + ["h1", "s1", "gone"]
    sentences = drv.revert_many(GD, wanted)
    requests_made = kube.bot_requests()[before:]
    assert set(sentences) == set(wanted)
    for index in range(6):
        name = object_name(GD, f"d{index}", "deny")
        assert sentences[f"d{index}"] == f"reverted fault d{index}: deleted NetworkPolicy chaos-lab/{name}"
    assert "restored Deployment chaos-lab/web to 3 replicas" in sentences["s1"]
    assert sentences["gone"].startswith("nothing left to revert")
    assert kube.names("networkpolicies", NAMESPACE) == [object_name("gd-other", "d0", "deny")]
    assert (kube.read("deployments", NAMESPACE, "web") or {})["spec"]["replicas"] == 3
    lists = [r for r in requests_made if r.method == "GET"]
    assert len(lists) == len(CORE_KINDS)  # one listing per kind for every fault, not one per fault
    assert drv.revert_many(GD, wanted)["d0"].startswith("nothing left to revert")  # idempotent

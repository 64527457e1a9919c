"""Blast radius by share against the Kubernetes test server (the official client over real HTTP): a
token-revoke at 1% of 250 token Secrets deletes exactly ceil(2.5) = 3, the ones recorded, and its revert
recreates exactly those; a pod-delete with `count: 2` deletes 2 of 5; a scale by selector scales the
share it drew and restores it; no candidate means refused with nothing written; the starter pack's
expired-token scenario records the draw on the timeline and lists it in the debrief's event log."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import pytest
from core_harness import CoreHarness, scenario_text
from test_faults_kmock import NAMESPACE, KubeTestServer

from bot.debrief.event_log import event_log
from bot.faults.kubernetes_driver import KubernetesDriver
from bot.faults.labels import MANAGED_BY, object_name
from bot.faults.reaper import revert_expired
from bot.faults.registry import FaultDrivers
from bot.faults.simulated import STAND_INS
from bot.faults.undo import CORE_KINDS
from bot.gameday.ports import FaultRejected
from bot.gameday.scenario.model import FaultSpec
from bot.gameday.scenario.target_share import drawn
from bot.gameday.state import fold
from bot.gameday.timeline import Kind

GD, NOW = "gd-5a1ec7ed", 1_800_000_000.0
EXPIRES = NOW + 600
TOKEN = "kubernetes.io/service-account-token"
SA = "kubernetes.io/service-account.name"


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def spec(type_: str, selector: dict[str, str] | None = None, **extra: Any) -> FaultSpec:
    return FaultSpec.model_validate(
        {"type": type_, "namespace": NAMESPACE, "selector": selector or {}, "ttl": "10m", **extra}
    )


def token(kube: KubeTestServer, name: str, labels: dict[str, str], type_: str = TOKEN) -> None:
    meta = {"name": name, "labels": labels, "annotations": {SA: f"sa-{name}"}}
    kube.create("secrets", NAMESPACE, {"metadata": meta, "type": type_, "data": {"token": "c2VjcmV0"}})


def orders_tokens(kube: KubeTestServer, how_many: int = 250) -> set[str]:
    """``how_many`` token Secrets labelled team=orders, and decoys a draw must never pick.

    The many are written straight into the emulator's store (over HTTP, 250 creates take ~8 s there);
    never through our code. The decoys go over HTTP like every other seeding."""
    names = {f"orders-{n:03d}" for n in range(how_many)}
    assert kube.emulator is not None
    for name in sorted(names):
        meta = {"name": name, "namespace": NAMESPACE, "labels": {"team": "orders", "tier": "api"}}
        meta["annotations"] = {SA: f"sa-{name}"}
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": TOKEN}
        kube.emulator.objects["v1/secrets", NAMESPACE, name] = {**body, "data": {"token": "c2VjcmV0"}}
    token(kube, "billing-000", {"team": "billing"})  # another team's token
    token(kube, "orders-db-password", {"team": "orders"}, type_="Opaque")  # not a token
    return names


def writes(kube: KubeTestServer) -> list[tuple[str, str]]:
    """(method, path) of every request of the bot that changes something."""
    return [
        (str(r.method.value), str(r.url.path))
        for r in kube.bot_requests()
        if str(r.method.value) in {"POST", "PUT", "PATCH", "DELETE"}
    ]


def test_token_revoke_at_one_percent_of_250_revokes_3_recorded_and_the_revert_recreates_them(
    kube: KubeTestServer,
) -> None:
    names = orders_tokens(kube)
    drv = KubernetesDriver(kube.cluster())
    fault = spec("k8s.token-revoke", {"team": "orders"}, percent=1, max_targets=5)
    detail = drv.apply(GD, "f1", fault, EXPIRES)
    record = drawn(detail)
    assert math.ceil(250 * 1 / 100) == 3 == len(record["targets"])
    assert record["candidates"] == 250 and record["rule"] == {"percent": 1.0, "max_targets": 5}
    chosen = set(record["targets"])
    assert chosen <= names
    left = set(kube.names("secrets", NAMESPACE))
    assert names - left == chosen  # exactly the recorded ones are gone
    assert {"billing-000", "orders-db-password"} <= left
    deleted = {path.rsplit("/", 1)[1] for method, path in writes(kube) if method == "DELETE"}
    assert deleted == chosen
    assert f"picked 3 of 250 token Secrets (1%, at most 5; seed {record['seed']})" in detail
    # the seed reproduces the draw from the candidates' names
    redrawn = random.Random(int(record["seed"])).sample(sorted(names), 3)
    assert sorted(redrawn) == record["targets"]

    sentence = drv.revert(GD, "f1")
    for name in record["targets"]:
        assert f"recreated Secret {NAMESPACE}/{name} (a new token)" in sentence
        back = kube.read("secrets", NAMESPACE, name)
        assert back is not None and back["type"] == TOKEN
        assert back["metadata"]["annotations"] == {SA: f"sa-{name}"}
        assert back["metadata"]["labels"] == {"team": "orders", "tier": "api"}  # not ours: never reaped
        assert "data" not in back or not back["data"]  # the old token value is not brought back
    assert set(kube.names("secrets", NAMESPACE)) == names | {"billing-000", "orders-db-password"}
    assert drv.revert(GD, "f1").startswith("nothing left to revert")


def test_the_record_holds_names_and_labels_never_a_token_value(kube: KubeTestServer) -> None:
    orders_tokens(kube, 10)
    drv = KubernetesDriver(kube.cluster())
    drv.apply(GD, "f2", spec("k8s.token-revoke", {"team": "orders"}, count=2), EXPIRES)
    record = kube.read("secrets", NAMESPACE, object_name(GD, "f2", "revoked"))
    assert record is not None and record["metadata"]["labels"][MANAGED_BY] == "sce"
    assert "c2VjcmV0" not in str(record) and not record.get("data")


def test_a_replayed_apply_finishes_the_recorded_draw_instead_of_drawing_again(kube: KubeTestServer) -> None:
    names = orders_tokens(kube, 40)
    drv = KubernetesDriver(kube.cluster())
    fault = spec("k8s.token-revoke", {"team": "orders"}, count=2)
    first = drawn(drv.apply(GD, "f3", fault, EXPIRES))
    again = drv.apply(GD, "f3", fault, EXPIRES)  # the bot restarted before recording the step
    assert "finished what was recorded before a restart" in again
    assert names - set(kube.names("secrets", NAMESPACE)) == set(first["targets"])


def test_the_reaper_recreates_the_tokens_of_an_expired_revoke(kube: KubeTestServer) -> None:
    names = orders_tokens(kube, 20)
    cluster = kube.cluster()
    chosen = drawn(
        KubernetesDriver(cluster).apply(
            GD, "f4", spec("k8s.token-revoke", {"team": "orders"}, count=3), EXPIRES
        )
    )["targets"]
    report = revert_expired(cluster, [NAMESPACE], EXPIRES + 1, CORE_KINDS)
    assert not report.failed
    assert all(any(f"Secret {NAMESPACE}/{name}" in line for line in report.reverted) for name in chosen)
    assert names <= set(kube.names("secrets", NAMESPACE))


def test_a_service_account_share_only_draws_among_its_tokens(kube: KubeTestServer) -> None:
    """A named service account is the whole choice: the selector beside it is not used."""
    for n in range(6):
        meta = {"name": f"ci-{n}", "annotations": {SA: "ci"}}
        kube.create("secrets", NAMESPACE, {"metadata": meta, "type": TOKEN})
    token(kube, "web-0", {})
    record = drawn(
        KubernetesDriver(kube.cluster()).apply(
            GD, "f5", spec("k8s.token-revoke", {"app": "web"}, service_account="ci", percent=50), EXPIRES
        )
    )
    assert len(record["targets"]) == 3 and all(name.startswith("ci-") for name in record["targets"])
    assert "web-0" in kube.names("secrets", NAMESPACE)


@pytest.mark.parametrize(
    "fault",
    [
        spec("k8s.token-revoke", {"team": "payments"}, percent=1),
        spec("k8s.token-revoke", service_account="nobody", count=1),
        spec("k8s.pod-delete", {"app": "payments"}, percent=10),
        spec("k8s.scale", {"app": "payments"}, count=1),
    ],
    ids=["token-selector", "token-account", "pod", "scale"],
)
def test_no_candidate_refuses_the_fault_and_writes_nothing(kube: KubeTestServer, fault: FaultSpec) -> None:
    orders_tokens(kube, 5)
    kube.pod("web-1", {"app": "web"})
    with pytest.raises(FaultRejected, match="nothing was"):
        KubernetesDriver(kube.cluster()).apply(GD, "f6", fault, EXPIRES)
    assert writes(kube) == []


def test_pod_delete_with_count_2_deletes_2_of_5_the_ones_recorded(kube: KubeTestServer) -> None:
    pods = {f"web-{n}" for n in range(5)}
    for name in sorted(pods):
        kube.pod(name, {"app": "web"})
    kube.pod("db-1", {"app": "db"})
    detail = KubernetesDriver(kube.cluster()).apply(
        GD, "f7", spec("k8s.pod-delete", {"app": "web"}, count=2), EXPIRES
    )
    record = drawn(detail)
    assert record["candidates"] == 5 and record["rule"] == {"count": 2, "max_targets": 10}
    assert len(record["targets"]) == 2 and set(record["targets"]) <= pods
    assert set(kube.names("pods", NAMESPACE)) == (pods - set(record["targets"])) | {"db-1"}


def test_scale_by_selector_scales_the_drawn_share_and_the_revert_restores_it(kube: KubeTestServer) -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    for n in range(4):
        body = {
            "metadata": {"name": f"web-{n}", "labels": {"app": "web"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template},
        }
        kube.create("deployments", NAMESPACE, body)
    drv = KubernetesDriver(kube.cluster())
    record = drawn(drv.apply(GD, "f8", spec("k8s.scale", {"app": "web"}, percent=50, replicas=0), EXPIRES))
    assert len(record["targets"]) == 2  # ceil(50% of 4)
    scaled = {name for name in kube.names("deployments", NAMESPACE) if replicas(kube, name) == 0}
    assert scaled == set(record["targets"])
    drv.revert(GD, "f8")
    assert [replicas(kube, f"web-{n}") for n in range(4)] == [3, 3, 3, 3]


def replicas(kube: KubeTestServer, name: str) -> int:
    deployment = kube.read("deployments", NAMESPACE, name)
    assert deployment is not None
    return int(deployment["spec"]["replicas"])


@pytest.mark.parametrize(
    "fault, problem",
    [
        (spec("k8s.token-revoke", {"team": "orders"}, percent=150), "percent: 150 is over 100"),
        (spec("k8s.token-revoke", secret="ci-token", count=1), "`secret:` names one token"),
        (spec("k8s.pod-delete", {"app": "web"}, count=0), "count: 0 is not 1 or more"),
        (spec("k8s.pod-delete", {"app": "web"}, percent="ten"), "percent: 'ten' is not a number"),
        (spec("k8s.scale", {"app": "web"}, deployment="web", count=2), "`deployment:` names one"),
    ],
)
def test_the_driver_refuses_a_bad_share_itself_before_any_request(
    kube: KubeTestServer, fault: FaultSpec, problem: str
) -> None:
    with pytest.raises(FaultRejected, match=problem.replace("`", ".").replace("(", ".")):
        KubernetesDriver(kube.cluster()).apply(GD, "f9", fault, EXPIRES)
    assert kube.bot_requests() == []


def test_the_starter_packs_expired_token_draws_1_percent_on_the_timeline_and_in_the_debrief(
    kube: KubeTestServer,
) -> None:
    names = orders_tokens(kube, 250)
    core = CoreHarness(faults=KubernetesDriver(kube.cluster()), allowed_namespaces=frozenset({NAMESPACE}))
    gameday = core.engine.start(scenario_text("expired-token"), "C1", "UFAC", {"primary": "U1"}).gameday_id
    assert gameday
    core.advance_to(core.clock.now() + 60)
    applied = [e for e in core.store.events(gameday) if e.kind is Kind.FAULT_APPLIED]
    assert len(applied) == 1
    data = applied[0].data
    assert len(data["targets"]) == 3 and data["candidates"] == 250 and data["seed"].isdigit()
    assert data["rule"] == {"percent": 1.0, "max_targets": 5}
    assert names - set(kube.names("secrets", NAMESPACE)) == set(data["targets"])
    core.engine.end(gameday, "UFAC")
    assert names <= set(kube.names("secrets", NAMESPACE))  # the revert recreated them
    lines = [line.text for line in event_log(core.posted_debrief())]
    assert any(f"picked 3 of 250 token Secrets (1%, at most 5; seed {data['seed']})" in x for x in lines)
    assert fold(core.store.events(gameday)).faults["f1"].reverted_at is not None


def test_the_demo_draws_over_named_simulated_stand_ins() -> None:
    """As in `sce demo`: no cluster, so the deployment's drivers simulate k8s.* faults."""
    core = CoreHarness(faults=FaultDrivers(None), allowed_namespaces=frozenset({NAMESPACE}))
    gameday = core.engine.start(scenario_text("expired-token"), "C1", "UFAC", {"primary": "U1"}).gameday_id
    assert gameday
    core.advance_to(core.clock.now() + 60)
    (applied,) = [e for e in core.store.events(gameday) if e.kind is Kind.FAULT_APPLIED]
    assert applied.data["candidates"] == len(STAND_INS) == 100
    assert len(applied.data["targets"]) == 1 and applied.data["targets"][0] in STAND_INS
    assert applied.data["driver"] == "simulated" and "nothing was changed" in applied.data["detail"]
    assert (
        f"picked 1 of 100 simulated stand-ins (1%, at most 5; seed {applied.data['seed']})"
        in (applied.data["detail"])
    )

"""What the attack pod may run and reach: the image allow-list (SCE_ATTACK_IMAGES), the egress fence of
every probe kind peer by peer, and the "restricted" Pod Security Standard on every rendered pod.

The restricted profile is checked by :func:`restricted_violations`, written here from the published
list (kubernetes.io/docs/concepts/security/pod-security-standards, baseline and restricted controls),
not from the driver's code; the schema check is kubernetes-validate's, as for every other manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from probe_container import NAMESPACE, driver, fault, rendered
from recording_announcer import RecordingAnnouncer
from test_faults_kmock import KubeTestServer
from test_faults_manifests import SCHEMA
from typer.testing import CliRunner

from bot.cli import cli
from bot.config import Settings
from bot.faults.attack_pod import DEFAULT_IMAGE, METADATA_IP, TOKEN_PROBES
from bot.faults.kubernetes_driver import KubernetesDriver
from bot.faults.registry import FaultDrivers
from bot.gameday.clock import VirtualClock
from bot.gameday.memory_store import MemoryStore
from bot.gameday.ports import FaultRejected
from bot.gameday.running.engine import Engine

PROBES: list[dict[str, str]] = [
    {"probe": "metadata"},
    {"probe": "credential-read", "secret": "payments-db"},
    {"probe": "sa-token"},
    {"probe": "dns-beacon"},
    {"probe": "dns-beacon", "sinkhole": "canary.example"},
    {"probe": "tcp-connect", "target": "10.0.0.7:5432"},
    {"probe": "tcp-connect", "target": "[fd00::7]:443"},
    {"probe": "tcp-connect", "target": "postgres.chaos-lab-db.svc.cluster.local:5432"},
    {"probe": "tcp-connect", "target": "postgres.chaos-lab-db.svc:5432"},
    {"probe": "tcp-connect", "target": "db.example.com:5432"},
]
IDS = ["-".join(keys.values()) for keys in PROBES]

# -- the restricted Pod Security Standard -------------------------------------------------------------
ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim"}
ALLOWED_VOLUMES |= {"projected", "secret"}
ALLOWED_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies"}
ALLOWED_SYSCTLS |= {"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """Every way ``pod`` breaks the restricted profile (baseline included), plus our own rule that the
    root filesystem is read-only; empty when it passes."""
    spec = pod["spec"]
    pod_sc = spec.get("securityContext") or {}
    problems = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            problems.append(f"{field} is set")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            problems.append(f"volume {volume['name']} is of type {sorted(kinds)}")
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl["name"] not in ALLOWED_SYSCTLS:
            problems.append(f"sysctl {sysctl['name']}")
    if (pod_sc.get("seLinuxOptions") or {}).get("user") or (pod_sc.get("seLinuxOptions") or {}).get("role"):
        problems.append("pod seLinuxOptions sets user or role")
    if pod_sc.get("runAsUser") == 0:
        problems.append("pod runAsUser is 0")
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    containers = [*spec.get("initContainers", []), *spec["containers"], *spec.get("ephemeralContainers", [])]
    for c in containers:
        sc = c.get("securityContext") or {}
        name = c["name"]
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            problems.append(f"{name}: capabilities do not drop ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities {caps['add']}")
        if not (
            sc.get("runAsNonRoot") is True
            or (pod_sc.get("runAsNonRoot") is True and "runAsNonRoot" not in sc)
        ):
            problems.append(f"{name}: runAsNonRoot is not true")
        if sc.get("runAsUser") == 0:
            problems.append(f"{name}: runAsUser is 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile is {seccomp}")
        if sc.get("procMount", "Default") != "Default":
            problems.append(f"{name}: procMount {sc['procMount']}")
        if (sc.get("seLinuxOptions") or {}).get("user") or (sc.get("seLinuxOptions") or {}).get("role"):
            problems.append(f"{name}: seLinuxOptions sets user or role")
        for port in c.get("ports") or []:
            if port.get("hostPort"):
                problems.append(f"{name}: hostPort {port['hostPort']}")
        if sc.get("readOnlyRootFilesystem") is not True:  # our rule, beyond the standard
            problems.append(f"{name}: the root filesystem is writable")
    return problems


@pytest.mark.parametrize("keys", PROBES, ids=IDS)
def test_every_attack_pod_meets_the_restricted_pod_security_standard(keys: dict[str, str]) -> None:
    _, pod = rendered(driver(), fault(**keys))
    assert restricted_violations(pod) == []
    kubernetes_validate.validate(pod, SCHEMA, strict=True)
    automount = pod["spec"].get("automountServiceAccountToken")
    if keys["probe"] in TOKEN_PROBES:
        assert automount is None  # the service account's own setting: whether a token shows up is the test
    else:
        assert automount is False


@pytest.mark.parametrize(
    "change, broken",
    [
        (lambda p: p["spec"].update(hostNetwork=True), "hostNetwork"),
        (lambda p: p["spec"]["volumes"].append({"name": "h", "hostPath": {"path": "/"}}), "hostPath"),
        (lambda p: p["spec"]["securityContext"].update(runAsUser=0), "runAsUser is 0"),
        (lambda p: c0(p)["securityContext"].update(privileged=True), "privileged"),
        (
            lambda p: c0(p)["securityContext"].update(allowPrivilegeEscalation=True),
            "allowPrivilegeEscalation",
        ),
        (lambda p: c0(p)["securityContext"]["capabilities"].update(add=["NET_ADMIN"]), "adds capabilities"),
        (lambda p: c0(p)["securityContext"]["capabilities"].update(drop=["NET_RAW"]), "drop ALL"),
        (lambda p: c0(p)["securityContext"].update(runAsNonRoot=False), "runAsNonRoot"),
        (lambda p: p["spec"]["securityContext"].update(seccompProfile={"type": "Unconfined"}), "seccomp"),
        (lambda p: c0(p).update(ports=[{"containerPort": 80, "hostPort": 80}]), "hostPort"),
        (lambda p: c0(p)["securityContext"].update(readOnlyRootFilesystem=False), "writable"),
    ],
)
def test_the_checker_catches_each_kind_of_violation(change: Any, broken: str) -> None:
    """The check above is not vacuous: the same pod with one control undone fails it."""
    _, pod = rendered(driver(), fault(probe="metadata"))
    change(pod)
    assert any(broken in problem for problem in restricted_violations(pod))


def c0(pod: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = pod["spec"]["containers"][0]
    return container


# -- egress: DNS, the sinkhole, the probe's own target, nothing else ------------------------------------
DNS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}
SINKHOLE = {"to": [{"ipBlock": {"cidr": "192.0.2.53/32"}}]}


def tcp(port: int, *to: dict[str, Any]) -> dict[str, Any]:
    return {"ports": [{"protocol": "TCP", "port": port}], **({"to": list(to)} if to else {})}


def in_namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


API_SERVER = {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]}
TARGET_RULES: dict[str, list[dict[str, Any]]] = {
    "metadata": [tcp(80, {"ipBlock": {"cidr": f"{METADATA_IP}/32"}})],
    "credential-read-payments-db": [API_SERVER],
    "sa-token": [API_SERVER],
    "dns-beacon": [],
    "dns-beacon-canary.example": [],
    "tcp-connect-10.0.0.7:5432": [tcp(5432, {"ipBlock": {"cidr": "10.0.0.7/32"}})],
    "tcp-connect-[fd00::7]:443": [tcp(443, {"ipBlock": {"cidr": "fd00::7/128"}})],
    "tcp-connect-postgres.chaos-lab-db.svc.cluster.local:5432": [tcp(5432, in_namespace("chaos-lab-db"))],
    "tcp-connect-postgres.chaos-lab-db.svc:5432": [tcp(5432, in_namespace("chaos-lab-db"))],
    # a name outside the cluster: a NetworkPolicy cannot name it, so the port alone fences it
    "tcp-connect-db.example.com:5432": [tcp(5432)],
}


@pytest.mark.parametrize("keys", PROBES, ids=IDS)
def test_the_fence_allows_dns_the_sinkhole_and_the_probe_s_own_target_and_nothing_else(
    keys: dict[str, str],
) -> None:
    fence, pod = rendered(driver(), fault(**keys))
    spec = fence["spec"]
    assert spec["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert spec["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in spec  # no ingress at all
    assert spec["egress"] == [DNS, SINKHOLE, *TARGET_RULES["-".join(keys.values())]]
    kubernetes_validate.validate(fence, SCHEMA, strict=True)


def test_without_a_sinkhole_cidr_the_fence_has_no_sinkhole_rule() -> None:
    from kubernetes import client as k8s

    from bot.faults.cluster import Cluster

    bare = KubernetesDriver(Cluster(k8s.ApiClient(k8s.Configuration(host="http://127.0.0.1:9")), {NAMESPACE}))
    fence, _ = rendered(bare, fault(probe="metadata"))
    assert fence["spec"]["egress"] == [DNS, *TARGET_RULES["metadata"]]


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "not-a-network", "10.0.0.0/33"])
def test_a_sinkhole_cidr_that_is_everything_or_nothing_is_refused_with_a_sentence(cidr: str) -> None:
    drv = driver()
    drv.sinkhole_cidr = cidr
    with pytest.raises(FaultRejected, match="SCE_SINKHOLE_CIDR"):
        rendered(drv, fault(probe="metadata"))


def test_a_deployment_sinkhole_domain_of_the_wrong_shape_is_refused() -> None:
    drv = driver()
    drv.sinkhole_domain = "$(touch x).example"
    with pytest.raises(FaultRejected, match="SCE_SINKHOLE_DOMAIN: .* is not a domain"):
        rendered(drv, fault(probe="dns-beacon"))


# -- the image allow-list ----------------------------------------------------------------------------
def test_the_allow_list_defaults_to_the_built_in_image_and_the_probe_image() -> None:
    assert Settings.from_env({}).allowed_attack_images == {DEFAULT_IMAGE}
    probe = {"SCE_PROBE_IMAGE": "registry.example/probe:2"}
    assert Settings.from_env(probe).allowed_attack_images == {DEFAULT_IMAGE, "registry.example/probe:2"}
    listed = {**probe, "SCE_ATTACK_IMAGES": "registry.example/a:1, registry.example/b@sha256:" + "0" * 64}
    assert Settings.from_env(listed).allowed_attack_images == {
        "registry.example/a:1",
        "registry.example/b@sha256:" + "0" * 64,
    }


def test_an_image_off_the_list_is_refused_at_apply_before_any_request() -> None:
    with KubeTestServer() as kube:
        drv = KubernetesDriver(kube.cluster(), attack_images=frozenset({"registry.example/probe:1"}))
        off_list = fault(probe="metadata", image="registry.example/evil:1")
        for call in (drv.plan, drv.apply):
            with pytest.raises(FaultRejected) as refused:
                call("gd-1", "f1", off_list, 1_800_000_000)
            assert str(refused.value) == (
                "image registry.example/evil:1 is not in SCE_ATTACK_IMAGES for this deployment "
                "(allowed: registry.example/probe:1)"
            )
        default = fault(probe="metadata")  # the default image, when the list does not name it
        with pytest.raises(FaultRejected, match=f"image {DEFAULT_IMAGE} is not in SCE_ATTACK_IMAGES"):
            drv.apply("gd-1", "f1", default, 1_800_000_000)
        assert kube.bot_requests() == []
        drv.apply("gd-1", "f2", fault(probe="metadata", image="registry.example/probe:1"), 1_800_000_000)
        [pod] = [p for p in kube.names("pods", NAMESPACE)]
        assert (kube.read("pods", NAMESPACE, pod) or {})["spec"]["containers"][0]["image"] == (
            "registry.example/probe:1"
        )


SCENARIO = """\
id: probe-image
title: Probe with an image
charter: {{objective: o, hypothesis: h}}
guardrails: {{namespaces: [chaos-lab]}}
steps:
  - at: 0s
    fault: {{type: k8s.attack-pod, namespace: chaos-lab, probe: metadata, image: {image}}}
"""


def test_an_image_off_the_list_is_refused_at_start_with_a_sentence() -> None:
    with KubeTestServer() as kube:
        clock, store = VirtualClock(), MemoryStore()
        allowed = frozenset({DEFAULT_IMAGE})
        drivers = FaultDrivers(kube.cluster(), attack_images=allowed)
        engine = Engine(
            store,
            RecordingAnnouncer(clock.now),
            clock.now,
            drivers,
            frozenset({NAMESPACE}),
            attack_images=allowed,
        )
        outcome = engine.start(
            SCENARIO.format(image="registry.example/evil:1"), "C1", "UFAC", {"primary": "U1"}
        )
        assert not outcome.ok
        assert outcome.message == (
            "steps[0].fault.image: image registry.example/evil:1 is not in SCE_ATTACK_IMAGES for this "
            f"deployment (allowed: {DEFAULT_IMAGE})"
        )
        assert kube.bot_requests() == []
        assert engine.start(SCENARIO.format(image=DEFAULT_IMAGE), "C1", "UFAC", {"primary": "U1"}).ok


def test_sce_validate_names_the_image_and_the_allowed_ones(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "probe-image.yaml").write_text(SCENARIO.format(image="registry.example/evil:1"))
    monkeypatch.setenv("SCE_ATTACK_IMAGES", "registry.example/probe:1,registry.example/probe:2")
    monkeypatch.delenv("SCE_ALLOWED_NAMESPACES", raising=False)
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        f"{tmp_path / 'probe-image.yaml'}: steps[0].fault.image: image registry.example/evil:1 is not in "
        "SCE_ATTACK_IMAGES for this deployment (allowed: registry.example/probe:1, registry.example/probe:2)"
    ) in result.output
    monkeypatch.setenv("SCE_ATTACK_IMAGES", "registry.example/evil:1")
    assert CliRunner().invoke(cli, ["validate", str(tmp_path)]).exit_code == 0

"""The attack pod: one locked-down pod running ONE probe, fenced by its own NetworkPolicy.

The probe prints ``SCE-PROBE-RESULT <blocked|allowed> <detail>``; :func:`read_result` turns the pod's
log and status into an Observation. The pod cannot outlive its fault: ``activeDeadlineSeconds`` is the
fault's ttl, and the reaper deletes it once its expiry annotation has passed.

NetworkPolicies only ever ADD allowed traffic (a pod's allowed set is the union of every policy that
selects it), so the fence below allows DNS, the sinkhole and the probe's own target, nothing else.
What a probe measures is therefore every OTHER control: the target's ingress policies, the metadata
service's own hardening, non-additive policy engines (Cilium / Calico deny rules, AdminNetworkPolicy),
RBAC and token automounting.
"""

from __future__ import annotations

import ipaddress
import shlex
from typing import Any, Literal

from pydantic import model_validator

from bot.faults.labels import fault_labels, marker, owned_metadata
from bot.faults.params import FaultParams
from bot.gameday.ports import Observation

Probe = Literal["metadata", "credential-read", "dns-beacon", "tcp-connect", "sa-token"]
RESULT = "SCE-PROBE-RESULT"
CONTAINER = "probe"
DEFAULT_IMAGE = "docker.io/curlimages/curl:8.11.1"
METADATA_IP = "169.254.169.254"
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
API_URL = "https://kubernetes.default.svc"


class AttackPodParams(FaultParams):
    """The keys of a ``k8s.attack-pod`` step beyond type/namespace/selector/ttl."""

    probe: Probe
    target: str | None = None  # tcp-connect: host:port
    secret: str | None = None  # credential-read: the Secret the pod tries to read
    sinkhole: str | None = None  # dns-beacon: the sinkhole domain (else the deployment's)
    image: str | None = None

    @model_validator(mode="after")
    def _probe_needs(self) -> AttackPodParams:
        if self.probe == "tcp-connect":
            host, _, port = (self.target or "").rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError("probe tcp-connect needs `target: host:port`")
        if self.probe == "credential-read" and not self.secret:
            raise ValueError("probe credential-read needs `secret:` (the Secret it tries to read)")
        return self

    @property
    def target_host_port(self) -> tuple[str, int]:
        host, _, port = (self.target or "").rpartition(":")
        return host, int(port)


def _say(outcome: str, detail: str) -> str:
    return f"echo {shlex.quote(f'{RESULT} {outcome} {detail}')}"


def _api_probe(path: str, what: str) -> str:
    """Call the API server with the pod's own service-account token, if one is mounted at all."""
    return (
        f"if [ ! -r {TOKEN_DIR}/token ]; then {_say('blocked', 'no service-account token is mounted')}; "
        f'else code=$(curl -s -m 5 -o /dev/null -w "%{{http_code}}" --cacert {TOKEN_DIR}/ca.crt '
        f'-H "Authorization: Bearer $(cat {TOKEN_DIR}/token)" {API_URL}{path}); '
        f'if [ "$code" = 200 ]; then {_say("allowed", what)}; '
        f'else echo "{RESULT} blocked the API server answered HTTP $code"; fi; fi'
    )


def probe_script(params: AttackPodParams, namespace: str, beacon: str | None) -> str:
    """The shell line the probe container runs; it always ends by printing one result line."""
    if params.probe == "metadata":
        return (
            f'code=$(curl -s -m 4 -o /dev/null -w "%{{http_code}}" http://{METADATA_IP}/); '
            f'if [ "$code" != 000 ]; then echo "{RESULT} allowed the metadata service answered HTTP $code"; '
            f"else {_say('blocked', 'the metadata service did not answer')}; fi"
        )
    if params.probe == "credential-read":
        secret = params.secret or ""
        return _api_probe(f"/api/v1/namespaces/{namespace}/secrets/{secret}", f"read Secret {secret}")
    if params.probe == "sa-token":
        return _api_probe(f"/api/v1/namespaces/{namespace}/pods", "the mounted token listed pods")
    if params.probe == "dns-beacon":
        name = shlex.quote(beacon or "")
        return (
            f"if nslookup {name} >/dev/null 2>&1; then {_say('allowed', f'{beacon} resolved')}; "
            f"else {_say('blocked', f'{beacon} did not resolve')}; fi"
        )
    host, port = params.target_host_port
    where = shlex.quote(f"telnet://{host}:{port}")
    return (  # num_connects is 1 once the TCP handshake succeeded, even if the peer then stays silent
        f'n=$(curl -s -o /dev/null -m 4 --connect-timeout 3 -w "%{{num_connects}}" {where} </dev/null); '
        f'if [ "$n" = 1 ]; then {_say("allowed", f"connected to {host}:{port}")}; '
        f"else {_say('blocked', f'no TCP connection to {host}:{port}')}; fi"
    )


def beacon_name(gameday_id: str, fault_id: str, sinkhole: str | None) -> str | None:
    return f"{marker(gameday_id, fault_id)}.{sinkhole.strip('.')}" if sinkhole else None


def attack_pod(
    name: str,
    namespace: str,
    gameday_id: str,
    fault_id: str,
    expires_at: float,
    ttl: float,
    params: AttackPodParams,
    script: str,
    image: str,
) -> dict[str, Any]:
    """The pod manifest: non-root, read-only, no capabilities, no token unless the probe tests tokens."""
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "activeDeadlineSeconds": max(1, int(ttl)),
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 0,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": CONTAINER,
                "image": image,
                "command": ["/bin/sh", "-c", script],
                "env": [{"name": "HOME", "value": "/tmp"}],
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "runAsNonRoot": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                "resources": {
                    "requests": {"cpu": "50m", "memory": "32Mi"},
                    "limits": {"cpu": "100m", "memory": "64Mi", "ephemeral-storage": "16Mi"},
                },
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            }
        ],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}],
    }
    if params.probe not in ("credential-read", "sa-token"):
        # Token probes inherit the service account's own setting: whether it is mounted is the test.
        spec["automountServiceAccountToken"] = False
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": owned_metadata(
            name, namespace, gameday_id, fault_id, expires_at, {"sce.dev/probe": params.probe}
        ),
        "spec": spec,
    }


def _peer(host: str, port: int, protocol: str = "TCP") -> dict[str, Any]:
    """An egress rule to host:port: an ipBlock when host is an address, else the port to anywhere."""
    rule: dict[str, Any] = {"ports": [{"protocol": protocol, "port": port}]}
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return rule  # NetworkPolicy cannot name hosts; the port alone fences it
    rule["to"] = [{"ipBlock": {"cidr": f"{address}/{address.max_prefixlen}"}}]
    return rule


def egress_fence(
    name: str,
    namespace: str,
    gameday_id: str,
    fault_id: str,
    expires_at: float,
    params: AttackPodParams,
    sinkhole_cidr: str | None,
) -> dict[str, Any]:
    """The attack pod's NetworkPolicy: no ingress; egress to DNS, the sinkhole and the probe's target."""
    dns = {"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    egress: list[dict[str, Any]] = [
        {"to": [dns], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    ]
    if sinkhole_cidr:
        egress.append({"to": [{"ipBlock": {"cidr": sinkhole_cidr}}]})
    if params.probe == "metadata":
        egress.append(_peer(METADATA_IP, 80))
    elif params.probe == "tcp-connect":
        egress.append(_peer(*params.target_host_port))
    elif params.probe in ("credential-read", "sa-token"):
        egress.append({"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": owned_metadata(name, namespace, gameday_id, fault_id, expires_at),
        "spec": {
            "podSelector": {"matchLabels": fault_labels(gameday_id, fault_id)},
            "policyTypes": ["Ingress", "Egress"],
            "egress": egress,
        },
    }


def read_result(pod: dict[str, Any], log: str | None) -> Observation | None:
    """The probe's verdict from its log; inconclusive if the pod ended without one; None until then."""
    for line in reversed((log or "").splitlines()):
        words = line.strip().split(" ", 2)
        if len(words) >= 2 and words[0] == RESULT and words[1] in ("blocked", "allowed"):
            outcome: Literal["blocked", "allowed"] = "blocked" if words[1] == "blocked" else "allowed"
            return Observation(outcome, words[2] if len(words) > 2 else words[1])
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        why = status.get("reason") or status.get("message") or status["phase"].lower()
        return Observation("inconclusive", f"the probe pod ended ({why}) without reporting a result")
    return None

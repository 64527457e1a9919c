"""The attack pod: one locked-down pod running ONE probe, fenced by its own NetworkPolicy.

The probe prints ``SCE-PROBE-RESULT <blocked|allowed> <detail>``; :func:`read_result` turns the pod's
log and status into an Observation. The pod cannot outlive its fault: ``activeDeadlineSeconds`` is the
fault's ttl, and the reaper deletes it once its expiry annotation has passed.

No scenario value is ever shell text. Each probe runs a fixed script (:data:`SCRIPTS`, the same for
every scenario) as ``/bin/sh -c SCRIPT probe``; the values (namespace, Secret, host, port, beacon name)
are the container's ``args``, which the script reads only as quoted ``"$1"``, ``"$2"``, and the
deployment's constants (API server, token directory, metadata address) are ``env`` entries. A value is
echoed back in the result line only when it is plain (letters, digits, ``.:[]-``), so no value can add
a forged result line of its own.

NetworkPolicies only ever ADD allowed traffic (a pod's allowed set is the union of every policy that
selects it), so the fence below allows DNS, the sinkhole and the probe's own target, nothing else.
What a probe measures is therefore every OTHER control: the target's ingress policies, the metadata
service's own hardening, non-additive policy engines (Cilium / Calico deny rules, AdminNetworkPolicy),
RBAC and token automounting.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from pydantic import ValidationInfo, field_validator, model_validator

from bot.faults.labels import fault_labels, marker, owned_metadata
from bot.faults.params import FaultParams
from bot.gameday.ports import FaultRejected, Observation
from bot.gameday.scenario.fault_values import (
    domain_problem,
    image_problem,
    parse_target,
    secret_name_problem,
)

Probe = Literal["metadata", "credential-read", "dns-beacon", "tcp-connect", "sa-token"]
RESULT = "SCE-PROBE-RESULT"
CONTAINER = "probe"
DEFAULT_IMAGE = "docker.io/curlimages/curl:8.11.1"
METADATA_IP = "169.254.169.254"
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
API_URL = "https://kubernetes.default.svc"
TOKEN_PROBES = ("credential-read", "sa-token")  # the only probes that may see a service-account token
DNS_NAMESPACE = "kube-system"
NAMESPACE_NAME = "kubernetes.io/metadata.name"  # the label the API server sets on every namespace
_SERVICE_NAME = re.compile(r"(?P<service>[a-z0-9-]+)\.(?P<namespace>[a-z0-9-]+)\.svc(\..+)?")


class AttackPodParams(FaultParams):
    """The keys of a ``k8s.attack-pod`` step beyond type/namespace/selector/ttl."""

    probe: Probe
    target: str | None = None  # tcp-connect: host:port
    secret: str | None = None  # credential-read: the Secret the pod tries to read
    sinkhole: str | None = None  # dns-beacon: the sinkhole domain (else the deployment's)
    image: str | None = None  # one of SCE_ATTACK_IMAGES (else SCE_PROBE_IMAGE or DEFAULT_IMAGE)

    @field_validator("target")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            parse_target(value)
        return value

    @field_validator("secret", "sinkhole", "image")
    @classmethod
    def _shape(cls, value: str | None, info: ValidationInfo) -> str | None:
        check = {"secret": secret_name_problem, "sinkhole": domain_problem, "image": image_problem}
        problem = None if value is None or info.field_name is None else check[info.field_name](value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _probe_needs(self) -> AttackPodParams:
        if self.probe == "tcp-connect" and not self.target:
            raise ValueError("probe tcp-connect needs `target: host:port`")
        if self.probe == "credential-read" and not self.secret:
            raise ValueError("probe credential-read needs `secret:` (the Secret it tries to read)")
        return self

    @property
    def target_host_port(self) -> tuple[str, int]:
        host, _, port = (self.target or "").rpartition(":")
        return host.removeprefix("[").removesuffix("]"), int(port)


# Every script starts with these. `shown` echoes a value back only when it is plain text (letters,
# digits, ".:[]-"), so a newline in a value can never start a result line of its own.
_PRELUDE = """\
say() { printf '%s %s %s\\n' SCE-PROBE-RESULT "$1" "$2"; }
shown() { case "$1" in ''|*[!][:alnum:].:[-]*) printf '%s' "$2" ;; *) printf '%s' "$1" ;; esac; }
"""
# curl -q: no .curlrc; -g: no URL globbing ({a,b} and [1-9] stay literal)
_API_CALL = """\
if [ ! -r "$TOKEN_DIR/token" ]; then say blocked "no service-account token is mounted"; exit 0; fi
code=$(curl -q -g -s -m 5 -o /dev/null -w '%{http_code}' --cacert "$TOKEN_DIR/ca.crt" \\
  -H "Authorization: Bearer $(cat "$TOKEN_DIR/token")" "$API_URL/api/v1/namespaces/$1/PATH")
"""
SCRIPTS: dict[str, str] = {
    "metadata": _PRELUDE  # no arguments
    + """\
code=$(curl -q -g -s -m 4 -o /dev/null -w '%{http_code}' "$METADATA_URL")
if [ -n "$code" ] && [ "$code" != 000 ]; then say allowed "the metadata service answered HTTP $code"
else say blocked "the metadata service did not answer"; fi
""",
    "credential-read": _PRELUDE  # $1 namespace, $2 the Secret
    + _API_CALL.replace("PATH", "secrets/$2")
    + """\
if [ "$code" = 200 ]; then say allowed "read Secret $(shown "$2" "(its name is not plain text)")"
else say blocked "the API server answered HTTP $code"; fi
""",
    "sa-token": _PRELUDE  # $1 namespace
    + _API_CALL.replace("PATH", "pods")
    + """\
if [ "$code" = 200 ]; then say allowed "the mounted token listed pods"
else say blocked "the API server answered HTTP $code"; fi
""",
    "dns-beacon": _PRELUDE  # $1 the beacon name: the fault's marker, then the sinkhole domain
    + """\
case "$1" in ''|-*) echo "the beacon name is empty or starts with -" >&2; exit 2 ;; esac
name=$(shown "$1" "the beacon name")
if nslookup "$1" >/dev/null 2>&1; then say allowed "$name resolved"
else say blocked "$name did not resolve"; fi
""",
    # $1 host (an IPv6 address without brackets), $2 port. num_connects is 1 once the TCP handshake
    # succeeded, even if the peer then stays silent.
    "tcp-connect": _PRELUDE
    + """\
case "$1" in *:*) where="[$1]:$2" ;; *) where="$1:$2" ;; esac
n=$(curl -q -g -s -o /dev/null -m 4 --connect-timeout 3 -w '%{num_connects}' "telnet://$where" </dev/null)
where=$(shown "$where" "the target")
if [ "$n" = 1 ]; then say allowed "connected to $where"
else say blocked "no TCP connection to $where"; fi
""",
}
ENVIRONMENT = {
    "HOME": "/tmp",
    "TOKEN_DIR": TOKEN_DIR,
    "API_URL": API_URL,
    "METADATA_URL": f"http://{METADATA_IP}/",
}


def probe_arguments(params: AttackPodParams, namespace: str, beacon: str | None) -> list[str]:
    """The values the probe's script reads as "$1", "$2": never part of the script itself."""
    if params.probe == "credential-read":
        return [namespace, params.secret or ""]
    if params.probe == "sa-token":
        return [namespace]
    if params.probe == "dns-beacon":
        return [beacon or ""]
    if params.probe == "tcp-connect":
        host, port = params.target_host_port
        return [host, str(port)]
    return []


def kubernetes_literal(value: str) -> str:
    """``value`` escaped for a container's args, where Kubernetes expands ``$(VAR)`` and reads ``$$``
    as ``$``: unescaped, a value holding ``$(HOME)`` would reach the script as ``/tmp``."""
    return value.replace("$", "$$")


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
    arguments: list[str],
    image: str,
) -> dict[str, Any]:
    """The pod manifest: non-root, read-only, no capabilities, no token unless the probe tests tokens.

    It meets the "restricted" Pod Security Standard, so a namespace enforcing it admits the pod.
    """
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
                "command": ["/bin/sh", "-c", SCRIPTS[params.probe], "probe"],
                "args": [kubernetes_literal(value) for value in arguments],
                "env": [{"name": name, "value": value} for name, value in ENVIRONMENT.items()],
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
    if params.probe not in TOKEN_PROBES:
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


def _target_rule(host: str, port: int) -> dict[str, Any]:
    """An egress rule to host:port, as narrow as a NetworkPolicy can say it.

    An IP address is one ipBlock; ``<service>.<namespace>.svc[.<cluster domain>]`` is that namespace's
    pods (policies see the pod behind a Service's address); any other name is the port alone, to
    anywhere, because a NetworkPolicy cannot name hosts outside the cluster.
    """
    rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": port}]}
    service = _SERVICE_NAME.fullmatch(host.lower())
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if service:
            selector = {"matchLabels": {NAMESPACE_NAME: service["namespace"]}}
            rule["to"] = [{"namespaceSelector": selector}]
        return rule
    rule["to"] = [{"ipBlock": {"cidr": f"{address}/{address.max_prefixlen}"}}]
    return rule


def sinkhole_network(cidr: str) -> str:
    """SCE_SINKHOLE_CIDR as a network; FaultRejected when it is not one, or is the whole Internet."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise FaultRejected(f"SCE_SINKHOLE_CIDR {cidr!r} is not a network (e.g. 203.0.113.7/32)") from None
    if network.prefixlen == 0:
        raise FaultRejected(
            f"SCE_SINKHOLE_CIDR {cidr} would let the attack pod reach every address; name the sinkhole's own"
        )
    return str(network)


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
    dns = {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: DNS_NAMESPACE}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    egress: list[dict[str, Any]] = [
        {"to": [dns], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    ]
    if sinkhole_cidr:
        egress.append({"to": [{"ipBlock": {"cidr": sinkhole_network(sinkhole_cidr)}}]})
    if params.probe == "metadata":
        egress.append(_target_rule(METADATA_IP, 80))
    elif params.probe == "tcp-connect":
        egress.append(_target_rule(*params.target_host_port))
    elif params.probe in TOKEN_PROBES:
        # The API server's address behind kubernetes.default.svc is not a pod, and differs per cluster.
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

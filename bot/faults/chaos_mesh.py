"""The chaos-mesh driver: PodChaos, NetworkChaos and DNSChaos resources (chaos-mesh.org/v1alpha1).

Every resource has ``spec.duration`` = the fault's ttl, so Chaos Mesh itself ends the experiment if the
bot is gone, plus the labels and expiry annotation every object of ours carries. Deleting the resource
(revert, abort, the reaper) makes Chaos Mesh recover the targets at once.

Fault types (the step's extra keys in brackets; ``selector`` picks the target pods):
- ``chaos-mesh.pod-chaos`` [action: pod-kill|pod-failure|container-kill, mode, value, container_names]
- ``chaos-mesh.network-chaos`` [action: delay|loss|partition, external_targets, latency, jitter, loss,
  direction, mode, value]: e.g. delay or cut the selected pods' traffic to a KMS endpoint.
- ``chaos-mesh.dns-chaos`` [action: error|random, patterns, mode, value]
NetworkChaos ``latency`` and ``jitter`` may be any Go duration (the webhook's rule); they are written in the
one form the CRD's schema takes (Chaos Mesh 2.8 on): one number and one unit, so 1m30s is sent as 90s.
Chaos Mesh must be installed, and when its ``enableFilterNamespace`` is on, the namespace annotated
``chaos-mesh.org/inject=enabled``.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from bot.faults.cluster import Cluster, ResourceKind, describe, planned_call
from bot.faults.labels import object_name, owned_metadata, rfc3339
from bot.faults.params import parse_params, require_selector
from bot.faults.undo import reverted_sentence, undo_fault, undo_faults
from bot.gameday.ports import FaultRejected, Observation
from bot.gameday.scenario.chaos_mesh_params import (
    DNSChaosParams,
    NetworkChaosParams,
    PodChaosParams,
    Targeting,
)
from bot.gameday.scenario.model import FaultSpec

POD_CHAOS = ResourceKind("chaos-mesh.org/v1alpha1", "PodChaos", "podchaos")
NETWORK_CHAOS = ResourceKind("chaos-mesh.org/v1alpha1", "NetworkChaos", "networkchaos")
DNS_CHAOS = ResourceKind("chaos-mesh.org/v1alpha1", "DNSChaos", "dnschaos")
CHAOS_KINDS: tuple[ResourceKind, ...] = (POD_CHAOS, NETWORK_CHAOS, DNS_CHAOS)
# NetworkChaos delay.latency and delay.jitter in the CRD's openAPIV3Schema (its `pattern`, since 2.8.0)
CRD_DURATION = re.compile(r"[0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h)")
GO_DURATION_TERM = re.compile(r"([0-9.]+)(ns|us|µs|μs|ms|s|m|h)")
# each Go unit's length, the largest first (the micro sign and the Greek mu are Go's spellings of us)
NANOSECONDS = {
    "h": 3600 * 10**9,
    "m": 60 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "us": 10**3,
    "µs": 10**3,
    "μs": 10**3,
    "ns": 1,
}


class ChaosMeshDriver:
    name = "chaos-mesh"
    probes = False  # Chaos Mesh faults have no probe pod
    TYPES = ("chaos-mesh.pod-chaos", "chaos-mesh.network-chaos", "chaos-mesh.dns-chaos")

    def __init__(self, cluster: Cluster):
        self.cluster = cluster

    def resource(
        self, gameday_id: str, fault_id: str, spec: FaultSpec, expires_at: float
    ) -> tuple[ResourceKind, dict[str, Any]]:
        """The one Chaos Mesh resource a fault creates."""
        namespace = self.cluster.check_namespace(spec.namespace, spec.type)
        target: dict[str, Any] = {
            "selector": {"namespaces": [namespace], "labelSelectors": require_selector(spec)}
        }
        body: dict[str, Any]
        if spec.type == "chaos-mesh.pod-chaos":
            pod = parse_params(PodChaosParams, spec)
            kind, body = POD_CHAOS, {"action": pod.action}
            if pod.container_names:
                body["containerNames"] = list(pod.container_names)
            targeting: Targeting = pod
        elif spec.type == "chaos-mesh.network-chaos":
            net = parse_params(NetworkChaosParams, spec)
            kind = NETWORK_CHAOS
            body = {
                "action": net.action,
                "direction": net.direction,
                "externalTargets": list(net.external_targets),
            }
            if net.action == "delay":
                body["delay"] = {
                    "latency": crd_duration("latency", net.latency),
                    "jitter": crd_duration("jitter", net.jitter),
                }
            elif net.action == "loss":
                body["loss"] = {"loss": net.loss}
            targeting = net
        elif spec.type == "chaos-mesh.dns-chaos":
            dns = parse_params(DNSChaosParams, spec)
            kind, body = DNS_CHAOS, {"action": dns.action, "patterns": list(dns.patterns)}
            targeting = dns
        else:
            raise FaultRejected(
                f"unknown fault type {spec.type}; the chaos-mesh driver runs {', '.join(self.TYPES)}"
            )
        body.update(target, mode=targeting.mode, duration=f"{max(1, int(spec.ttl))}s")
        if targeting.value:
            body["value"] = targeting.value
        name = object_name(gameday_id, fault_id, kind.plural)
        return kind, {
            "apiVersion": kind.api_version,
            "kind": kind.kind,
            "metadata": owned_metadata(name, namespace, gameday_id, fault_id, expires_at),
            "spec": body,
        }

    def plan(
        self, gameday_id: str, fault_id: str, spec: FaultSpec, expires_at: float
    ) -> list[dict[str, Any]]:
        kind, body = self.resource(gameday_id, fault_id, spec, expires_at)
        return [planned_call("create", kind, body["metadata"]["namespace"], body=body)]

    def apply(self, gameday_id: str, fault_id: str, spec: FaultSpec, expires_at: float) -> str:
        kind, body = self.resource(gameday_id, fault_id, spec, expires_at)
        namespace = body["metadata"]["namespace"]
        self.cluster.api(gameday_id).create(kind, namespace, body)
        what = describe(kind, namespace, body["metadata"]["name"])
        return (
            f"created {what} ({body['spec']['action']}, {body['spec']['duration']}); Chaos Mesh ends it "
            f"by itself at {rfc3339(expires_at)}"
        )

    def observe(self, gameday_id: str, fault_id: str) -> Observation | None:
        return None  # Chaos Mesh faults have no probe; their effect shows in the services they hit

    def revert(self, gameday_id: str, fault_id: str) -> str:
        api = self.cluster.api(gameday_id)
        done = undo_fault(api, self.cluster.allowed_namespaces, CHAOS_KINDS, gameday_id, fault_id)
        return reverted_sentence(fault_id, done)

    def revert_many(self, gameday_id: str, fault_ids: list[str]) -> dict[str, str]:
        """``revert`` for several faults of one game day at once (an abort), from one listing."""
        api = self.cluster.api(gameday_id)
        return undo_faults(api, self.cluster.allowed_namespaces, CHAOS_KINDS, gameday_id, fault_ids)


def crd_duration(key: str, text: str) -> str:
    """A Go duration (as the scenario's rules take it) in the form the NetworkChaos CRD takes.

    The API server refuses a latency or jitter that is not one number and one unit (``1m30s``, ``0``,
    ``+2s``, ``10µs``), so such a value is sent as the same length in the largest whole unit; one the
    CRD takes already is sent as written. A negative one fits no form and is refused before any call.
    """
    if CRD_DURATION.fullmatch(text):
        return text
    terms = GO_DURATION_TERM.findall(text)
    nanoseconds = int(sum(Fraction(number) * NANOSECONDS[unit] for number, unit in terms))  # as Go, whole ns
    if text.startswith("-") and nanoseconds:
        raise FaultRejected(f"`{key}:` {text} is negative; Chaos Mesh takes a duration of 0 or more")
    if not nanoseconds:
        return "0ms"
    return next(
        f"{nanoseconds // size}{unit}" for unit, size in NANOSECONDS.items() if nanoseconds % size == 0
    )

"""The kubernetes driver: faults made with the official client, each recorded on the objects it touches.

Fault types (the step's extra keys in brackets):
- ``k8s.pod-delete`` [percent | count, max_targets]: delete a share of the pods matching ``selector``
  (one when no share is given); nothing to revert.
- ``k8s.network-deny`` [direction: ingress|egress|both]: a NetworkPolicy isolating the selected pods.
  NetworkPolicies only add allowed traffic: traffic another policy allows still flows.
- ``k8s.attack-pod`` [probe, target, secret, sinkhole, image]: see :mod:`bot.faults.attack_pod`; the
  image must be one of ``attack_images`` (SCE_ATTACK_IMAGES).
- ``k8s.honeytoken`` [secret_name]: a Secret whose values carry the fault's marker.
- ``k8s.scale`` [deployment | percent | count, max_targets; replicas]: scale one named Deployment, or a
  share of those matching ``selector``; the original replica count is written on each for the revert.
- ``k8s.token-revoke`` [secret | service_account, selector, percent | count, max_targets]: delete
  service-account token Secrets (:mod:`bot.faults.token_revoke`); the revert recreates them with new
  tokens. Only Secret-based tokens can be revoked this way: projected (TokenRequest) tokens stay valid
  until they expire or their pod is deleted.

The faults that pick targets (pod-delete, scale by selector, token-revoke) draw them as
``bot/gameday/scenario/target_share`` says: the candidates sorted by name, a fresh seed, the chosen
names, the candidates' count and the seed returned with the sentence (an ``AppliedFault``) for the
timeline. No candidate at all: the fault is refused and nothing is applied.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from bot.faults.attack_pod import (
    CONTAINER,
    DEFAULT_IMAGE,
    AttackPodParams,
    attack_pod,
    beacon_name,
    egress_fence,
    probe_arguments,
    read_result,
)
from bot.faults.cluster import (
    DEPLOYMENT,
    NETWORK_POLICY,
    POD,
    SECRET,
    Cluster,
    KubeApi,
    ResourceKind,
    describe,
    planned_call,
)
from bot.faults.labels import (
    ORIGINAL_REPLICAS,
    belongs_to,
    borrowed_marks,
    is_borrowed,
    is_managed,
    marker,
    object_name,
    owned_metadata,
    rfc3339,
    selector_text,
)
from bot.faults.params import FaultParams, ShareParams, parse_params, require_selector, share_of
from bot.faults.token_revoke import TOKEN_TYPE, planned_record, revoke, token_params
from bot.faults.undo import CORE_KINDS, reverted_sentence, undo_fault, undo_faults
from bot.gameday.ports import FaultRejected, Observation
from bot.gameday.scenario.fault_values import domain_problem
from bot.gameday.scenario.guardrails import image_refusal
from bot.gameday.scenario.model import FaultSpec
from bot.gameday.scenario.target_share import AppliedFault, TargetShare, draw_targets, fresh_seed, listing

_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class PodDeleteParams(ShareParams):
    pass


class NetworkDenyParams(FaultParams):
    direction: Literal["ingress", "egress", "both"] = "both"


class HoneytokenParams(FaultParams):
    secret_name: str | None = Field(None, pattern=_DNS_NAME.pattern)


class ScaleParams(ShareParams):
    deployment: str | None = Field(None, pattern=_DNS_NAME.pattern)
    replicas: int = Field(0, ge=0, le=100)

    @model_validator(mode="after")
    def _one_or_a_share(self) -> ScaleParams:
        if self.deployment is not None and (self.percent, self.count, self.max_targets) != (None,) * 3:
            raise ValueError("`deployment:` names one Deployment; a share picks among those of a selector")
        return self


def pod_share(spec: FaultSpec) -> TargetShare:
    """A pod-delete's share: one pod when the step names neither percent nor count."""
    parse_params(PodDeleteParams, spec)
    return share_of(spec, TargetShare(count=1))


def scale_params(spec: FaultSpec) -> tuple[ScaleParams, TargetShare | None]:
    """A scale's parameters, and its share when it picks Deployments by selector (one by default)."""
    params = parse_params(ScaleParams, spec)
    if params.deployment is not None:
        return params, None  # one named Deployment: a selector is not used
    if not spec.selector:
        raise FaultRejected(
            f"{spec.type}: name `deployment:`, or pick a share of the Deployments matching `selector:`"
        )
    return params, share_of(spec, TargetShare(count=1))


class KubernetesDriver:
    name = "kubernetes"
    probes = True  # an attack pod reports blocked or allowed
    TYPES = (
        "k8s.pod-delete",
        "k8s.network-deny",
        "k8s.attack-pod",
        "k8s.honeytoken",
        "k8s.scale",
        "k8s.token-revoke",
    )

    def __init__(
        self,
        cluster: Cluster,
        sinkhole_domain: str | None = None,
        sinkhole_cidr: str | None = None,
        probe_image: str = DEFAULT_IMAGE,
        attack_images: frozenset[str] = frozenset(),
    ):
        """``attack_images``: the images an attack pod may run (SCE_ATTACK_IMAGES); empty means the
        default and ``probe_image``."""
        self.cluster = cluster
        self.sinkhole_domain = sinkhole_domain
        self.sinkhole_cidr = sinkhole_cidr
        self.probe_image = probe_image
        self.attack_images = attack_images or frozenset({DEFAULT_IMAGE, probe_image})

    # -- planning: pure, no API calls ----------------------------------------------------------
    def plan(
        self, gameday_id: str, fault_id: str, spec: FaultSpec, expires_at: float
    ) -> list[dict[str, Any]]:
        namespace = self.cluster.check_namespace(spec.namespace, spec.type)
        if spec.type == "k8s.pod-delete":
            share = pod_share(spec)
            selector = require_selector(spec)
            return [planned_call("delete", POD, namespace, selector=selector, rule=share.rule())]
        if spec.type == "k8s.scale":
            params, scale_share = scale_params(spec)
            marks = borrowed_marks(gameday_id, fault_id, expires_at, 0)
            marks["annotations"][ORIGINAL_REPLICAS] = "(the current count, read at apply)"
            body = {"spec": {"replicas": params.replicas}, "metadata": marks}
            if scale_share is not None:
                selector = dict(spec.selector)
                return [
                    planned_call("list", DEPLOYMENT, namespace, selector=selector),
                    planned_call("patch", DEPLOYMENT, namespace, rule=scale_share.rule(), body=body),
                ]
            return [
                planned_call("get", DEPLOYMENT, namespace, name=params.deployment),
                planned_call("patch", DEPLOYMENT, namespace, name=params.deployment, body=body),
            ]
        if spec.type == "k8s.token-revoke":
            token, token_share = token_params(spec)
            record = planned_record(gameday_id, fault_id, namespace, expires_at)
            if token.secret:
                return [
                    planned_call("get", SECRET, namespace, name=token.secret),
                    planned_call("create", SECRET, namespace, body=record),
                    planned_call("delete", SECRET, namespace, name=token.secret),
                ]
            assert token_share is not None
            chosen = {"type": TOKEN_TYPE, "service_account": token.service_account}
            return [
                planned_call(
                    "list",
                    SECRET,
                    namespace,
                    selector={} if token.service_account else dict(spec.selector),
                    **chosen,
                ),
                planned_call("create", SECRET, namespace, body=record),
                planned_call("delete", SECRET, namespace, rule=token_share.rule(), **chosen),
            ]
        return [
            planned_call("create", kind, namespace, body=body)
            for kind, body in self.manifests(gameday_id, fault_id, spec, namespace, expires_at)
        ]

    def manifests(
        self, gameday_id: str, fault_id: str, spec: FaultSpec, namespace: str, expires_at: float
    ) -> list[tuple[ResourceKind, dict[str, Any]]]:
        """The objects a creating fault makes, in the order it makes them."""
        if spec.type == "k8s.network-deny":
            direction = parse_params(NetworkDenyParams, spec).direction
            types = {"ingress": ["Ingress"], "egress": ["Egress"], "both": ["Ingress", "Egress"]}[direction]
            policy = {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": owned_metadata(
                    object_name(gameday_id, fault_id, "deny"), namespace, gameday_id, fault_id, expires_at
                ),
                "spec": {"podSelector": {"matchLabels": require_selector(spec)}, "policyTypes": types},
            }
            return [(NETWORK_POLICY, policy)]
        if spec.type == "k8s.attack-pod":
            params = parse_params(AttackPodParams, spec)
            sinkhole = params.sinkhole or self.sinkhole_domain
            if params.probe == "dns-beacon" and not sinkhole:
                raise FaultRejected(
                    "probe dns-beacon needs a sinkhole domain (`sinkhole:` or SCE_SINKHOLE_DOMAIN)"
                )
            unfit = None if params.sinkhole or params.probe != "dns-beacon" else domain_problem(sinkhole)
            if unfit:  # the deployment's sinkhole: a scenario's own was checked with the scenario
                raise FaultRejected(f"SCE_SINKHOLE_DOMAIN: {unfit}")
            image = params.image or self.probe_image
            refusal = image_refusal(image, self.attack_images)
            if refusal:
                raise FaultRejected(refusal)
            arguments = probe_arguments(params, namespace, beacon_name(gameday_id, fault_id, sinkhole))
            fence = egress_fence(
                object_name(gameday_id, fault_id, "fence"),
                namespace,
                gameday_id,
                fault_id,
                expires_at,
                params,
                self.sinkhole_cidr,
            )
            pod = attack_pod(
                object_name(gameday_id, fault_id, "probe"),
                namespace,
                gameday_id,
                fault_id,
                expires_at,
                spec.ttl,
                params,
                arguments,
                image,
            )
            return [(NETWORK_POLICY, fence), (POD, pod)]  # the fence first: the pod never runs unfenced
        if spec.type == "k8s.honeytoken":
            params_h = parse_params(HoneytokenParams, spec)
            name = params_h.secret_name or object_name(gameday_id, fault_id, "honeytoken")
            token = marker(gameday_id, fault_id)
            secret = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": owned_metadata(name, namespace, gameday_id, fault_id, expires_at),
                "type": "Opaque",
                "stringData": {
                    "username": "svc-backup",
                    "password": token,
                    "api-token": f"{token}-{fault_id}",
                },
            }
            return [(SECRET, secret)]
        raise FaultRejected(
            f"unknown fault type {spec.type}; the kubernetes driver runs {', '.join(self.TYPES)}"
        )

    # -- applying ------------------------------------------------------------------------------
    def apply(self, gameday_id: str, fault_id: str, spec: FaultSpec, expires_at: float) -> str:
        planned = self.plan(gameday_id, fault_id, spec, expires_at)  # validates everything first
        namespace = str(planned[0]["namespace"])
        api = self.cluster.api(gameday_id)
        if spec.type == "k8s.pod-delete":
            return self._delete_pods(api, namespace, require_selector(spec), pod_share(spec))
        if spec.type == "k8s.scale":
            params, scale_share = scale_params(spec)
            if scale_share is not None:
                return self._scale_share(
                    api, namespace, spec, params, scale_share, (gameday_id, fault_id), expires_at
                )
            assert params.deployment is not None
            return self._scale(
                api, namespace, params.deployment, params.replicas, gameday_id, fault_id, expires_at
            )
        if spec.type == "k8s.token-revoke":
            return revoke(api, namespace, spec, gameday_id, fault_id, expires_at)
        made = []
        for kind, body in self.manifests(gameday_id, fault_id, spec, namespace, expires_at):
            api.create(kind, namespace, body)  # False: a replayed apply found it there already
            made.append(describe(kind, namespace, body["metadata"]["name"]))
        until = rfc3339(expires_at)
        if spec.type == "k8s.network-deny":
            return (
                f"{made[0]} now isolates pods matching {selector_text(spec.selector)} until {until} "
                "(traffic another NetworkPolicy allows still flows)"
            )
        if spec.type == "k8s.attack-pod":
            probe = parse_params(AttackPodParams, spec).probe
            return f"started probe {probe} as {made[1]}, fenced by {made[0]}; it stops by itself at {until}"
        return f"planted honey-token {made[0]} carrying marker {marker(gameday_id, fault_id)} until {until}"

    def _delete_pods(self, api: KubeApi, namespace: str, selector: dict[str, str], share: TargetShare) -> str:
        pods = [
            pod
            for pod in api.list(POD, namespace, selector)
            if not is_managed(pod) and not (pod.get("metadata") or {}).get("deletionTimestamp")
        ]
        if not pods:
            raise FaultRejected(
                f"no pod in {namespace} matches {selector_text(selector)}: nothing was deleted"
            )
        draw = draw_targets((pod["metadata"]["name"] for pod in pods), share, fresh_seed())
        for name in draw.targets:
            api.delete(POD, namespace, name)
        plural = "s" if len(draw.targets) > 1 else ""
        return AppliedFault.of(
            f"{draw.sentence('pods')}; deleted pod{plural} {listing(draw.targets)} in {namespace} "
            f"(selector {selector_text(selector)}); their controllers should recreate them",
            draw,
        )

    def _scale(
        self,
        api: KubeApi,
        namespace: str,
        name: str,
        replicas: int,
        gameday_id: str,
        fault_id: str,
        expires_at: float,
    ) -> str:
        what = describe(DEPLOYMENT, namespace, name)
        deployment = api.get(DEPLOYMENT, namespace, name)
        if deployment is None:
            raise FaultRejected(f"{what} does not exist")
        if is_borrowed(deployment):
            if belongs_to(deployment, gameday_id, fault_id):
                return f"{what} is already scaled by this fault"
            raise FaultRejected(f"{what} is already scaled by another fault; revert that one first")
        original = int((deployment.get("spec") or {}).get("replicas", 1))
        marks = borrowed_marks(gameday_id, fault_id, expires_at, original)
        api.patch(DEPLOYMENT, namespace, name, {"spec": {"replicas": replicas}, "metadata": marks})
        return (
            f"scaled {what} from {original} to {replicas} replicas until {rfc3339(expires_at)}; "
            "the original count is recorded on it for the revert"
        )

    def _scale_share(
        self,
        api: KubeApi,
        namespace: str,
        spec: FaultSpec,
        params: ScaleParams,
        share: TargetShare,
        ids: tuple[str, str],
        expires_at: float,
    ) -> str:
        """Scale a share of the Deployments matching the selector; a replay finds its own marks."""
        gameday_id, fault_id = ids
        found = api.list(DEPLOYMENT, namespace, dict(spec.selector))
        ours = sorted(d["metadata"]["name"] for d in found if belongs_to(d, gameday_id, fault_id))
        if ours:
            return f"Deployments {listing(ours)} in {namespace} are already scaled by this fault"
        free = [d["metadata"]["name"] for d in found if not is_borrowed(d)]
        if not free:
            raise FaultRejected(
                f"no Deployment in {namespace} matches {selector_text(spec.selector)} "
                "(or every one is scaled by another fault): nothing was scaled"
            )
        draw = draw_targets(free, share, fresh_seed())
        done = [
            self._scale(api, namespace, name, params.replicas, gameday_id, fault_id, expires_at)
            for name in draw.targets
        ]
        return AppliedFault.of(f"{draw.sentence('Deployments')}; " + "; ".join(done), draw)

    # -- observing and reverting ---------------------------------------------------------------
    def observe(self, gameday_id: str, fault_id: str) -> Observation | None:
        api = self.cluster.api(gameday_id)
        name = object_name(gameday_id, fault_id, "probe")
        for namespace in sorted(self.cluster.allowed_namespaces):
            pod = api.get(POD, namespace, name)
            if pod is not None and belongs_to(pod, gameday_id, fault_id):
                return read_result(pod, api.pod_log(namespace, name, CONTAINER))
        return None

    def revert(self, gameday_id: str, fault_id: str) -> str:
        api = self.cluster.api(gameday_id)
        done = undo_fault(api, self.cluster.allowed_namespaces, CORE_KINDS, gameday_id, fault_id)
        return reverted_sentence(fault_id, done)

    def revert_many(self, gameday_id: str, fault_ids: list[str]) -> dict[str, str]:
        """``revert`` for several faults of one game day at once (an abort), from one listing."""
        api = self.cluster.api(gameday_id)
        return undo_faults(api, self.cluster.allowed_namespaces, CORE_KINDS, gameday_id, fault_ids)

"""The kubernetes driver: faults made with the official client, each recorded on the objects it touches.

Fault types (the step's extra keys in brackets):
- ``k8s.pod-delete`` [count]: delete up to ``count`` pods matching ``selector``; nothing to revert.
- ``k8s.network-deny`` [direction: ingress|egress|both]: a NetworkPolicy isolating the selected pods.
  NetworkPolicies only add allowed traffic: traffic another policy allows still flows.
- ``k8s.attack-pod`` [probe, target, secret, sinkhole, image]: see :mod:`bot.faults.attack_pod`; the
  image must be one of ``attack_images`` (SCE_ATTACK_IMAGES).
- ``k8s.honeytoken`` [secret_name]: a Secret whose values carry the fault's marker.
- ``k8s.scale`` [deployment, replicas]: the original replica count is written on the Deployment.
- ``k8s.token-revoke`` [secret | service_account]: delete a service-account token Secret (a named one,
  or every legacy token Secret of a ServiceAccount). Only Secret-based tokens can be revoked this way:
  projected (TokenRequest) tokens stay valid until they expire or their pod is deleted. A deleted token
  cannot be restored, so revert has nothing to do; create a new token Secret to recover.
"""

from __future__ import annotations

import random
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
    annotations_of,
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
from bot.faults.params import FaultParams, parse_params, require_selector
from bot.faults.undo import CORE_KINDS, reverted_sentence, undo_fault, undo_faults
from bot.gameday.ports import FaultRejected, Observation
from bot.gameday.scenario.fault_values import domain_problem
from bot.gameday.scenario.guardrails import image_refusal
from bot.gameday.scenario.model import FaultSpec

TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_ANNOTATION = "kubernetes.io/service-account.name"
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class PodDeleteParams(FaultParams):
    count: int = Field(1, ge=1, le=20)


class NetworkDenyParams(FaultParams):
    direction: Literal["ingress", "egress", "both"] = "both"


class HoneytokenParams(FaultParams):
    secret_name: str | None = Field(None, pattern=_DNS_NAME.pattern)


class ScaleParams(FaultParams):
    deployment: str = Field(pattern=_DNS_NAME.pattern)
    replicas: int = Field(0, ge=0, le=100)


class TokenRevokeParams(FaultParams):
    secret: str | None = None
    service_account: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TokenRevokeParams:
        if (self.secret is None) == (self.service_account is None):
            raise ValueError("name exactly one of `secret` or `service_account`")
        return self


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
            count = parse_params(PodDeleteParams, spec).count
            return [planned_call("delete", POD, namespace, selector=require_selector(spec), count=count)]
        if spec.type == "k8s.scale":
            params = parse_params(ScaleParams, spec)
            marks = borrowed_marks(gameday_id, fault_id, expires_at, 0)
            marks["annotations"][ORIGINAL_REPLICAS] = "(the current count, read at apply)"
            body = {"spec": {"replicas": params.replicas}, "metadata": marks}
            return [
                planned_call("get", DEPLOYMENT, namespace, name=params.deployment),
                planned_call("patch", DEPLOYMENT, namespace, name=params.deployment, body=body),
            ]
        if spec.type == "k8s.token-revoke":
            token = parse_params(TokenRevokeParams, spec)
            if token.secret:
                return [
                    planned_call("get", SECRET, namespace, name=token.secret),
                    planned_call("delete", SECRET, namespace, name=token.secret),
                ]
            return [
                planned_call(
                    "list", SECRET, namespace, type=TOKEN_TYPE, service_account=token.service_account
                ),
                planned_call(
                    "delete", SECRET, namespace, type=TOKEN_TYPE, service_account=token.service_account
                ),
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
            return self._delete_pods(
                api, namespace, planned[0]["selector"], planned[0]["count"], gameday_id, fault_id
            )
        if spec.type == "k8s.scale":
            return self._scale(
                api, namespace, parse_params(ScaleParams, spec), gameday_id, fault_id, expires_at
            )
        if spec.type == "k8s.token-revoke":
            return self._revoke(api, namespace, parse_params(TokenRevokeParams, spec))
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

    def _delete_pods(
        self,
        api: KubeApi,
        namespace: str,
        selector: dict[str, str],
        count: int,
        gameday_id: str,
        fault_id: str,
    ) -> str:
        pods = [
            pod
            for pod in api.list(POD, namespace, selector)
            if not is_managed(pod) and not (pod.get("metadata") or {}).get("deletionTimestamp")
        ]
        chosen = sorted(pod["metadata"]["name"] for pod in pods)
        random.Random(f"{gameday_id}/{fault_id}").shuffle(chosen)
        chosen = sorted(chosen[:count])
        for name in chosen:
            api.delete(POD, namespace, name)
        if not chosen:
            return f"no pod in {namespace} matches {selector_text(selector)}; nothing was deleted"
        return (
            f"deleted pod{'s' if len(chosen) > 1 else ''} {', '.join(chosen)} in {namespace} "
            f"(selector {selector_text(selector)}); their controllers should recreate them"
        )

    def _scale(
        self,
        api: KubeApi,
        namespace: str,
        params: ScaleParams,
        gameday_id: str,
        fault_id: str,
        expires_at: float,
    ) -> str:
        what = describe(DEPLOYMENT, namespace, params.deployment)
        deployment = api.get(DEPLOYMENT, namespace, params.deployment)
        if deployment is None:
            raise FaultRejected(f"{what} does not exist")
        if is_borrowed(deployment):
            if belongs_to(deployment, gameday_id, fault_id):
                return f"{what} is already scaled by this fault"
            raise FaultRejected(f"{what} is already scaled by another fault; revert that one first")
        original = int((deployment.get("spec") or {}).get("replicas", 1))
        marks = borrowed_marks(gameday_id, fault_id, expires_at, original)
        api.patch(
            DEPLOYMENT,
            namespace,
            params.deployment,
            {"spec": {"replicas": params.replicas}, "metadata": marks},
        )
        return (
            f"scaled {what} from {original} to {params.replicas} replicas until {rfc3339(expires_at)}; "
            "the original count is recorded on it for the revert"
        )

    def _revoke(self, api: KubeApi, namespace: str, params: TokenRevokeParams) -> str:
        if params.secret:
            secret = api.get(SECRET, namespace, params.secret)
            if secret is None:
                return f"Secret {namespace}/{params.secret} is already gone: nothing to revoke"
            if secret.get("type") != TOKEN_TYPE:
                raise FaultRejected(f"Secret {namespace}/{params.secret} is not a service-account token")
            tokens = [secret]
        else:
            tokens = [
                s
                for s in api.list(SECRET, namespace, {})
                if s.get("type") == TOKEN_TYPE
                and annotations_of(s).get(SA_ANNOTATION) == params.service_account
            ]
        names = sorted(s["metadata"]["name"] for s in tokens)
        for name in names:
            api.delete(SECRET, namespace, name)
        if not names:
            return (
                f"ServiceAccount {namespace}/{params.service_account} has no token Secret: nothing to revoke"
            )
        return (
            f"revoked service-account token Secret{'s' if len(names) > 1 else ''} {', '.join(names)} in "
            f"{namespace}; clients using {'them' if len(names) > 1 else 'it'} now get 401 (not restorable)"
        )

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

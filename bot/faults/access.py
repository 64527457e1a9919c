"""Preflight's Kubernetes permissions. Before a game day starts, every call its faults would make, and the
calls that undo them (delete what was created, list what the reaper looks for, patch back what was
patched), is asked of the API server as a SelfSubjectAccessReview, per verb, resource and namespace. A call
the bot may not make fails the check, so the game day does not start half-able to revert.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bot.faults.chaos_mesh import DNS_CHAOS, NETWORK_CHAOS, POD_CHAOS
from bot.faults.cluster import (
    DEPLOYMENT,
    NETWORK_POLICY,
    POD,
    SECRET,
    SERVICE_ACCOUNT,
    ResourceKind,
    api_error,
)
from bot.faults.registry import FaultDrivers
from bot.gameday.ports import FaultRejected
from bot.gameday.preflight import Check
from bot.gameday.scenario.model import Scenario

if TYPE_CHECKING:
    from kubernetes import client as k8s

KINDS: dict[str, ResourceKind] = {
    kind.kind: kind
    for kind in (
        POD,
        SECRET,
        SERVICE_ACCOUNT,
        DEPLOYMENT,
        NETWORK_POLICY,
        POD_CHAOS,
        NETWORK_CHAOS,
        DNS_CHAOS,
    )
}
UNDO = {"create": ("delete", "list"), "patch": ("patch",), "delete": ("list",)}
"""What undoing (or finding) each planned call takes: a created object is deleted at revert and listed by
its labels by the reaper; a patch is patched back; objects deleted by selector are listed first."""
REVIEW_SECONDS = 5.0

Permission = tuple[str, str, str, str]  # verb, API group ("" for the core group), resource, namespace


def needed_permissions(plan: Iterable[dict[str, Any]]) -> list[Permission]:
    """Every (verb, group, resource, namespace) a driver's plan and its undoing need, in order, once."""
    found: list[Permission] = []
    for call in plan:
        kind = KINDS.get(str(call.get("kind")))
        if kind is None:
            continue
        verb = str(call.get("verb"))
        for each in (verb, *UNDO.get(verb, ())):
            permission = (each, kind.group, kind.plural, str(call.get("namespace")))
            if permission not in found:
                found.append(permission)
    return found


def permission_checks(scenario: Scenario, drivers: FaultDrivers | None) -> list[Check]:
    """One check per permission the scenario's faults need; none without a cluster (faults simulated)."""
    if drivers is None or drivers.cluster is None:
        return []
    needed: list[Permission] = []
    for index, step in enumerate(scenario.steps):
        if step.fault is None:
            continue
        try:
            plan = drivers.plan("gd-preflight", f"f{index}", step.fault, time.time() + step.fault.ttl)
        except FaultRejected as exc:
            return [Check(f"fault of step {index}", False, str(exc))]
        needed += [p for p in needed_permissions(plan) if p not in needed]
    if not needed:
        return []
    from kubernetes import client as k8s  # a cluster is configured: the client is already imported

    with k8s.ApiClient(drivers.cluster.configuration) as api_client:
        reviews = k8s.AuthorizationV1Api(api_client)
        return [review(reviews, permission) for permission in needed]


def review(
    reviews: k8s.AuthorizationV1Api,
    permission: Permission,
    subresource: str = "",
    otherwise: str = "the fault could not be applied or undone",
) -> Check:
    """One SelfSubjectAccessReview as a check; ``otherwise`` says what a refusal would break."""
    verb, group, resource, namespace = permission
    what = (f"{resource}.{group}" if group else resource) + (f"/{subresource}" if subresource else "")
    name = f"kubernetes: {verb} {what} in {namespace}"
    from kubernetes import client as k8s

    attributes = k8s.V1ResourceAttributes(verb=verb, group=group, resource=resource, namespace=namespace)
    if subresource:
        attributes.subresource = subresource
    body = k8s.V1SelfSubjectAccessReview(
        spec=k8s.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
    )
    try:
        status = reviews.create_self_subject_access_review(body, _request_timeout=REVIEW_SECONDS).status
    except Exception as exc:  # the API server is the judge; without its answer the check cannot pass
        return Check(
            name, False, f"the API server did not answer the access review ({api_error(exc)})", blind=True
        )
    if status is not None and status.allowed:
        return Check(name, True, "allowed")
    reason = f" ({status.reason})" if status is not None and status.reason else ""
    role = "deploy/chaos-mesh-role.yaml" if group == "chaos-mesh.org" else "deploy/role.yaml"
    return Check(
        name,
        False,
        f"the bot may not {verb} {what} in {namespace}{reason}: bind its Role there ({role}), or {otherwise}",
    )

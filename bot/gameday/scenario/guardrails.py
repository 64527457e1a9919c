"""Guardrails every fault goes through, in one place: the namespace allow-list first of all."""

from __future__ import annotations

from bot.gameday.people.mentions import user_id_from
from bot.gameday.scenario.durations import format_duration
from bot.gameday.scenario.model import SYSTEM_NAMESPACES, FaultSpec, Scenario


def check_fault_allowed(
    spec: FaultSpec, scenario: Scenario, deployment_allowed: frozenset[str]
) -> str | None:
    """None when the fault may run; otherwise the sentence saying why not.

    Simulated faults touch nothing and need no namespace. Anything else must name a namespace that
    the scenario AND the deployment (SCE_ALLOWED_NAMESPACES) both allow, and never a system one.
    """
    if spec.type.startswith("simulated"):
        return None
    namespace = spec.namespace
    if not namespace:
        return f"fault {spec.type} names no namespace; add `namespace:` to the step"
    if namespace in SYSTEM_NAMESPACES:
        return f"namespace {namespace} is a system namespace; faults never run there"
    if namespace not in scenario.guardrails.namespaces:
        return f"namespace {namespace} is not in the scenario's guardrails.namespaces"
    if namespace not in deployment_allowed:
        return f"namespace {namespace} is not in SCE_ALLOWED_NAMESPACES for this deployment"
    return None


DEFAULT_MAX_TTL = 24 * 3600.0
"""SCE_MAX_TTL when it is not set: no fault lease and no time box longer than a day."""


def ttl_refusal(spec: FaultSpec, max_ttl: float) -> str | None:
    """None when the fault's lease is within the deployment's ceiling (SCE_MAX_TTL); else why not."""
    if spec.ttl <= max_ttl:
        return None
    return (
        f"fault.ttl {format_duration(spec.ttl)} is above this deployment's ceiling "
        f"SCE_MAX_TTL={format_duration(max_ttl)}; shorten the ttl"
    )


def ceiling_refusals(scenario: Scenario, max_ttl: float) -> list[str]:
    """Every fault ttl and the time box above SCE_MAX_TTL, as sentences naming the field."""
    refusals = []
    if scenario.guardrails.max_duration > max_ttl:
        refusals.append(
            f"guardrails.max_duration: {format_duration(scenario.guardrails.max_duration)} is above this "
            f"deployment's ceiling SCE_MAX_TTL={format_duration(max_ttl)}; shorten the time box"
        )
    for index, step in enumerate(scenario.steps):
        refusal = ttl_refusal(step.fault, max_ttl) if step.fault is not None else None
        if refusal:
            refusals.append(f"steps[{index}].{refusal}")
    return refusals


def approval_refusal(
    scenario: Scenario, started_by: str, user: str, deployment_approvers: frozenset[str]
) -> str | None:
    """None when ``user`` may approve; otherwise why not. The starter never approves their own game day."""
    approvers = {user_id_from(a) or a for a in scenario.approval.approvers} | set(deployment_approvers)
    others = sorted(approvers - {started_by})  # the starter never counts, even when listed
    names = ", ".join(f"<@{a}>" for a in others)
    if user == started_by:
        ask = f"ask {names}" if others else "no one else is an approver yet"
        return f"Two-person rule: the person who started a game day cannot approve it; {ask}."
    if not others:
        return "No approvers are configured: add approval.approvers to the scenario or set SCE_APPROVERS."
    if user not in approvers:
        return f"Only {names} may approve this game day."
    return None


def deployment_refusals(scenario: Scenario, deployment_allowed: frozenset[str]) -> list[str]:
    """Every fault step this deployment would refuse (SCE_ALLOWED_NAMESPACES), as sentences."""
    refusals = []
    for index, step in enumerate(scenario.steps):
        if step.fault is not None:
            refusal = check_fault_allowed(step.fault, scenario, deployment_allowed)
            if refusal:
                refusals.append(f"steps[{index}].fault: {refusal}")
    return refusals


def image_refusal(image: str, allowed_images: frozenset[str]) -> str | None:
    """None when an attack pod may run ``image`` (SCE_ATTACK_IMAGES); otherwise the sentence why not."""
    if image in allowed_images:
        return None
    return (
        f"image {image} is not in SCE_ATTACK_IMAGES for this deployment "
        f"(allowed: {', '.join(sorted(allowed_images)) or 'none'})"
    )


def image_refusals(scenario: Scenario, allowed_images: frozenset[str]) -> list[str]:
    """Every fault step whose ``image:`` this deployment does not allow, as sentences."""
    refusals = []
    for index, step in enumerate(scenario.steps):
        image = (step.fault.model_extra or {}).get("image") if step.fault else None
        refusal = image_refusal(image, allowed_images) if isinstance(image, str) else None
        if refusal:
            refusals.append(f"steps[{index}].fault.image: {refusal}")
    return refusals


FACILITATOR_COMMANDS = frozenset({"start", "end", "abort", "pause", "resume", "next", "role", "schedule"})


def facilitator_refusal(action: str, user: str, facilitators: frozenset[str]) -> str | None:
    """None when ``user`` may ``action``; an empty SCE_FACILITATORS lets everyone facilitate."""
    if action not in FACILITATOR_COMMANDS or not facilitators or user in facilitators:
        return None
    names = ", ".join(f"<@{f}>" for f in sorted(facilitators))
    return (
        f"Only facilitators ({names}) may use `/sce {action}`. "
        "Anyone in the channel may acknowledge and add notes."
    )

"""Which rule of the deployment's policy (SCE_POLICY) a scenario or an approver breaks, each a sentence
that names the rule: ``policy (SCE_POLICY) namespaces.web.faults: ...``.

A scenario is checked as a whole before anything of it starts (``/sce start``, a schedule, `sce run`,
`sce validate`), so a refused one applies nothing. Simulated faults touch nothing and are not governed.
Targets are what a fault's share declares (``count``, else ``max_targets``, whose default counts when a
``percent`` leaves it out); a fault declaring no share is left to its driver. An attack pod's image is
the step's ``image:`` or, when it names none, the deployment's default probe image.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.gameday.policy.model import ATTACK_POD, ApprovalRule, Policy
from bot.gameday.scenario.durations import format_duration
from bot.gameday.scenario.model import FaultSpec, Scenario
from bot.gameday.scenario.target_share import SHARE_KEYS, ShareError, read_share

RULE = "policy (SCE_POLICY)"


def policy_refusals(scenario: Scenario, policy: Policy | None, default_image: str | None = None) -> list[str]:
    """Every rule of ``policy`` the scenario breaks, as ``<field>: policy (SCE_POLICY) <rule>: <why>``."""
    if policy is None:
        return []
    found = []
    ceiling = policy.ceilings.duration
    if ceiling is not None and scenario.guardrails.max_duration > ceiling:
        found.append(
            f"guardrails.max_duration: {RULE} ceilings.duration: the time box "
            f"{format_duration(scenario.guardrails.max_duration)} is above the policy's ceiling "
            f"{format_duration(ceiling)}; shorten it"
        )
    for index, step in enumerate(scenario.steps):
        spec = step.fault
        if spec is not None and not spec.type.startswith("simulated"):
            why = _fault_refusals(spec, policy, default_image)
            found += [f"steps[{index}].fault: {RULE} {sentence}" for sentence in why]
    governed = set(fault_types(scenario))
    for index, rule in enumerate(policy.approvals):
        types = sorted(governed & set(rule.faults))
        if types and not scenario.approval.required:
            found.append(
                f"approval.required: {RULE} approvals[{index}]: a game day with {', '.join(types)} faults "
                f"needs an approval by {', '.join(rule.approvers)}; set approval.required: true"
            )
    return found


def fault_types(scenario: Scenario) -> list[str]:
    """The fault types of a scenario's steps that a policy governs (simulated ones are not)."""
    faults = [step.fault for step in scenario.steps if step.fault is not None]
    return [fault.type for fault in faults if not fault.type.startswith("simulated")]


def _fault_refusals(spec: FaultSpec, policy: Policy, default_image: str | None) -> list[str]:
    found = []
    namespace = spec.namespace or ""
    if policy.namespaces is not None:
        rule = policy.namespaces.get(namespace)
        if rule is None:
            listed = ", ".join(sorted(policy.namespaces)) or "none"
            return [
                f"namespaces: namespace {namespace} is not in the policy, so no fault runs there "
                f"(policy namespaces: {listed})"
            ]
        if spec.type not in rule.faults:
            allowed = ", ".join(rule.faults) or "none"
            return [
                f"namespaces.{namespace}.faults: {spec.type} is not allowed in namespace {namespace} "
                f"(allowed: {allowed})"
            ]
        if rule.max_ttl is not None and spec.ttl > rule.max_ttl:
            found.append(
                f"namespaces.{namespace}.max_ttl: ttl {format_duration(spec.ttl)} is above the "
                f"{format_duration(rule.max_ttl)} allowed in namespace {namespace}; shorten fault.ttl"
            )
        if rule.max_targets is not None:
            found += _targets(spec, rule.max_targets, f"namespaces.{namespace}.max_targets", namespace)
    if policy.ceilings.ttl is not None and spec.ttl > policy.ceilings.ttl:
        found.append(
            f"ceilings.ttl: ttl {format_duration(spec.ttl)} is above the policy's ceiling "
            f"{format_duration(policy.ceilings.ttl)}; shorten fault.ttl"
        )
    if policy.ceilings.targets is not None:
        found += _targets(spec, policy.ceilings.targets, "ceilings.targets", None)
    if spec.type == ATTACK_POD and policy.attack_images is not None:
        image = _declared(spec, "image")
        image = image if isinstance(image, str) else default_image
        if image is not None and image not in policy.attack_images:
            allowed = ", ".join(policy.attack_images) or "none"
            found.append(
                f"attack_images: image {image} is not in the policy's attack_images (allowed: {allowed})"
            )
    return found


def _declared(spec: FaultSpec, name: str) -> object:
    """A fault field whether the scenario model declares it or keeps it as an extra key."""
    value = getattr(spec, name, None)
    return value if value is not None else (spec.model_extra or {}).get(name)


def _most_targets(spec: FaultSpec) -> tuple[int, str] | None:
    """The most targets a fault may pick and the field that says so (bot/gameday/scenario/target_share:
    its ``count``, else its ``max_targets``, which has a default); None when it declares no share."""
    try:
        share = read_share({key: _declared(spec, key) for key in SHARE_KEYS})
    except ShareError:
        return None  # the scenario's own check names the field
    if share is None:
        return None
    if share.count is not None:
        return share.count, f"count {share.count}"
    given = _declared(spec, "max_targets") is not None
    return share.max_targets, f"max_targets {share.max_targets}{'' if given else ' (when left out)'}"


def _targets(spec: FaultSpec, ceiling: int, rule: str, namespace: str | None) -> list[str]:
    most = _most_targets(spec)
    if most is None or most[0] <= ceiling:
        return []
    where = (
        f"the {ceiling} allowed in namespace {namespace}" if namespace else f"the policy's ceiling {ceiling}"
    )
    return [f"{rule}: the fault may pick up to {most[0]} targets ({most[1]}), above {where}; pick fewer"]


@dataclass(frozen=True)
class ApproverRule:
    """A policy approval rule that governs one game day, with its user groups expanded to people."""

    index: int
    rule: ApprovalRule
    people: frozenset[str]


def approval_rules(scenario: Scenario, policy: Policy | None) -> list[tuple[int, ApprovalRule]]:
    """The policy's approval rules that govern this scenario (one of its fault types is listed)."""
    if policy is None:
        return []
    governed = set(fault_types(scenario))
    return [(i, rule) for i, rule in enumerate(policy.approvals) if governed & set(rule.faults)]


def approver_refusal(rules: Iterable[ApproverRule], user: str) -> str | None:
    """None when ``user`` is an approver of every rule governing the game day; else the first rule's
    sentence, naming who may (people by mention, user groups as groups)."""
    for found in rules:
        if user not in found.people:
            names = ", ".join(_mention(a) for a in found.rule.approvers)
            types = ", ".join(found.rule.faults)
            return f"{RULE} approvals[{found.index}]: only {names} may approve {types} faults."
    return None


def _mention(slack_id: str) -> str:
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"

"""The policy file's format (version 1), each rule validated as it is read, so a mistake is one sentence
naming its line and field instead of a rule silently not applying.

The fault types a policy may name are the ones sce's drivers run (bot/faults: a test keeps the two lists
equal). Simulated faults touch nothing, so no policy governs them and naming one is a mistake too.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from bot.gameday.scenario.fault_values import image_problem
from bot.gameday.scenario.fields import Duration, StrictModel
from bot.gameday.scenario.log_sources import namespace_problem
from bot.gameday.scenario.model import SYSTEM_NAMESPACES
from bot.gameday.scenario.suggestions import did_you_mean

KNOWN_FAULT_TYPES = (
    "k8s.pod-delete",
    "k8s.network-deny",
    "k8s.attack-pod",
    "k8s.honeytoken",
    "k8s.scale",
    "k8s.token-revoke",
    "chaos-mesh.pod-chaos",
    "chaos-mesh.network-chaos",
    "chaos-mesh.dns-chaos",
)
"""KubernetesDriver.TYPES and ChaosMeshDriver.TYPES (the core imports no driver; a test compares)."""

MAX_TARGETS = 10_000
ATTACK_POD = "k8s.attack-pod"
_SLACK_ID = re.compile(r"[UWS][A-Z0-9]{2,20}")


def _fault_type(value: str) -> str:
    if value in KNOWN_FAULT_TYPES:
        return value
    if value.startswith("simulated"):
        raise ValueError(f"{value!r}: simulated faults are never governed; leave it out")
    hint = did_you_mean(value, KNOWN_FAULT_TYPES)
    raise ValueError(f"{value!r} is not a fault type sce runs (known: {', '.join(KNOWN_FAULT_TYPES)}).{hint}")


def _positive(seconds: float | None) -> float | None:
    if seconds is not None and seconds <= 0:
        raise ValueError("must be longer than 0s")
    return seconds


def _slack_id(value: str) -> str:
    if not _SLACK_ID.fullmatch(value):
        shown = value[:40].encode("unicode_escape").decode("ascii")
        raise ValueError(f"{shown!r} is not a Slack user id (U..., W...) or user-group id (S...)")
    return value


def _image(value: str) -> str:
    problem = image_problem(value)
    if problem:
        raise ValueError(problem)
    return value


FaultType = Annotated[str, AfterValidator(_fault_type)]
Ceiling = Annotated[Duration | None, AfterValidator(_positive)]
Targets = Annotated[int | None, Field(strict=True, ge=1, le=MAX_TARGETS)]
Image = Annotated[str, AfterValidator(_image)]
SlackId = Annotated[str, AfterValidator(_slack_id)]


class NamespaceRule(StrictModel):
    """What may run in one namespace: these fault types, each within ``max_ttl`` and ``max_targets``."""

    faults: list[FaultType]
    max_ttl: Ceiling = None
    max_targets: Targets = None


class Ceilings(StrictModel):
    """Ceilings for every namespace: a fault's ttl and targets, and a game day's time box."""

    ttl: Ceiling = None
    targets: Targets = None
    duration: Ceiling = None


class ApprovalRule(StrictModel):
    """Game days with a fault of one of ``faults`` may be approved only by ``approvers``."""

    faults: list[FaultType] = Field(min_length=1)
    approvers: list[SlackId] = Field(min_length=1)


class Policy(StrictModel):
    version: Literal[1]
    namespaces: dict[str, NamespaceRule] | None = None  # None: no per-namespace rule; {}: no namespace
    attack_images: list[Image] | None = None  # None: SCE_ATTACK_IMAGES alone decides
    ceilings: Ceilings = Ceilings()
    approvals: list[ApprovalRule] = []

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, version: object) -> object:
        if version != 1 or isinstance(version, bool):
            raise ValueError(f"{str(version)[:20]!r} is not a policy format sce reads; write `version: 1`")
        return version

    @field_validator("namespaces", mode="before")
    @classmethod
    def _namespace_names(cls, namespaces: object) -> object:
        """Before the rules are read, so a misspelt namespace is said even when its rule is wrong too."""
        for name in namespaces if isinstance(namespaces, dict) else {}:
            if not isinstance(name, str):
                raise _At(f"{name!r} is not a namespace name", str(name))
            if name in SYSTEM_NAMESPACES:
                raise _At(f"{name} is a system namespace; faults never run there, so leave it out", name)
            problem = namespace_problem(name)
            if problem:
                raise _At(problem, name)
        return namespaces


class _At(ValueError):
    """A sentence about one key below the validated field (the loader reads ``loc`` for the line)."""

    def __init__(self, message: str, *loc: str | int):
        super().__init__(message)
        self.loc = loc

"""The parameters of Chaos Mesh faults, with the rules Chaos Mesh's admission webhook applies (v2.x:
`api/v1alpha1` of chaos-mesh/chaos-mesh), checked when the scenario is read: a scenario that Chaos Mesh
would refuse, or that misspells a key, fails `sce validate` naming the field, not the game day's start.

The webhook's rules enforced here:
- `mode: fixed` needs `value` a whole number above 0; `fixed-percent` and `random-max-percent` a whole
  number from 1 to 100 (ValidatePodMode);
- NetworkChaos `latency` and `jitter` are Go durations (`time.ParseDuration`), `loss` a number (here
  from 0 to 100: a percentage);
- NetworkChaos `direction: from` or `both` is refused for the netem actions (delay, loss): they need a
  target of pods and do not take external targets in those directions; only `partition` may;
- PodChaos `container-kill` needs container names.
Unknown keys are refused (a typo would otherwise be silently ignored).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Mode = Literal["one", "all", "fixed", "fixed-percent", "random-max-percent"]
# Go's time.ParseDuration: "0", or a signed sequence of decimal numbers each with a unit
GO_DURATION = re.compile(r"[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)")
NUMBER = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
WHOLE = re.compile(r"[0-9]+")
ZERO = re.compile(r"(0|((0+(\.0*)?|\.0+)(ns|us|µs|μs|ms|s|m|h))+)")  # a Go duration of no length
COMMON_KEYS = ("type", "namespace", "selector", "ttl")  # every fault step's (FaultSpec), not these models'


def _as_text(value: object) -> object:
    """YAML reads `value: 3` and `loss: 30` as numbers; Chaos Mesh takes them as strings."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class ChaosParams(BaseModel):
    """Unknown keys are typos, and are reported."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Targeting(ChaosParams):
    mode: Mode = "one"
    value: str | None = None

    _value_as_text = field_validator("value", mode="before")(_as_text)

    @model_validator(mode="after")
    def _value_fits_the_mode(self) -> Targeting:
        value = (self.value or "").strip()
        if self.mode == "fixed" and not (WHOLE.fullmatch(value) and int(value) > 0):
            raise ValueError(
                f"`value:` must be a whole number above 0 (a count of pods) with mode fixed, not {value!r}"
            )
        if self.mode in ("fixed-percent", "random-max-percent") and not (
            WHOLE.fullmatch(value) and 0 < int(value) <= 100
        ):
            raise ValueError(
                f"`value:` must be a whole number from 1 to 100 with mode {self.mode}, not {value!r}"
            )
        return self


class PodChaosParams(Targeting):
    action: Literal["pod-kill", "pod-failure", "container-kill"] = "pod-kill"
    container_names: list[str] = []

    @model_validator(mode="after")
    def _containers_to_kill(self) -> PodChaosParams:
        if self.action == "container-kill" and not self.container_names:
            raise ValueError(
                "`container_names:` are needed with action container-kill (the containers to kill)"
            )
        return self


class NetworkChaosParams(Targeting):
    action: Literal["delay", "loss", "partition"] = "delay"
    external_targets: list[str] = Field(min_length=1)
    direction: Literal["to", "from", "both"] = "to"
    latency: str = "200ms"
    jitter: str = "0ms"
    loss: str = "50"

    _loss_as_text = field_validator("loss", mode="before")(_as_text)

    @model_validator(mode="after")
    def _what_the_webhook_accepts(self) -> NetworkChaosParams:
        for name in ("latency", "jitter"):
            if not GO_DURATION.fullmatch(getattr(self, name)):
                raise ValueError(
                    f"`{name}:` must be a Go duration such as 200ms or 1.5s, not {getattr(self, name)!r}"
                )
            if getattr(self, name).startswith("-") and not ZERO.fullmatch(getattr(self, name)[1:]):
                raise ValueError(f"`{name}:` {getattr(self, name)} is negative; a delay is 0 or more")
        if not (NUMBER.fullmatch(self.loss) and 0 <= float(self.loss) <= 100):
            raise ValueError(f"`loss:` must be a number from 0 to 100 (a percentage), not {self.loss!r}")
        if self.direction != "to" and self.action != "partition":
            raise ValueError(
                f"`direction:` {self.direction} with action {self.action}: Chaos Mesh refuses it (its netem "
                "actions need a target of pods and take external targets only with direction to); use "
                "direction to, or action partition"
            )
        return self


class DNSChaosParams(Targeting):
    action: Literal["error", "random"] = "error"
    patterns: list[str] = Field(min_length=1)


MODELS: dict[str, type[ChaosParams]] = {
    "chaos-mesh.pod-chaos": PodChaosParams,
    "chaos-mesh.network-chaos": NetworkChaosParams,
    "chaos-mesh.dns-chaos": DNSChaosParams,
}


def chaos_mesh_problem(fault_type: str, values: Mapping[str, object]) -> tuple[str, str] | None:
    """The first (key, sentence) Chaos Mesh's webhook (or a typo) would refuse; None when all fit or
    the fault is not Chaos Mesh's."""
    model = MODELS.get(fault_type)
    if model is None:
        return None
    try:
        model.model_validate(dict(values))
    except ValidationError as exc:
        errors = exc.errors()  # a typo first: the key it misspells is then also "missing"
        error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        key = str(error["loc"][0]) if error["loc"] else _key_named(error["msg"], values)
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            known = ", ".join(sorted(model.model_fields))
            message = f"unknown key for {fault_type}; it takes {known} (and {', '.join(COMMON_KEYS)})"
        return key, f"{fault_type}: {message}"
    return None


def _key_named(message: str, values: Mapping[str, object]) -> str:
    """The key a whole-model rule's sentence names first (`key:`), else the first given."""
    named = re.search(r"`([a-z_]+):", message)
    return named.group(1) if named else next(iter(values), "type")

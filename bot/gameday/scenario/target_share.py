"""Blast radius by share: how many of the objects a fault could touch it does touch, and which ones.

A fault that picks targets (``PICKING_TYPES``: pods, service-account tokens, deployments) says how many
with ``percent`` (of the candidates its selector matches; decimals allowed: 1, 0.5) or ``count``, not
both, under a ``max_targets`` ceiling (``DEFAULT_MAX_TARGETS`` when left out, ``MAX_TARGETS_LIMIT`` at
most). The starter pack's "invalidate 1% of service tokens" is ``percent: 1``.

How many: ``ceil(percent / 100 x candidates)``, computed exactly on the decimal written (1% of 250 is 3,
0.07% of 10,000 is 7, never 8 from binary floating point). Rounding up means a share of a non-empty set
always picks at least one: a drill over "1% of 40 tokens" revokes one token, not none. Then capped at
``max_targets`` and at the candidates. Which ones: the candidates sorted by name and deduplicated, then
``random.Random(seed).sample``; the seed is fresh for each fault (``secrets.randbits(64)``) and recorded
with the chosen names, so a reviewer with the candidate list can redo the draw and get the same names.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

PICKING_TYPES = ("k8s.pod-delete", "k8s.token-revoke", "k8s.scale")
SHARE_KEYS = ("percent", "count", "max_targets")
DEFAULT_MAX_TARGETS = 10  # a scenario that wants more says so
MAX_TARGETS_LIMIT = 250  # bounds the names recorded on the timeline and on the cluster
LISTED = 20  # names written out in a sentence; the rest are counted


class ShareError(ValueError):
    """A share field that cannot be used; ``key`` is the field to blame."""

    def __init__(self, key: str, sentence: str):
        super().__init__(sentence)
        self.key = key


@dataclass(frozen=True)
class TargetShare:
    """How many targets a fault picks: a ``percent`` of the candidates or a ``count``, at most
    ``max_targets``. Neither (``every``) picks every candidate up to the ceiling."""

    percent: Decimal | None = None
    count: int | None = None
    max_targets: int = DEFAULT_MAX_TARGETS

    def how_many(self, candidates: int) -> int:
        """The number of targets drawn from ``candidates`` objects (see the module docstring)."""
        if candidates <= 0:
            return 0
        if self.count is not None:
            wanted = self.count
        elif self.percent is not None:
            wanted = math.ceil(self.percent * candidates / 100)
        else:
            wanted = candidates
        return max(1, min(wanted, self.max_targets, candidates))

    def rule(self) -> dict[str, Any]:
        """The rule as recorded on the timeline: the fields as given, plus the ceiling applied."""
        rule: dict[str, Any] = {"max_targets": self.max_targets}
        if self.percent is not None:
            rule["percent"] = float(self.percent)
        if self.count is not None:
            rule["count"] = self.count
        return rule

    def __str__(self) -> str:
        if self.count is not None:
            what = f"count {self.count}"
        elif self.percent is not None:
            what = f"{self.percent.normalize():f}%"
        else:
            what = "every candidate"
        return f"{what}, at most {self.max_targets}"


@dataclass(frozen=True)
class Draw:
    """The targets one fault picked, with what a reviewer needs to check the pick."""

    targets: tuple[str, ...]
    candidates: int
    seed: int
    share: TargetShare

    def record(self) -> dict[str, Any]:
        """For the FAULT_APPLIED event. The seed is a string: JSON readers in browsers keep 53 bits."""
        return {
            "targets": list(self.targets),
            "candidates": self.candidates,
            "seed": str(self.seed),
            "rule": self.share.rule(),
        }

    def sentence(self, noun: str = "candidates") -> str:
        """``picked 3 of 250 candidates (1%, at most 5; seed 42): a, b, c``."""
        return (
            f"picked {len(self.targets)} of {self.candidates} {noun} ({self.share}; seed {self.seed}): "
            f"{listing(self.targets)}"
        )


class AppliedFault(str):
    """A driver's sentence that also carries its draw. A ``str``, so everything that only wants the
    sentence (the thread, the event log, every FaultDriver caller) keeps working unchanged."""

    draw: Draw | None = None

    @classmethod
    def of(cls, detail: str, draw: Draw | None) -> AppliedFault:
        applied = cls(detail)
        applied.draw = draw
        return applied


def drawn(detail: str) -> dict[str, Any]:
    """The draw's fields for the timeline, if ``detail`` came with one; {} otherwise."""
    draw = getattr(detail, "draw", None)
    return draw.record() if isinstance(draw, Draw) else {}


def fresh_seed() -> int:
    return secrets.randbits(64)


def draw_targets(candidates: Iterable[str], share: TargetShare, seed: int) -> Draw:
    """Pick ``share`` of ``candidates`` with ``seed``; the same names and seed give the same pick."""
    pool = sorted(set(candidates))
    chosen = random.Random(seed).sample(pool, share.how_many(len(pool)))
    return Draw(tuple(sorted(chosen)), len(pool), seed, share)


def listing(names: Iterable[str], limit: int = LISTED) -> str:
    """Names for a sentence: the first ``limit``, then how many more."""
    names = list(names)
    more = f" +{len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


# -- reading the fields --------------------------------------------------------------------------------
def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _whole(key: str, value: object, meaning: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShareError(key, f"{_shown(value)} is not a whole number; {key} is {meaning}")
    if value < 1:
        raise ShareError(key, f"{value} is not 1 or more; {key} is {meaning}")
    return value


def _percent(value: object) -> Decimal:
    meaning = "a share of the candidates above 0 and at most 100, e.g. 1 or 0.5"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ShareError("percent", f"{_shown(value)} is not a number; percent is {meaning}")
    try:
        percent = Decimal(str(value))  # the decimal as written, not its binary approximation
    except InvalidOperation:
        raise ShareError("percent", f"{_shown(value)} is not a number; percent is {meaning}") from None
    if not percent.is_finite():
        raise ShareError("percent", f"{_shown(value)} is not a number; percent is {meaning}")
    if percent > 100:
        raise ShareError("percent", f"{_shown(value)} is over 100")
    if percent <= 0:
        raise ShareError("percent", f"{_shown(value)} is not above 0; percent is {meaning}")
    return percent


def read_share(values: Mapping[str, object]) -> TargetShare | None:
    """The share a fault step's keys ask for; None when they name none. ShareError on a bad value."""
    if not any(values.get(key) is not None for key in SHARE_KEYS):
        return None
    percent = values.get("percent")
    count = values.get("count")
    ceiling = values.get("max_targets")
    max_targets = DEFAULT_MAX_TARGETS
    if ceiling is not None:
        max_targets = _whole("max_targets", ceiling, "the most targets the fault may pick")
        if max_targets > MAX_TARGETS_LIMIT:
            raise ShareError(
                "max_targets", f"{max_targets} is over {MAX_TARGETS_LIMIT}, the most one fault may pick"
            )
    if percent is not None and count is not None:
        raise ShareError("count", "give `percent:` or `count:`, not both")
    share = TargetShare(max_targets=max_targets)
    if percent is not None:
        share = TargetShare(percent=_percent(percent), max_targets=max_targets)
    if count is not None:
        whole = _whole("count", count, "how many targets the fault picks")
        if whole > max_targets:
            default = "" if ceiling is not None else " by default"
            raise ShareError(
                "count", f"{whole} is over max_targets ({max_targets}{default}); raise max_targets"
            )
        share = TargetShare(count=whole, max_targets=max_targets)
    return share


def share_problem(fault_type: str, values: Mapping[str, object]) -> tuple[str, str] | None:
    """The first (key, sentence) wrong with a fault step's share fields; None when they fit.

    Chaos Mesh picks pods with its own ``mode``/``value`` (its fixed-percent rounds down, takes whole
    numbers only and has no ceiling), so ``percent`` is not translated into it: it is refused there."""
    given = [key for key in SHARE_KEYS if values.get(key) is not None]
    if not given:
        return None
    if fault_type.startswith("chaos-mesh."):
        return given[0], (
            f"{fault_type} picks pods with Chaos Mesh's own `mode:` and `value:` "
            "(e.g. mode: fixed-percent, value: 10); percent, count and max_targets are not translated"
        )
    if fault_type not in PICKING_TYPES and not fault_type.startswith("simulated"):
        return given[0], (
            f"{fault_type} does not pick targets; percent, count and max_targets work on "
            f"{', '.join(PICKING_TYPES)}"
        )
    if fault_type == "k8s.token-revoke" and values.get("secret") is not None:
        return given[0], "`secret:` names one token; a share picks among the tokens of a selector"
    if fault_type == "k8s.scale" and values.get("deployment") is not None:
        return given[0], "`deployment:` names one Deployment; a share picks among those of a selector"
    try:
        read_share(values)
    except ShareError as exc:
        return exc.key, str(exc)
    return None

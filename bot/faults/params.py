"""Reading a fault step's extra keys into a typed model, with sentences people can act on."""

from __future__ import annotations

from typing import TypeVar, overload

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.gameday.ports import FaultRejected
from bot.gameday.scenario.model import FaultSpec
from bot.gameday.scenario.target_share import ShareError, TargetShare, read_share

P = TypeVar("P", bound=BaseModel)


class FaultParams(BaseModel):
    """Base of each fault type's parameters: unknown keys are typos, and are reported."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_params(model: type[P], spec: FaultSpec) -> P:
    """The step's extra keys as ``model``; a FaultRejected sentence naming what is wrong."""
    try:
        return model.model_validate(spec.model_extra or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'step'}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise FaultRejected(f"{spec.type}: {problems}") from None


def require_selector(spec: FaultSpec) -> dict[str, str]:
    if not spec.selector:
        raise FaultRejected(f"{spec.type} needs a `selector:` (labels of the pods it acts on)")
    return dict(spec.selector)


class ShareParams(FaultParams):
    """Parameters of a fault that picks targets: the share keys are accepted here and read by
    :func:`share_of`, with the sentences of ``bot/gameday/scenario/target_share``."""

    percent: object = None
    count: object = None
    max_targets: object = None


@overload
def share_of(spec: FaultSpec, default: TargetShare) -> TargetShare: ...
@overload
def share_of(spec: FaultSpec, default: None) -> TargetShare | None: ...
def share_of(spec: FaultSpec, default: TargetShare | None) -> TargetShare | None:
    """The step's share. When it names neither percent nor count: ``default``, under a max_targets
    the step gives."""
    try:
        share = read_share(spec.model_extra or {})
    except ShareError as exc:
        raise FaultRejected(f"{spec.type}: {exc.key}: {exc}") from None
    if share is None or default is None:
        return share or default
    if share.percent is None and share.count is None:
        return TargetShare(default.percent, default.count, share.max_targets)
    return share

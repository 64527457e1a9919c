"""Reading a fault step's extra keys into a typed model, with sentences people can act on."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.gameday.ports import FaultRejected
from bot.gameday.scenario.model import FaultSpec

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

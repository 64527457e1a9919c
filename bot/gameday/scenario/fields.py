"""What every part of a scenario file is built from: the strict base model, durations, and the
placeholders that stand for the people on call until the roster resolves them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

from bot.gameday.scenario.durations import parse_duration

Duration = Annotated[float, BeforeValidator(parse_duration)]
PRIMARY = "@primary"
SECONDARY = "@secondary"


class StrictModel(BaseModel):
    """Unknown fields are refused, so a typo in the file is reported instead of silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

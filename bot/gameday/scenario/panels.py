"""A scenario's panels: PromQL the debrief draws over the game day's window, each fault a shaded band.

    panels:
      - {title: "5xx rate", promql: 'sum(rate(http_requests_total{code=~"5.."}[1m]))'}

The queries go only to the operator's Prometheus (``SCE_PROMETHEUS_URL``), as range queries when the game
day ends; the titles are shown in the debrief's charts. Both are bounded here, so a scenario cannot make
the end of a game day query or draw without limit.
"""

from __future__ import annotations

from pydantic import field_validator

from bot.gameday.scenario.fields import StrictModel

MAX_PANELS = 12
TITLE_MAX = 80
PROMQL_MAX = 2000


class Panel(StrictModel):
    """One chart of the debrief: a title people read and the PromQL whose series it draws."""

    title: str
    promql: str

    @field_validator("title")
    @classmethod
    def _title(cls, title: str) -> str:
        if not title.strip() or len(title) > TITLE_MAX:
            raise ValueError(f"`title:` must be a text of 1 to {TITLE_MAX} characters")
        return title

    @field_validator("promql")
    @classmethod
    def _promql(cls, promql: str) -> str:
        if not promql.strip() or len(promql) > PROMQL_MAX:
            raise ValueError(f"`promql:` must be a PromQL expression of 1 to {PROMQL_MAX} characters")
        return promql


class TooManyPanels(ValueError):
    """More panels than a debrief draws; ``loc`` is the first one too many (as ``StepOrderError``)."""

    def __init__(self, count: int):
        super().__init__(
            f"is panel {MAX_PANELS + 1} of {count}: a scenario has at most {MAX_PANELS} panels; "
            "keep the ones the debrief needs"
        )
        self.loc: tuple[str | int, ...] = (MAX_PANELS,)


def bounded_panels(panels: list[Panel]) -> list[Panel]:
    """The panels, refused when there are more than ``MAX_PANELS``."""
    if len(panels) > MAX_PANELS:
        raise TooManyPanels(len(panels))
    return panels

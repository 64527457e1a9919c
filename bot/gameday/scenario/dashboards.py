"""A scenario's Grafana dashboards: the team's own, linked in the thread with the game day's time range.

    dashboards:
      - {title: "Checkout overview", uid: checkout-overview}

With ``SCE_GRAFANA_URL`` set, the thread gets ``<SCE_GRAFANA_URL>/d/<uid>?from=<ms>&to=<ms>`` for each one
when the game day ends, and the game day's Grafana annotations are written to the first one (without any,
they are organization annotations, found by their ``sce`` tag). The host is the operator's, never the
scenario's: a scenario names a dashboard by its UID only, so it cannot send people anywhere else.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from bot.gameday.scenario.fields import StrictModel

MAX_DASHBOARDS = 8
TITLE_MAX = 80
UID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"  # Grafana's own rule for a dashboard UID


class Dashboard(StrictModel):
    """One dashboard of the team: the title people read and the UID Grafana knows it by."""

    title: str
    uid: str = Field(pattern=UID_PATTERN)

    @field_validator("title")
    @classmethod
    def _title(cls, title: str) -> str:
        if not title.strip() or len(title) > TITLE_MAX or any(c in title for c in "\r\n"):
            raise ValueError(f"`title:` must be one line of 1 to {TITLE_MAX} characters")
        return title


class TooManyDashboards(ValueError):
    """More dashboards than a thread links; ``loc`` is the first one too many (as ``StepOrderError``)."""

    def __init__(self, count: int):
        super().__init__(
            f"is dashboard {MAX_DASHBOARDS + 1} of {count}: a scenario links at most {MAX_DASHBOARDS} "
            "dashboards; keep the ones responders watch"
        )
        self.loc: tuple[str | int, ...] = (MAX_DASHBOARDS,)


def bounded_dashboards(dashboards: list[Dashboard]) -> list[Dashboard]:
    """The dashboards, refused when there are more than ``MAX_DASHBOARDS``."""
    if len(dashboards) > MAX_DASHBOARDS:
        raise TooManyDashboards(len(dashboards))
    return dashboards

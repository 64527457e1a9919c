"""What an alert is, and what it can mean for a running game day (``bot/gameday/measuring/alerts``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

Source = Literal["alertmanager", "webhook", "slack"]
AlertStatus = Literal["firing", "resolved"]

PLAUSIBLE_SECONDS = 86400.0
"""An alert dated further than this from its arrival is a sender's mistake, not a detection."""


class AlertError(ValueError):
    """A payload the bot cannot read; the message is one sentence naming the field."""


@dataclass(frozen=True)
class Alert:
    """One alert as its source reported it; ``starts_at`` is the source's own Unix time."""

    source: Source
    name: str
    starts_at: float
    fingerprint: str
    status: AlertStatus = "firing"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    text: str = ""
    ends_at: float | None = None
    channel: str | None = None  # Slack messages only: where it was posted

    @property
    def delivery_id(self) -> str:
        """Stable across re-notifications of the same firing, so recording it twice changes nothing."""
        return f"alert:{self.source}:{self.fingerprint}:{self.starts_at!r}"

    def searchable(self) -> list[str]:
        """Where a marker may appear: label values, annotation values, the text."""
        return [*self.labels.values(), *self.annotations.values(), self.text]


@dataclass(frozen=True)
class Detection:
    """The alert carries this game day's marker: the inject was detected at ``at`` (the source's time).

    ``inject`` is the fault whose own marker the alert carries; None when it carries only the game day's.
    """

    gameday_id: str
    at: float
    source: Source
    name: str
    inject: str | None = None


@dataclass(frozen=True)
class Unmatched:
    """The alert fired during this game day without its marker: noise, for alert fidelity."""

    gameday_id: str
    alert: Alert


@dataclass(frozen=True)
class Stop:
    """A stop condition of this game day matched: abort it, saying ``reason``."""

    gameday_id: str
    reason: str


Decision = Detection | Unmatched | Stop


class Watch(NamedTuple):
    """What :func:`classify` needs to know about one running game day.

    ``markers`` are matched case-insensitively; ``since`` (the game day's start) keeps an alert that
    began before the game day from counting as unmatched; ``injects`` maps each inject's own markers to
    the inject (fault) id, so a detection names the inject. A plain ``(markers, stop_on)`` tuple works too.
    """

    markers: Collection[str]
    stop_on: list[dict[str, Any]]
    since: float | None = None
    injects: Mapping[str, str] | None = None

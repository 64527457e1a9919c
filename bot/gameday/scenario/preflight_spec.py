"""A scenario's preflight beyond its steady state: a canary alert that proves the alert path is alive.

    preflight:
      canary_alert:
        labels: {alertname: SceCanary}   # every one of these labels; names exactly, values any case
        within: 2m                       # how long the game day waits for it after /sce start

A detection is only measurable when alerts reach the bot. A team's always-firing alert (Prometheus's
``vector(1)`` rule, Alertmanager's re-notifications) arriving at the bot's webhook proves the whole
path: rule, Alertmanager routing, receiver, the bot. The game day waits for it before anything runs; if
it does not come in time, nothing is applied and the thread says what to check.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from bot.gameday.scenario.fields import Duration, StrictModel

MAX_LABELS = 10
MAX_WITHIN = 3600.0
_LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"  # Prometheus's label names


class CanaryAlert(StrictModel):
    labels: dict[str, str] = Field(min_length=1, max_length=MAX_LABELS)
    within: Duration = 120.0

    @field_validator("labels")
    @classmethod
    def _label_names(cls, labels: dict[str, str]) -> dict[str, str]:
        for name, value in labels.items():
            if not re.match(_LABEL_NAME, name):
                raise ValueError(f"{name!r} is not a Prometheus label name (letters, digits and _)")
            if not value.strip() or len(value) > 200:
                raise ValueError(f"the value of label {name!r} must be 1 to 200 characters")
        return labels

    @field_validator("within")
    @classmethod
    def _bounded(cls, within: float) -> float:
        if not 0 < within <= MAX_WITHIN:
            raise ValueError("canary_alert.within must be longer than 0s and at most 1h")
        return within

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether an alert's labels carry every canary label (names exactly, values in any case)."""
        return all(labels.get(name, "").casefold() == value.casefold() for name, value in self.labels.items())

    def shown(self) -> str:
        return ", ".join(f"{name}={value}" for name, value in self.labels.items())


class PreflightSpec(StrictModel):
    canary_alert: CanaryAlert | None = None

"""The halt lever: one switch that stops every game day of the deployment and keeps new ones from
starting until an admin lifts it (`/sce halt`, `POST /halt`, a real incident). Pure: the halt as a value,
the sentence a refused start gets, and the port the store implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.gameday.people.mentions import literal

MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class Halt:
    id: int
    halted_at: float
    halted_by: str  # a Slack user id, or what pulled it over HTTP ("http", "pagerduty", "incident-channel")
    reason: str
    source: str  # slack | http | pagerduty | incident-channel

    @property
    def who(self) -> str:
        """Who pulled it, as Slack shows it (a user as a mention; anything else as plain text)."""
        return f"<@{self.halted_by}>" if self.source == "slack" else literal(self.halted_by)

    def said(self) -> str:
        """Who halted and why, as Slack markup (the reason escaped, a person as a mention)."""
        return f"halted by {self.who}: {literal(self.reason)}"

    def plain(self) -> str:
        """The same as plain text: why a game day stops, for its timeline (its thread escapes it)."""
        return f"halted by {self.halted_by}: {self.reason}"

    def refusal(self) -> str:
        """What a start (from Slack, a schedule or `sce run`) is told while the halt holds."""
        since = datetime.fromtimestamp(self.halted_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (
            f":octagonal_sign: Every game day is halted since {since} ({self.said()}). "
            "Nothing starts until an admin lifts it with `/sce unhalt`."
        )


def bounded_reason(text: str) -> str:
    """A reason as stored and shown: printable, one line, at most MAX_REASON_CHARS characters."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat[:MAX_REASON_CHARS] or "no reason given"


class HaltPort(Protocol):
    def current(self) -> Halt | None:
        """The halt in force, or None."""
        ...

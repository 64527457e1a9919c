"""What an engine operation did, as a sentence for the person who asked."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """What an operation did, as a sentence for the person who asked (ephemeral in Slack)."""

    ok: bool
    message: str
    gameday_id: str | None = None

"""What an engine operation did, as a sentence for the person who asked."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """What an operation did, as a sentence for the person who asked (ephemeral in Slack)."""

    ok: bool
    message: str
    gameday_id: str | None = None
    repeat: bool = False  # the same delivery was recorded before: nothing changed


# ``when_over`` value that lets an operation through after the game day ended (notes for the debrief)
ACCEPTED_AFTER_END = "<accepted after the end>"

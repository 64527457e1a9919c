"""Slack events the bot never acts on, known before anything is done with them.

A message any bot posted (the bot's own steps, pages and debriefs among them: Slack delivers each back
to the app) and an edit of a message change nothing: a bot's post carries the game-day markers and must
never count as a detection or a reply. The front door answers them at once, after the signature and
before the replay guard and Bolt, so the bot's own posts cost no database write and no listener run; the
message listener ignores them by the same rule, for Socket Mode and anything else that reaches it.
"""

from __future__ import annotations

import json
from typing import Any


def inert_message(event: dict[str, Any]) -> bool:
    """A ``message`` event with no effect: any bot's post, or an edit."""
    return bool(event.get("bot_id")) or event.get("subtype") == "message_changed"


def inert_request(body: bytes) -> bool:
    """A signed request to /slack/events that delivers only such a message event."""
    if not body.lstrip().startswith(b"{"):
        return False  # a slash command or an interaction: a form
    try:
        envelope = json.loads(body)
    except ValueError:
        return False
    event = envelope.get("event") if isinstance(envelope, dict) else None
    return (
        envelope.get("type") == "event_callback"
        and isinstance(event, dict)
        and event.get("type") == "message"
        and inert_message(event)
    )

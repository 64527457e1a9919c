"""Slack events the bot never acts on, known before anything is done with them.

The bot's own posts (its steps, pages and debriefs: Slack delivers each back to the app) carry the
game-day markers and must never count as a detection or a reply; an edit changes nothing. Other apps'
posts do count where alerts are read (the alert channel, a stop condition's channel): Alertmanager's,
PagerDuty's or Datadog's Slack notifications are detections and stop conditions like a person's message.

The front door answers what is inert at once, after the signature and before the replay guard and Bolt:
an edit, and any bot's post outside the watched channels. There it cannot tell our posts from another
app's; the message listener can (Bolt's context knows the bot's own ids) and drops ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any, Literal


def is_edit(event: dict[str, Any]) -> bool:
    return event.get("subtype") == "message_changed"


def by_a_bot(event: dict[str, Any]) -> bool:
    """Posted by an app (ours or another's), not by a person."""
    return bool(event.get("bot_id")) or event.get("subtype") == "bot_message"


def ours(event: dict[str, Any], bot_id: str | None, bot_user_id: str | None) -> bool:
    """Posted by this bot: its bot id, or its bot user."""
    return bool(
        (bot_id and event.get("bot_id") == bot_id) or (bot_user_id and event.get("user") == bot_user_id)
    )


CONTENT_KEYED = frozenset({"message", "reaction_added"})
"""Events whose one effect is keyed by what they deliver (a message's channel and ts, a reaction's who,
what, on what and when), recorded in the same transaction as the effect: a replay changes nothing on any
replica, whatever a replay guard answered."""
Door = Literal["inert", "keyed", "checked"]


def door_class(body: bytes, watched: Callable[[], Collection[str]] = frozenset) -> Door:
    """What the front door does with a signed request to /slack/events (``sort_request``)."""
    return sort_request(body, watched)[0]


def sort_request(
    body: bytes, watched: Callable[[], Collection[str]] = frozenset
) -> tuple[Door, dict[str, Any] | None]:
    """What the front door does with a signed request to /slack/events, and the event it delivers:

    - ``inert``: an edit, or a bot's post in a channel whose messages are not read as alerts
      (``watched``: the alert channel and the stop conditions' channels); answered at once;
    - ``keyed``: another message or a reaction (``CONTENT_KEYED``); its replay guard may be this process's;
    - ``checked``: everything else (slash commands, clicks, other events); its replay guard is the one
      every replica shares.
    """
    if not body.lstrip().startswith(b"{"):
        return "checked", None  # a slash command or an interaction: a form
    try:
        envelope = json.loads(body)
    except ValueError:
        return "checked", None
    event = envelope.get("event") if isinstance(envelope, dict) else None
    if not (envelope.get("type") == "event_callback" and isinstance(event, dict)):
        return "checked", None
    kind = event.get("type")
    if kind == "message" and (is_edit(event) or (by_a_bot(event) and event.get("channel") not in watched())):
        return "inert", event
    return ("keyed" if kind in CONTENT_KEYED else "checked"), event

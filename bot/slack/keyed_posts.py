"""A bot post to a channel (not a thread) found again by the key in its metadata: what a retry asks
before posting, so a post whose answer was lost is not posted twice (the comms announcements, the weekly
digest). Bounded: at most ``pages`` pages of the channel's history since ``since``."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.slack.announcer import POST_EVENT

PAGES = 5
PAGE_SIZE = 100


def find_keyed_post(
    client: WebClient, channel: str, key: str, since: float, pages: int = PAGES, page_size: int = PAGE_SIZE
) -> str | None:
    """The ts of the channel's message tagged with ``key`` posted after ``since``, or None."""
    cursor = None
    for _ in range(pages):
        response = client.conversations_history(
            channel=channel, oldest=f"{since:.6f}", include_all_metadata=True, limit=page_size, cursor=cursor
        )
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == POST_EVENT and payload.get("key") == key:
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None

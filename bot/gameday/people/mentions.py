"""Slack user references as people type them and as Slack delivers them."""

from __future__ import annotations

import re

_MENTION = re.compile(r"^<@(?P<id>[UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_BARE_ID = re.compile(r"^[UW][A-Z0-9]+$")  # the same ids a mention accepts
# a label stops at the next "<" too: with [^>]* every "<@U1|" of a reply without ">" scanned to its end,
# and 8,000 of them (a 40 kB reply) took seconds
MENTION_IN_TEXT = re.compile(r"<@(?P<id>[UW][A-Z0-9]+)(?:\|[^<>]*)?>")
TEXT_LIMIT = 40_000
"""Characters of a message or command the parsers read: the most Slack delivers in one message."""


def literal(value: object) -> str:
    """Text shown as typed in Slack: Slack reads &, < and > as markup (mentions, links, <!channel>)."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def user_id_from(reference: str) -> str | None:
    """``<@U123>``, ``<@U123|alice>`` or a bare ``U123`` as a user id; anything else is None."""
    text = reference.strip()
    match = _MENTION.match(text)
    if match:
        return match["id"]
    if _BARE_ID.match(text):
        return text
    return None

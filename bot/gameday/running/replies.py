"""What a responder's thread reply means: an acknowledgement, a handoff, a note, or nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.gameday.people.mentions import MENTION_IN_TEXT, TEXT_LIMIT

NOTE_KINDS = ("gap", "note", "action", "decision", "update")
# The phrase must stand alone: followed by nothing, punctuation or an emoji ("ack!", "on it :eyes:",
# "got it, looking"), a courtesy word ("on it now", "ack thanks") or "looking/checking/investigating".
# A sentence that merely starts with the word ("mine crashed too", "got it wrong") is conversation.
_ACK = re.compile(
    r"^(?:ack|acked|acking|acknowledged?|on it|i['’]?m on it|taking it|i['’]?ll take it|mine|got it)"
    r"(?:\s+(?:now|thanks|thx|ty))*"
    r"(?:\s*$|\s*[^\w\s'’]|\s+(?:looking|checking|investigating)\b)",
    re.IGNORECASE,
)
_HANDOFF = re.compile(r"^(handing (it )?(off|over)|hand(ing)?-?off|handover)\b.*?\bto\b", re.IGNORECASE)
_NOTE = re.compile(r"^(?P<kind>" + "|".join(NOTE_KINDS) + r")\s*:\s*(?P<text>.+)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Acknowledge:
    pass


@dataclass(frozen=True)
class HandOff:
    to_user: str


@dataclass(frozen=True)
class AddNote:
    kind: str
    text: str


Reply = Acknowledge | HandOff | AddNote


def parse_reply(text: str) -> Reply | None:
    """Read one thread reply; ordinary conversation returns None and is left alone.

    Only the first ``TEXT_LIMIT`` characters are read, and every pattern here runs in linear time.
    """
    stripped = text[:TEXT_LIMIT].strip()
    note = _NOTE.match(stripped)
    if note:
        return AddNote(note["kind"].lower(), note["text"].strip())
    if _HANDOFF.match(stripped):
        mention = MENTION_IN_TEXT.search(stripped)
        return HandOff(mention["id"]) if mention else None
    if _ACK.match(stripped):
        return Acknowledge()
    return None

"""Text into Slack's limits without breaking it: a section's text holds 3,000 characters, a message 50
blocks and a view 100. Long text becomes several sections, cut between lines where it can and never
inside Slack's `<...>` syntax (a mention, a channel, a link): a mention cut in two shows as raw text and
a link cut in two leads nowhere. Beyond the block limit the middle goes, never the end: the end of a
debrief is the link to the full one.
"""

from __future__ import annotations

from typing import Any

SECTION_CHARS = 3000
FALLBACK_CHARS = 4000  # a message's top-level text (its notification, when blocks carry the content)
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
CUT = "…"
CUT_NOTE = "… _(cut here: Slack shows at most {blocks} blocks in a message; the rest is in the full text)_"

Block = dict[str, Any]


def _open_at(text: str) -> list[int]:
    """For each position, where the `<...>` it is inside began, or -1 when it is inside none."""
    opened, inside = -1, []
    for i, ch in enumerate(text):
        inside.append(opened)
        if ch == "<":
            opened = i
        elif ch == ">":
            opened = -1
    return inside


def _cut_point(line: str, limit: int) -> int:
    """Where to cut ``line`` (longer than ``limit``): the last space before ``limit`` outside `<...>`,
    else right before the `<...>` that ``limit`` falls in, else ``limit`` (one token longer than a
    section: nothing better exists)."""
    opened = _open_at(line[: limit + 1])
    for i in range(limit, 0, -1):
        if line[i - 1] == " " and opened[i] < 0:
            return i
    start = opened[limit]
    return start if start > 0 else limit


def chunks(text: str, limit: int = SECTION_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut between lines where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            at = _cut_point(line, limit)
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:at].rstrip(" ") or line[:at])
            line = line[at:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = line
    if current.strip() or not pieces:
        pieces.append(current)
    return [p for p in pieces if p.strip()] or [text[:limit]]


def cut(text: str, limit: int) -> str:
    """``text`` whole when it fits ``limit``; else cut before it, outside `<...>`, with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: _cut_point(text, limit - len(CUT))].rstrip() + CUT


def section(text: str) -> Block:
    """One section; text over the limit is cut before the limit, outside `<...>`, with an ellipsis."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_CHARS)}}


def fallback(text: str) -> str:
    """The top-level ``text`` of a message whose blocks show it all: what a notification shows, short
    enough for Slack to take with the blocks (a debrief of hundreds of gaps runs past 100,000
    characters)."""
    return cut(text, FALLBACK_CHARS)


def sections(text: str, most: int = MESSAGE_BLOCKS) -> list[Block]:
    """As many sections as the text needs, at most ``most``: over that, the first ones, a note that
    the middle was cut, and the last one (which carries the text's end)."""
    pieces = chunks(text)
    if len(pieces) > most:
        pieces = [*pieces[: most - 2], CUT_NOTE.format(blocks=most), pieces[-1]]
    return [section(p) for p in pieces]

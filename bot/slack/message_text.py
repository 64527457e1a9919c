"""Everything a Slack message says, as one text: what an alert is read from.

Apps rarely put their alert in ``text`` alone. Alertmanager's Slack notifier (and any incoming webhook of
the classic kind) sends ``attachments`` with a title, text, pretext, fallback and fields; PagerDuty,
Datadog and Opsgenie post Block Kit (sections with text and fields, headers, context, rich text). All of
it is joined, in order, one piece per line, and bounded as a message's text is.
"""

from __future__ import annotations

from typing import Any

MAX_CHARS = 40_000
ATTACHMENT_KEYS = ("pretext", "author_name", "title", "text", "footer")


def message_text(event: dict[str, Any]) -> str:
    pieces: list[str] = [_text(event.get("text"))]
    for attachment in _list(event.get("attachments")):
        if isinstance(attachment, dict):
            pieces += [_text(attachment.get(key)) for key in ATTACHMENT_KEYS]
            for item in _list(attachment.get("fields")):
                if isinstance(item, dict):
                    pieces += [_text(item.get("title")), _text(item.get("value"))]
            pieces += _blocks(attachment.get("blocks"))
            if not any(_text(attachment.get(key)) for key in ("title", "text")):
                pieces.append(_text(attachment.get("fallback")))
    pieces += _blocks(event.get("blocks"))
    return "\n".join(piece for piece in pieces if piece)[:MAX_CHARS]


def _blocks(blocks: object) -> list[str]:
    """The words of Block Kit blocks: section and header text, fields, context and rich text elements."""
    found: list[str] = []
    pending = list(reversed(_list(blocks)))
    while pending:  # a loop, not recursion: rich text nests lists in lists
        item = pending.pop()
        if isinstance(item, dict):
            text = item.get("text")
            if isinstance(text, dict):
                found.append(_text(text.get("text")))
            elif item.get("type") in ("text", "link", "mrkdwn", "plain_text"):
                found.append(_text(text or item.get("url")))
            for key in ("fields", "elements"):
                pending.extend(reversed(_list(item.get(key))))
    return found


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []

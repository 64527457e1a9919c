"""Text a person reads in Slack, rendered from the templates in bot/slack/templates/.

Every value a template prints is Slack-escaped (``&``, ``<``, ``>``) and has its literal credentials
redacted, whatever its source: a scenario's title cannot ping ``<!channel>`` or show a disguised link. The
few pieces of markup the bot builds on purpose (a runbook link it checked, the mention in an end reason
it wrote) are ``Mrkdwn`` values, which go out as they are.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.gameday.measuring.redaction import redact
from bot.gameday.people.mentions import literal
from bot.gameday.scenario.durations import format_duration
from bot.gameday.scenario.window import describe_window_in_full

slack_escape = literal


class Mrkdwn(str):
    """Slack markup the bot wrote itself: printed by a template without escaping."""


def slack_text(value: object) -> str:
    """Any value as Slack shows it literally: credentials redacted, then escaped."""
    if isinstance(value, Mrkdwn):
        return value
    return slack_escape(redact(str(value)))


_BOT_WRITTEN_BY = re.compile(r"^(\w+ by <@[A-Z0-9]+>)(.*)$", re.DOTALL)
_WEB_LINK = re.compile(r"https?://[^|<>]+", re.IGNORECASE)


def reason_markup(reason: object) -> Mrkdwn:
    """An end reason: the bot's own ``ended by <@U1>`` stays a mention; the words typed after it are
    shown literally like any user text."""
    text = str(reason)
    match = _BOT_WRITTEN_BY.match(text)
    return Mrkdwn(match[1] + slack_text(match[2]) if match else slack_text(text))


def link_markup(url: object) -> Mrkdwn:
    """A URL from a scenario as a Slack link showing the URL itself, only when it is http(s) with no
    ``|``, ``<``, ``>``, whitespace or control character; anything else is literal text."""
    text = redact(str(url))
    if _WEB_LINK.fullmatch(text) and not any(char.isspace() or _is_control(char) for char in text):
        return Mrkdwn(f"<{slack_escape(text)}>")
    # a right-to-left override or a zero-width space could still make the text read as another address
    return Mrkdwn(slack_text("".join("\ufffd" if _is_control(char) else char for char in text)))


def _is_control(char: str) -> bool:
    return unicodedata.category(char).startswith("C")


def ago_markup(at: object) -> Mrkdwn:
    """An instant as Slack's own relative time ("3 minutes ago"), which each reader's client keeps
    current: a message showing it never needs an update to stay true. The fallback is UTC."""
    seconds = int(float(str(at)))
    fallback = datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S UTC")
    return Mrkdwn(f"<!date^{seconds}^{{ago}}|at {fallback}>")


_env = Environment(
    loader=PackageLoader("bot.slack", "templates"),
    auto_reload=False,  # the templates ship with the package: compiled once, never looked at again
    autoescape=False,  # jinja2's autoescape is HTML's (quotes too); Slack's is finalize below
    finalize=slack_text,
    undefined=StrictUndefined,
    trim_blocks=False,
    keep_trailing_newline=False,
)
_env.filters["reason"] = reason_markup
_env.filters["link"] = link_markup
_env.filters["ago"] = ago_markup
_env.filters["dur"] = format_duration
_env.filters["window"] = describe_window_in_full
_env.filters["period"] = lambda seconds: (
    f"{int(seconds // 86400)}d" if seconds and seconds % 86400 == 0 else format_duration(seconds)
)


def compile_templates() -> int:
    """Compile every Slack template now (``sce serve`` at start), not on its first message."""
    names = _env.list_templates()
    for name in names:
        _env.get_template(name)
    return len(names)


def render(name: str, **context: Any) -> str:
    return _env.get_template(f"{name}.md.j2").render(**context).strip()

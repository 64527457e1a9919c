"""Text a person reads in Slack, rendered from the templates in bot/slack/templates/."""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.gameday.durations import format_duration
from bot.gameday.mentions import literal

slack_escape = literal


_BOT_WRITTEN_BY = re.compile(r"^(\w+ by <@[A-Z0-9]+>)(.*)$", re.DOTALL)


def reason_escape(reason: object) -> str:
    """An end reason: the bot's own ``ended by <@U1>`` stays a mention; the words typed after it are
    escaped like any user text."""
    text = str(reason)
    match = _BOT_WRITTEN_BY.match(text)
    return match[1] + slack_escape(match[2]) if match else slack_escape(text)


_env = Environment(
    loader=PackageLoader("bot.slack", "templates"),
    autoescape=False,
    undefined=StrictUndefined,
    trim_blocks=False,
    keep_trailing_newline=False,
)
_env.filters["esc"] = slack_escape
_env.filters["esc_reason"] = reason_escape
_env.filters["dur"] = format_duration
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

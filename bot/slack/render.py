"""Text a person reads in Slack, rendered from the templates in bot/slack/templates/."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.gameday.durations import format_duration


def slack_escape(value: object) -> str:
    """Show user text literally: Slack reads &, < and > as markup (mentions, links, <!channel>)."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_env = Environment(
    loader=PackageLoader("bot.slack", "templates"),
    autoescape=False,
    undefined=StrictUndefined,
    trim_blocks=False,
    keep_trailing_newline=False,
)
_env.filters["esc"] = slack_escape
_env.filters["dur"] = format_duration
_env.filters["period"] = lambda seconds: (
    f"{int(seconds // 86400)}d" if seconds and seconds % 86400 == 0 else format_duration(seconds)
)


def render(name: str, **context: Any) -> str:
    return _env.get_template(f"{name}.md.j2").render(**context).strip()

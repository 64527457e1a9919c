"""The Bolt app: built from the services, listeners registered per kind of Slack input."""

from __future__ import annotations

import secrets

from slack_bolt import App

from bot.runtime.server import SlackDoor
from bot.runtime.service import Services
from bot.slack.command_desk import CommandDesk
from bot.slack.finding_clicks import FindingClicks
from bot.slack.inline_commands import CommandsInline, answer_commands_inline
from bot.slack.listeners import actions, commands, events, finding_actions, home, shortcuts
from bot.slack.reply_door import remember_self, reply_taker


def create_app(services: Services, app_class: type[App] = App) -> App:
    """The Bolt app; ``app_class`` lets the manifest test see every registration."""
    settings = services.settings
    executor = CommandsInline()  # `/sce` acks the moment it can, not at Bolt's next look
    app = app_class(
        client=services.client,
        # Socket Mode takes nothing over HTTP; were a request to reach Bolt anyway, no one could sign it
        signing_secret=_signing_secret(settings.slack_signing_secret, settings.socket_mode),
        process_before_response=False,
        token_verification_enabled=False,
        request_verification_enabled=True,
        listener_executor=executor,
    )
    answer_commands_inline(app, executor)
    # Bolt matches a request against its listeners in this order: the busiest first (see events.py)
    events.register_messages(app, services)
    commands.register(app, CommandDesk(services))
    events.register(app, services)
    actions.register(app, services)
    shortcuts.register(app, services)
    home.register(app, services)
    if services.finding_buttons is not None:
        finding_actions.register(app, FindingClicks(services, services.finding_buttons))
    return app


def _signing_secret(configured: str | None, socket_mode: bool) -> str:
    if socket_mode or not configured:
        return secrets.token_hex(32)
    return configured


def slack_over_http(app: App, services: Services) -> SlackDoor | None:
    """What takes Slack payloads on the HTTP port: the signed, once-only door; nothing in Socket Mode."""
    settings = services.settings
    if settings.socket_mode or not settings.slack_signing_secret:
        return None
    ids = remember_self(app)  # the bot's own ids, for the replies the door takes itself
    return SlackDoor(
        app,
        settings.slack_signing_secret,
        services.replay,
        watched=services.intake.watched_channels,
        keyed_replay=services.keyed_replay,
        take_reply=reply_taker(services, ids),
    )

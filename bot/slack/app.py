"""The Bolt app: built from the services, listeners registered per kind of Slack input."""

from __future__ import annotations

from slack_bolt import App

from bot.service import Services
from bot.slack.command_desk import CommandDesk
from bot.slack.listeners import actions, commands, events, home, shortcuts


def create_app(services: Services, app_class: type[App] = App) -> App:
    """The Bolt app; ``app_class`` lets the manifest test see every registration."""
    settings = services.settings
    app = app_class(
        client=services.client,
        signing_secret=settings.slack_signing_secret or "socket-mode-needs-no-signing-secret",
        process_before_response=False,
        token_verification_enabled=False,
        request_verification_enabled=not settings.socket_mode,
    )
    commands.register(app, CommandDesk(services))
    actions.register(app, services)
    events.register(app, services)
    shortcuts.register(app, services)
    home.register(app, services)
    return app

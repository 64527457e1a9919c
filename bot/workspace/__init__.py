"""A local, Slack-compatible workspace for demos and tests (see server.LocalWorkspace)."""

from bot.workspace.client import WorkspaceClient, WorkspaceClientError
from bot.workspace.server import LocalWorkspace
from bot.workspace.state import APP_ID, BOT_ID, BOT_NAME, BOT_USER_ID, TEAM_ID

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_NAME",
    "BOT_USER_ID",
    "TEAM_ID",
    "LocalWorkspace",
    "WorkspaceClient",
    "WorkspaceClientError",
]

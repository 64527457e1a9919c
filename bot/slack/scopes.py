"""The bot scopes the app asks Slack for: ``oauth_config.scopes.bot`` of slack-manifest.yaml.

Kept here as well as in the manifest because the installed package does not carry the manifest, and
`sce doctor` compares them with the scopes Slack says the token has (a test keeps the two the same).
"""

from __future__ import annotations

BOT_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "channels:history",
        "groups:history",
        "channels:read",
        "groups:read",
        "reactions:read",
        "reactions:write",
        "usergroups:read",
        "files:write",
        "users:read",
        "users:read.email",
    }
)
SOCKET_MODE_SCOPE = "connections:write"
"""The one scope an app-level token needs to open Socket Mode connections."""

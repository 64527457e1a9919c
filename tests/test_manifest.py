"""slack-manifest.yaml asks for exactly what the code uses: commands, shortcuts, events, scopes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from slack_bolt import App

from bot.config import Settings
from bot.runtime.service import build_services
from bot.slack.app import create_app

ROOT = Path(__file__).resolve().parents[1]
# Web API method -> the bot scope(s) Slack requires for it
METHOD_SCOPES: dict[str, str | tuple[str, ...] | None] = {
    "chat_postMessage": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_update": "chat:write",
    "chat_delete": "chat:write",
    "conversations_replies": "channels:history",
    "conversations_history": ("channels:history", "groups:history"),  # the digest looks for its own post
    "conversations_members": ("channels:read", "groups:read"),  # public and private channels
    "conversations_info": ("channels:read", "groups:read"),  # `sce doctor` looks up SCE_ALERTS_CHANNEL
    "conversations_list": ("channels:read", "groups:read"),  # comms.announce names channels as #name
    "usergroups_users_list": "usergroups:read",
    "views_publish": None,  # needs no scope of its own
    "views_open": None,  # the Mark fixed form of a finding: no scope either
    "files_upload_v2": "files:write",
    "users_lookupByEmail": "users:read.email",
    "users_info": "users:read",  # people by name in the debrief
    "reactions_add": "reactions:write",
}
# event -> the subscriptions (and scopes) that deliver it
EVENT_SUBSCRIPTIONS = {
    "message": ({"message.channels", "message.groups"}, {"channels:history", "groups:history"}),
    "reaction_added": ({"reaction_added"}, {"reactions:read"}),
    "app_home_opened": ({"app_home_opened"}, set()),
    "channel_created": ({"channel_created"}, {"channels:read"}),  # SCE_INCIDENT_CHANNELS halts
}


class RecordingApp(App):
    """The real Bolt App that also remembers what was registered on it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: dict[str, set[str]] = {
            "command": set(),
            "action": set(),
            "event": set(),
            "shortcut": set(),
        }

    def command(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen["command"].add(str(command))
        return super().command(command, *args, **kwargs)

    def action(self, constraints: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen["action"].add(str(constraints))
        return super().action(constraints, *args, **kwargs)

    def event(self, event: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen["event"].add(str(event))
        return super().event(event, *args, **kwargs)

    def shortcut(self, constraints: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen["shortcut"].add(str(constraints))
        return super().shortcut(constraints, *args, **kwargs)


def registered(tmp_path: Path) -> dict[str, set[str]]:
    settings = Settings(
        slack_bot_token="xoxb-test", slack_signing_secret="s", database_url=f"sqlite:///{tmp_path / 'm.db'}"
    )
    app = create_app(build_services(settings), app_class=RecordingApp)
    assert isinstance(app, RecordingApp)
    return app.seen


def web_api_methods_used() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if "workspace" in path.parts:
            continue  # the local workspace is Slack's stand-in, not the app
        found |= set(
            re.findall(
                r"\.(chat_\w+|conversations_\w+|usergroups_\w+|views_\w+|reactions_\w+|users_\w+|files_\w+)\(",
                path.read_text(),
            )
        )
    return found


def test_manifest_matches_the_registered_listeners_and_api_calls(tmp_path: Path) -> None:
    manifest = yaml.safe_load((ROOT / "slack-manifest.yaml").read_text())
    seen = registered(tmp_path)
    features, settings = manifest["features"], manifest["settings"]
    assert {c["command"] for c in features["slash_commands"]} == seen["command"]
    assert {s["callback_id"] for s in features.get("shortcuts", [])} == seen["shortcut"]
    assert settings["interactivity"]["is_enabled"] is bool(seen["action"] or seen["shortcut"])

    wanted_events: set[str] = set()
    wanted_scopes = {"commands"} if seen["command"] or seen["shortcut"] else set()
    for event in seen["event"]:
        assert event in EVENT_SUBSCRIPTIONS, f"listener for {event} has no known subscription"
        subscriptions, scopes = EVENT_SUBSCRIPTIONS[event]
        wanted_events |= subscriptions
        wanted_scopes |= scopes
    for method in web_api_methods_used():
        assert method in METHOD_SCOPES, (
            f"the code calls {method}; add its scope to this test and the manifest"
        )
        scope = METHOD_SCOPES[method]
        if isinstance(scope, tuple):
            wanted_scopes.update(scope)
        elif scope:
            wanted_scopes.add(scope)
    if "users:read.email" in wanted_scopes:
        wanted_scopes.add("users:read")  # Slack grants the email scope only with users:read
    assert set(settings["event_subscriptions"]["bot_events"]) == wanted_events
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == wanted_scopes


def test_the_check_notices_a_listener_missing_from_the_manifest(tmp_path: Path) -> None:
    seen = registered(tmp_path)
    seen["command"].add("/sce-extra")
    manifest = yaml.safe_load((ROOT / "slack-manifest.yaml").read_text())
    assert {c["command"] for c in manifest["features"]["slash_commands"]} != seen["command"]

"""Builders for the request bodies Slack sends to an app.

Kept apart from the transport (delivery.py) so the exact Slack shapes live in one place and
the same dict serves both HTTP mode (serialized into the body) and Socket Mode (embedded as
the envelope payload).
"""

from __future__ import annotations

import uuid
from typing import Any

from bot.workspace.state import (
    APP_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    Channel,
    Message,
    User,
    WorkspaceState,
    app_fields,
)

VERIFICATION_TOKEN = "local-verification-token"
"""The legacy verification token Slack puts in payloads; Bolt ignores it but apps may log it."""


def new_event_id() -> str:
    """A fresh Events API id; random so ids never repeat across workspace restarts (bots dedupe)."""
    return "Ev" + uuid.uuid4().hex[:12].upper()


def new_trigger_id() -> str:
    """A fresh trigger_id, shaped like Slack's (digits and a hex tail)."""
    return f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


def event_callback(state: WorkspaceState, event: dict[str, Any]) -> dict[str, Any]:
    """Wrap an inner event in the ``event_callback`` envelope the Events API posts."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": new_event_id(),
        "event_time": int(state.clock()),
        "authorizations": [
            {"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}
        ],
        "is_ext_shared_channel": False,
    }


def message_event(state: WorkspaceState, message: Message) -> dict[str, Any]:
    """The ``message`` event Slack emits for a newly posted message."""
    channel = state.channels.get(message.channel)
    event: dict[str, Any] = {
        "type": "message",
        "channel": message.channel,
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
        "event_ts": message.ts,
        "channel_type": "im" if channel is not None and channel.is_im else "channel",
        "team": TEAM_ID,
    }
    if message.blocks is not None:
        event["blocks"] = message.blocks
    if message.thread_ts:
        event["thread_ts"] = message.thread_ts
        parent = state.find_message(message.channel, message.thread_ts)
        if parent is not None:
            event["parent_user_id"] = parent.user
    event.update(app_fields(message))
    if not message.user:
        del event["user"]  # an incoming webhook's post has none
    if message.metadata:
        event["metadata"] = message.metadata
    return event


def reaction_added_event(user: str, message: Message, name: str, event_ts: str) -> dict[str, Any]:
    """The ``reaction_added`` event for a reaction on a stored message."""
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": name,
        "item": {"type": "message", "channel": message.channel, "ts": message.ts},
        "item_user": message.user,
        "event_ts": event_ts,
    }


def channel_created_event(channel: Channel, creator: str, created: int, event_ts: str) -> dict[str, Any]:
    """The ``channel_created`` event (Slack's Events API reference: ``channel`` with ``id``, ``name``,
    ``created``, ``creator``; its typed SDKs add ``is_channel``, ``name_normalized`` and ``event_ts``)."""
    return {
        "type": "channel_created",
        "channel": {
            "id": channel.id,
            "is_channel": True,
            "name": channel.name,
            "name_normalized": channel.name,
            "created": created,
            "creator": creator,
        },
        "event_ts": event_ts,
    }


def _channel_name(channel: Channel) -> str:
    """Slack names a DM and a private channel generically in a slash command, never by its name."""
    if channel.is_im:
        return "directmessage"
    return "privategroup" if channel.is_private else channel.name


def slash_command_form(
    user: User, channel: Channel, command: str, text: str, response_url: str, trigger_id: str
) -> dict[str, str]:
    """The form fields of a slash command invocation (HTTP body and Socket Mode payload)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel.id,
        "channel_name": _channel_name(channel),
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def find_element(blocks: list[Any] | None, action_id: str) -> tuple[str | None, dict[str, Any] | None]:
    """Locate an interactive element by action_id, returning (block_id, element)."""
    for block in blocks or []:
        if not isinstance(block, dict):
            continue
        candidates = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None, None


def block_action(
    message: Message,
    action_id: str,
    action_ts: str,
    value: str | None,
    block_id: str | None,
    selected_user: str | None,
) -> dict[str, Any]:
    """One entry of ``actions``: a button click, or a users_select choice."""
    found_block_id, element = find_element(message.blocks, action_id)
    element = element or {}
    chosen_block = block_id or found_block_id or "local_block"
    if selected_user is not None or element.get("type") == "users_select":
        return {
            "type": "users_select",
            "selected_user": selected_user,
            "action_id": action_id,
            "block_id": chosen_block,
            "action_ts": action_ts,
        }
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": chosen_block,
        "value": value if value is not None else element.get("value"),
        "type": "button",
        "action_ts": action_ts,
    }
    if "text" in element:
        action["text"] = element["text"]
    return action


def block_actions_payload(
    state: WorkspaceState,
    user: User,
    message: Message,
    action: dict[str, Any],
    response_url: str,
    trigger_id: str,
) -> dict[str, Any]:
    """The ``block_actions`` interactivity payload for a click on a stored message."""
    channel = state.channels[message.channel]
    stored = state.message_to_api(message)
    return {
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": False,
            **({"thread_ts": message.thread_ts} if message.thread_ts else {}),
        },
        "channel": {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name},
        "message": stored,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def view_submission_payload(
    user: User, view: dict[str, Any], values: dict[str, dict[str, str]], trigger_id: str
) -> dict[str, Any]:
    """The ``view_submission`` payload of a modal sent with these inputs (block id -> action id -> text)."""
    state = {
        block: {action: {"type": "plain_text_input", "value": text} for action, text in inputs.items()}
        for block, inputs in values.items()
    }
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": {**view, "state": {"values": state}},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def message_shortcut_payload(
    state: WorkspaceState,
    user: User,
    message: Message,
    callback_id: str,
    action_ts: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, Any]:
    """The ``message_action`` payload Slack sends when someone runs a message shortcut."""
    channel = state.channels[message.channel]
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "action_ts": action_ts,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "token": VERIFICATION_TOKEN,
        "api_app_id": APP_ID,
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID},
        "channel": {"id": channel.id, "name": channel.name},
        "message_ts": message.ts,
        "message": state.message_to_api(message),
    }

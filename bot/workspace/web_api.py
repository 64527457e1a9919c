"""The Slack Web API subset the bot uses, served at ``/api/<method>``.

Requests arrive as slack_sdk sends them (form body, JSON body, or GET query), answers are
always HTTP 200 with ``ok``/``error`` like Slack, and every call is recorded so tests can
count what the bot did.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.slack.scopes import BOT_SCOPES, SOCKET_MODE_SCOPE
from bot.workspace.errors import SlackApiFailure
from bot.workspace.faults import ApiFaults
from bot.workspace.files import FileUploads
from bot.workspace.state import (
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    Message,
    WorkspaceState,
    ts_to_micros,
)

log = logging.getLogger(__name__)

JSON_FIELDS = ("blocks", "attachments", "metadata", "view", "files")
"""Fields slack_sdk serializes to JSON strings when it sends a form body."""
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


@dataclass(frozen=True)
class ApiCall:
    """One recorded Web API call (``time`` is the workspace clock)."""

    method: str
    params: dict[str, Any]
    time: float
    ok: bool
    error: str | None


async def read_params(request: web.Request) -> dict[str, Any]:
    """Merge query string and body (JSON or form) into one dict; decode JSON-string fields."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise SlackApiFailure("invalid_json") from exc
            if not isinstance(body, dict):
                raise SlackApiFailure("invalid_json")
            params.update(body)
        else:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    for name in JSON_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and value.strip():
            try:
                params[name] = json.loads(value)
            except ValueError as exc:
                raise SlackApiFailure(f"invalid_{name}") from exc
    return params


def bearer_token(request: web.Request, params: dict[str, Any]) -> str | None:
    """The caller's token: ``Authorization: Bearer`` header, or the legacy ``token`` param."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    token = params.get("token")
    return str(token) if token else None


def _str(params: dict[str, Any], name: str, missing_error: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise SlackApiFailure(missing_error)
    return str(value)


def _int(params: dict[str, Any], name: str, default: int) -> int:
    try:
        return int(params.get(name, default))
    except (TypeError, ValueError) as exc:
        raise SlackApiFailure("invalid_arguments") from exc


def _ts_bound(params: dict[str, Any], name: str) -> int | None:
    if not params.get(name):
        return None
    try:
        return ts_to_micros(str(params[name]))
    except ValueError as exc:
        raise SlackApiFailure(f"invalid_ts_{name}") from exc


def _cursor(offset: int) -> str:
    """An opaque cursor, shaped like Slack's (base64 of where the next page starts)."""
    return base64.b64encode(f"member:{offset}".encode()).decode()


def _cursor_offset(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
        if kind == "member" and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise SlackApiFailure("invalid_cursor")


class WebApi:
    """Dispatches ``/api/<method>`` requests to handlers operating on the workspace state."""

    def __init__(
        self,
        state: WorkspaceState,
        bot_token: str,
        app_token: str,
        socket_url: Callable[[], str],
        announce: Callable[[Message], object],
        calls: list[ApiCall],
    ) -> None:
        self.state = state
        self.bot_token = bot_token
        self.app_token = app_token
        self.socket_url = socket_url
        self.announce = announce
        self.calls = calls
        self.faults = ApiFaults()
        self.scopes: frozenset[str] = BOT_SCOPES  # what the bot token was granted (``x-oauth-scopes``)
        self.refused_tokens: dict[str, str] = {}  # token -> the error Slack answers it (token_revoked, ...)
        self.uploads: FileUploads  # set by the server, which knows its own address
        self.methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self.auth_test,
            "apps.connections.open": self.apps_connections_open,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "reactions.add": self.reactions_add,
            "conversations.replies": self.conversations_replies,
            "conversations.history": self.conversations_history,
            "conversations.open": self.conversations_open,
            "conversations.info": self.conversations_info,
            "conversations.members": self.conversations_members,
            "conversations.list": self.conversations_list,
            "users.info": self.users_info,
            "users.list": self.users_list,
            "usergroups.users.list": self.usergroups_users_list,
            "users.lookupByEmail": self.users_lookup_by_email,
            "files.getUploadURLExternal": lambda params: self.uploads.get_upload_url(params),
            "files.completeUploadExternal": lambda params: self.uploads.complete(params),
            "views.publish": self.views_publish,
            "views.open": self.views_open,
        }

    async def handle(self, request: web.Request) -> web.Response:
        """aiohttp handler: never raises; failures become ``{"ok": false, "error": ...}``."""
        method = request.match_info["method"]
        fault = self.faults.take(method)
        if fault is not None and fault.status == 0:  # slow, not failing: the work is done, the answer late
            response = await self._handle(request, method)
            await asyncio.sleep(fault.delay)
            return response
        if fault is not None:
            self.calls.append(ApiCall(method, {}, self.state.clock(), False, f"http_{fault.status}"))
            if fault.status == 429:
                headers = {"Retry-After": str(fault.retry_after)}
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
            return web.json_response({"ok": False, "error": "internal_error"}, status=fault.status)
        return await self._handle(request, method)

    async def _handle(self, request: web.Request, method: str) -> web.Response:
        params: dict[str, Any] = {}
        headers: dict[str, str] = {}
        try:
            params = await read_params(request)
            token = bearer_token(request, params)
            result = self.call(method, params, token)
            headers = self.scope_header(token)
        except SlackApiFailure as failure:
            result = {"ok": False, "error": failure.code}
        except Exception:
            log.exception("Web API method %s failed", method)
            result = {"ok": False, "error": "internal_error"}
        params.pop("token", None)
        self.calls.append(ApiCall(method, params, self.state.clock(), result["ok"], result.get("error")))
        return web.json_response(result, headers=headers)

    def scope_header(self, token: str | None) -> dict[str, str]:
        """Slack's ``x-oauth-scopes``: the scopes of the token a call was made with."""
        granted = {self.bot_token: self.scopes, self.app_token: frozenset({SOCKET_MODE_SCOPE})}.get(
            token or ""
        )
        return {"x-oauth-scopes": ",".join(sorted(granted))} if granted is not None else {}

    def call(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """Authenticate and run one method (raises SlackApiFailure)."""
        handler = self.methods.get(method)
        if handler is None:
            raise SlackApiFailure("unknown_method")
        expected, other = (
            (self.app_token, self.bot_token)
            if method in APP_TOKEN_METHODS
            else (self.bot_token, self.app_token)
        )
        if not token:
            raise SlackApiFailure("not_authed")
        if token in self.refused_tokens:
            raise SlackApiFailure(self.refused_tokens[token])
        if token == other:
            raise SlackApiFailure("not_allowed_token_type")
        if token != expected:
            raise SlackApiFailure("invalid_auth")
        return {"ok": True, **handler(params)}

    # ----- helpers ----------------------------------------------------------------------
    def _channel(self, params: dict[str, Any], name: str = "channel") -> str:
        channel = self.state.resolve_channel(_str(params, name, "channel_not_found"))
        if channel is None:
            raise SlackApiFailure("channel_not_found")
        return channel.id

    def _bot_channel(self, params: dict[str, Any], name: str = "channel") -> str:
        """A channel the bot acts in: Slack hides a private channel it is not in (channel_not_found)
        and refuses a public one it has not joined (not_in_channel)."""
        channel = self.state.channels[self._channel(params, name)]
        if not channel.has_member(BOT_USER_ID):
            raise SlackApiFailure("channel_not_found" if channel.is_private else "not_in_channel")
        return channel.id

    def _visible_channel(self, params: dict[str, Any]) -> str:
        """A channel the bot may look at: any public one, a private one only when it is in it."""
        channel = self.state.channels[self._channel(params)]
        if channel.is_private and not channel.has_member(BOT_USER_ID):
            raise SlackApiFailure("channel_not_found")
        return channel.id

    def _message(self, channel: str, ts: str) -> Message:
        message = self.state.find_message(channel, ts)
        if message is None:
            raise SlackApiFailure("message_not_found")
        return message

    # ----- methods ----------------------------------------------------------------------
    def auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "team_id": TEAM_ID,
            "user": BOT_NAME,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.socket_url()}

    def chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._bot_channel(params)
        text, blocks = str(params.get("text") or ""), params.get("blocks") or None
        if not text and not blocks:
            raise SlackApiFailure("no_text")
        thread_ts = params.get("thread_ts") or None
        metadata = params.get("metadata") if isinstance(params.get("metadata"), dict) else None
        message = self.state.add_message(
            channel,
            BOT_USER_ID,
            text,
            blocks=blocks,
            thread_ts=str(thread_ts) if thread_ts else None,
            bot_id=BOT_ID,
            metadata=metadata,
        )
        self.announce(message)
        return {"channel": channel, "ts": message.ts, "message": self.state.message_to_api(message)}

    def chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._bot_channel(params)
        message = self._message(channel, _str(params, "ts", "message_not_found"))
        if "text" in params:
            message.text = str(params["text"] or "")
        if "blocks" in params:
            message.blocks = params["blocks"] or None
        message.edited_ts = self.state.event_ts()
        return {
            "channel": channel,
            "ts": message.ts,
            "text": message.text,
            "message": self.state.message_to_api(message),
        }

    def chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._bot_channel(params)
        message = self._message(channel, _str(params, "ts", "message_not_found"))
        if message.user != BOT_USER_ID:
            raise SlackApiFailure("cant_delete_message")  # a bot token deletes only the bot's own messages
        self.state.delete_message(channel, message.ts)
        return {"channel": channel, "ts": message.ts}

    def chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._bot_channel(params)
        user = _str(params, "user", "user_not_found")
        if user not in self.state.users:
            raise SlackApiFailure("user_not_found")
        if not self.state.channels[channel].has_member(user):
            raise SlackApiFailure("user_not_in_channel")
        text, blocks = str(params.get("text") or ""), params.get("blocks") or None
        if not text and not blocks:
            raise SlackApiFailure("no_text")
        ephemeral = self.state.add_ephemeral(channel, user, text, blocks)
        return {"message_ts": ephemeral.ts}

    def reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._bot_channel(params)
        message = self._message(channel, _str(params, "timestamp", "message_not_found"))
        name = _str(params, "name", "invalid_name").strip(":")
        users = message.reactions.setdefault(name, [])
        if BOT_USER_ID in users:
            raise SlackApiFailure("already_reacted")
        users.append(BOT_USER_ID)
        return {}

    def conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._bot_channel(params)
        thread = self.state.thread(channel, _str(params, "ts", "thread_not_found"))
        if not thread:
            raise SlackApiFailure("thread_not_found")
        return {
            "messages": [self.state.message_to_api(m) for m in thread],
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    def conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._bot_channel(params)
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        oldest, latest = _ts_bound(params, "oldest"), _ts_bound(params, "latest")
        limit = _int(params, "limit", 100) or 100

        def wanted(message: Message) -> bool:
            micros = ts_to_micros(message.ts)
            if oldest is not None and (micros < oldest or (micros == oldest and not inclusive)):
                return False
            return latest is None or micros < latest or (micros == latest and inclusive)

        top_level = [
            m
            for m in self.state.channel_messages(channel)
            if (not m.thread_ts or m.thread_ts == m.ts) and wanted(m)
        ]
        newest_first = list(reversed(top_level))
        return {
            "messages": [self.state.message_to_api(m) for m in newest_first[:limit]],
            "has_more": len(newest_first) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        user = _str(params, "users", "users_list_not_supplied").split(",")[0].strip()
        if user not in self.state.users:
            raise SlackApiFailure("user_not_found")
        return {"channel": self.state.open_dm(user).to_api()}

    def conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self.state.channels[self._visible_channel(params)].to_api()}

    def conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of a channel's member ids; ``next_cursor`` is empty on the last page."""
        members = self.state.channel_members(self.state.channels[self._visible_channel(params)])
        limit = min(max(_int(params, "limit", 100) or 100, 1), 1000)
        start = _cursor_offset(str(params.get("cursor") or ""))
        page = members[start : start + limit]
        after = start + len(page)
        return {
            "members": page,
            "response_metadata": {"next_cursor": _cursor(after) if after < len(members) else ""},
        }

    def conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of the channels the bot can see (Slack's: every public one, a private one only when
        the bot is in it; no DMs unless asked), ``types`` and ``exclude_archived`` as Slack reads them."""
        types = set(str(params.get("types") or "public_channel").split(","))
        seen = [
            c
            for c in self.state.channels.values()
            if not c.is_im
            and ("private_channel" if c.is_private else "public_channel") in types
            and (not c.is_private or c.has_member(BOT_USER_ID))
        ]
        limit = min(max(_int(params, "limit", 100) or 100, 1), 1000)
        start = _cursor_offset(str(params.get("cursor") or ""))
        page = seen[start : start + limit]
        after = start + len(page)
        return {
            "channels": [c.to_api() for c in page],
            "response_metadata": {"next_cursor": _cursor(after) if after < len(seen) else ""},
        }

    def users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.state.users.get(_str(params, "user", "user_not_found"))
        if user is None:
            raise SlackApiFailure("user_not_found")
        return {"user": user.to_api()}

    def users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "members": [u.to_api() for u in self.state.users.values()],
            "response_metadata": {"next_cursor": ""},
        }

    def users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        email = str(params.get("email") or "").lower()
        user = next((u for u in self.state.users.values() if u.email == email), None)
        if user is None:
            raise SlackApiFailure("users_not_found")
        return {"user": user.to_api()}

    def usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        members = self.state.usergroups.get(_str(params, "usergroup", "no_such_subteam"))
        if members is None:
            raise SlackApiFailure("no_such_subteam")
        return {"users": list(members)}

    def views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user = _str(params, "user_id", "user_not_found")
        if user not in self.state.users:
            raise SlackApiFailure("user_not_found")
        view = params.get("view")
        if not isinstance(view, dict):
            raise SlackApiFailure("invalid_arguments")
        stored = {**view, "id": "V" + user, "team_id": TEAM_ID}
        self.state.views[user] = stored
        return {"view": stored}

    def views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        """A modal for the person whose click gave ``trigger_id``; a trigger opens one view, once."""
        trigger = _str(params, "trigger_id", "invalid_trigger_id")
        user = self.state.triggers.pop(trigger, None)
        if user is None:
            raise SlackApiFailure("invalid_trigger_id")
        view = params.get("view")
        if (
            not isinstance(view, dict)
            or view.get("type") != "modal"
            or not isinstance(view.get("title"), dict)
        ):
            raise SlackApiFailure("invalid_arguments")
        if not isinstance(view.get("blocks"), list) or len(view["blocks"]) > 100:
            raise SlackApiFailure("invalid_arguments")
        view_id = f"V{len(self.state.modals) + 1:08d}"
        stored = {**view, "id": view_id, "team_id": TEAM_ID, "state": {"values": {}}}
        self.state.modals[view_id] = (user, stored)
        return {"view": stored}

"""Slack's file upload flow, as the SDK's files_upload_v2 uses it: get an upload URL, POST the bytes
there, then complete the upload into a channel or thread (which posts a message carrying the file)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.workspace.errors import SlackApiFailure
from bot.workspace.state import BOT_ID, BOT_USER_ID, Message, WorkspaceState


@dataclass
class StoredFile:
    id: str
    name: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    shares: list[str] = field(default_factory=list)

    def to_driver(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "channel": self.channel,
            "thread_ts": self.thread_ts,
            "content": (self.content or b"").decode("utf-8", "replace"),
            "content_base64": base64.b64encode(self.content or b"").decode("ascii"),  # bytes as sent (PNG)
        }


class FileUploads:
    def __init__(
        self, state: WorkspaceState, base_url: Callable[[], str], announce: Callable[[Message], object]
    ):
        self.state = state
        self.base_url = base_url
        self.announce = announce
        self.files: dict[str, StoredFile] = {}

    def get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("filename") or "")
        if not name:
            raise SlackApiFailure("invalid_arguments")
        file_id = "F" + secrets.token_hex(5).upper()
        self.files[file_id] = StoredFile(file_id, name, int(params.get("length") or 0))
        return {"upload_url": f"{self.base_url()}/_upload/{file_id}", "file_id": file_id}

    async def receive(self, request: web.Request) -> web.Response:
        stored = self.files.get(request.match_info["file_id"])
        if stored is None:
            return web.Response(status=404, text="unknown upload")
        stored.content = await request.read()
        return web.Response(text=f"OK - {len(stored.content)}")

    def complete(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = params.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackApiFailure("invalid_arguments")
        channel = params.get("channel_id") or params.get("channel")
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        if channel:
            where = self.state.channels.get(str(channel))
            if where is None or (where.is_private and not where.has_member(BOT_USER_ID)):
                raise SlackApiFailure("channel_not_found")
            if not where.has_member(BOT_USER_ID):
                raise SlackApiFailure("not_in_channel")
        done = []
        for entry in entries:
            stored = self.files.get(str(entry.get("id")))
            if stored is None or stored.content is None:
                raise SlackApiFailure("file_not_found")
            stored.title = entry.get("title") or stored.name
            stored.channel, stored.thread_ts = (str(channel) if channel else None), thread_ts
            done.append(stored)
        if channel:
            text = str(params.get("initial_comment") or "")
            message = self.state.add_message(
                str(channel), BOT_USER_ID, text, thread_ts=thread_ts, bot_id=BOT_ID
            )
            message.files = [{"id": f.id, "name": f.name, "title": f.title} for f in done]
            self.announce(message)
            for stored in done:
                stored.shares.append(message.ts)
        return {"files": [{"id": f.id, "name": f.name, "title": f.title} for f in done]}

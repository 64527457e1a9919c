"""In-memory state of the local workspace: users, channels, messages, ephemerals, views.

Everything here is touched only from the workspace's event loop thread, so it needs no
locks. Timestamps are integers of microseconds internally and Slack-style strings
(``"%d.%06d"``) at the edges, which keeps ordering exact (floats would not be).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

BOT_USER_ID = "UBOT"
BOT_NAME = "sce"
BOT_ID = "BBOT"
TEAM_ID = "T0LOCAL"
TEAM_DOMAIN = "local"
TEAM_NAME = "Local Workspace"
APP_ID = "A0LOCAL"
EVENTS_SEQUENCE = "__events__"
"""Sequence key for timestamps that belong to no channel (reaction event_ts, action_ts)."""


def ts_to_micros(ts: str) -> int:
    """Parse a Slack ts string into integer microseconds (raises ValueError when malformed)."""
    try:
        value = Decimal(ts)
    except InvalidOperation as exc:
        raise ValueError(f"malformed ts {ts!r}") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"malformed ts {ts!r}")
    return int(value * 1_000_000)


def micros_to_ts(micros: int) -> str:
    """Format integer microseconds as a Slack ts string."""
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{seconds}.{fraction:06d}"


def normalize_ts(value: str | float | int) -> str:
    """Turn a caller-chosen ts (string or number) into the canonical ``"%.6f"`` string."""
    if isinstance(value, str):
        return micros_to_ts(ts_to_micros(value))
    return f"{value:.6f}"


@dataclass
class User:
    """A workspace member; the bot is one too (with ``bot_id`` set)."""

    id: str
    name: str
    is_bot: bool = False
    bot_id: str | None = None

    @property
    def email(self) -> str:
        return f"{self.name}@example.com"

    def to_api(self) -> dict[str, Any]:
        """The ``user`` object as ``users.info`` returns it."""
        profile: dict[str, Any] = {"display_name": self.name, "real_name": self.name, "email": self.email}
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.name,
            "deleted": False,
            "is_bot": self.is_bot,
            "tz": "UTC",
            "tz_offset": 0,
            "profile": profile,
        }


@dataclass
class Channel:
    """A channel (public or ``is_private``), or a direct-message channel (``is_im``) with one user.

    ``members`` None means everyone in the workspace, the bot included (what fixtures that only name
    their channels expect); a list names exactly who is in it, the bot (``UBOT``) only when listed.
    """

    id: str
    name: str
    is_im: bool = False
    im_user: str | None = None
    is_private: bool = False
    members: list[str] | None = None

    def has_member(self, user: str) -> bool:
        if self.is_im:
            return user in (self.im_user, BOT_USER_ID)
        return self.members is None or user in self.members

    def to_api(self) -> dict[str, Any]:
        """The ``channel`` object as ``conversations.info``/``open`` return it."""
        if self.is_im:
            return {"id": self.id, "is_im": True, "user": self.im_user}
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_private": self.is_private,
            "is_im": False,
            "is_member": self.has_member(BOT_USER_ID),
        }


@dataclass
class Message:
    """A stored channel message; ``reactions`` maps reaction name to reacting user ids."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[Any] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    metadata: dict[str, Any] | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    edited_ts: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    subtype: str | None = None  # "bot_message": posted through an incoming webhook, with no user
    attachments: list[Any] | None = None
    username: str | None = None


@dataclass
class Ephemeral:
    """A message only one user sees (chat.postEphemeral, slash acks, response_url replies)."""

    channel: str
    user: str
    text: str
    blocks: list[Any] | None
    ts: str

    def to_driver(self) -> dict[str, Any]:
        """The shape the driver API hands out."""
        return {"channel": self.channel, "text": self.text, "blocks": self.blocks, "ts": self.ts}


class WorkspaceState:
    """All mutable workspace data plus the clock-driven ts sequences."""

    def __init__(
        self,
        clock: Callable[[], float],
        users: Mapping[str, str],
        channels: Mapping[str, str],
        members: Mapping[str, Sequence[str]] | None = None,
        private: Collection[str] = (),
    ) -> None:
        self.clock = clock
        self.users: dict[str, User] = {uid: User(uid, name) for uid, name in users.items()}
        self.users[BOT_USER_ID] = User(BOT_USER_ID, BOT_NAME, is_bot=True, bot_id=BOT_ID)
        members = members or {}
        self.channels: dict[str, Channel] = {
            cid: Channel(
                cid,
                name,
                is_private=cid in private,
                members=list(members[cid]) if cid in members else None,
            )
            for cid, name in channels.items()
        }
        self.messages: dict[str, dict[str, Message]] = {cid: {} for cid in self.channels}
        self.ephemerals: dict[str, list[Ephemeral]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.triggers: dict[str, str] = {}  # trigger_id -> the person whose click it came from (views.open)
        self.modals: dict[str, tuple[str, dict[str, Any]]] = {}  # view id -> (its person, the open modal)
        self.usergroups: dict[str, list[str]] = {}
        self._last_micros: dict[str, int] = {}

    # ----- time -------------------------------------------------------------------------
    def new_ts(self, sequence: str) -> str:
        """Next ts of a sequence: from the clock, bumped so it is strictly increasing."""
        micros = int(round(self.clock() * 1_000_000))
        last = self._last_micros.get(sequence)
        if last is not None and micros <= last:
            micros = last + 1
        self._last_micros[sequence] = micros
        return micros_to_ts(micros)

    def _observe_ts(self, sequence: str, ts: str) -> None:
        """Remember a caller-chosen ts so later generated ones still sort after it."""
        micros = ts_to_micros(ts)
        self._last_micros[sequence] = max(micros, self._last_micros.get(sequence, micros))

    def event_ts(self, given: str | float | None = None) -> str:
        """A ts for an event that is not a message (reaction event_ts, action_ts)."""
        if given is None:
            return self.new_ts(EVENTS_SEQUENCE)
        ts = normalize_ts(given)
        self._observe_ts(EVENTS_SEQUENCE, ts)
        return ts

    # ----- lookups ----------------------------------------------------------------------
    def resolve_channel(self, ref: str) -> Channel | None:
        """Find a channel by id, by name (with or without '#'), or open a DM for a user id."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if not channel.is_im and channel.name == name:
                return channel
        if ref in self.users:
            return self.open_dm(ref)
        return None

    def channel_members(self, channel: Channel) -> list[str]:
        """Who is in a channel, in a stable order (the bot last, as a member like any other)."""
        if channel.is_im:
            return [m for m in (channel.im_user, BOT_USER_ID) if m]
        if channel.members is not None:
            return list(channel.members)
        return [u for u in self.users if u != BOT_USER_ID] + [BOT_USER_ID]

    def add_channel(self, name: str) -> Channel:
        """A new public channel, named as Slack's ``conversations.create`` allows; ValueError with
        Slack's own error code (``name_taken``, ``invalid_name_maxlength``, ``invalid_name_specials``)."""
        if len(name) > 80:
            raise ValueError("invalid_name_maxlength")
        if not name or any(not (c.islower() or c.isdigit() or c in "-_") for c in name) or not name.isascii():
            raise ValueError("invalid_name_specials")
        if any(not c.is_im and c.name == name for c in self.channels.values()):
            raise ValueError("name_taken")
        channel_id = f"C{len(self.channels) + 1:04d}{name.upper().replace('-', '').replace('_', '')[:6]}"
        self.channels[channel_id] = Channel(channel_id, name)
        self.messages[channel_id] = {}
        return self.channels[channel_id]

    def open_dm(self, user_id: str) -> Channel:
        """The DM channel between the bot and a user, created on first use like Slack does."""
        channel_id = "D" + user_id
        if channel_id not in self.channels:
            self.channels[channel_id] = Channel(channel_id, user_id, is_im=True, im_user=user_id)
            self.messages[channel_id] = {}
        return self.channels[channel_id]

    def find_message(self, channel: str, ts: str) -> Message | None:
        """The stored message with exactly this ts, if any."""
        return self.messages.get(channel, {}).get(ts)

    def channel_messages(self, channel: str) -> list[Message]:
        """Every message in a channel (replies included), oldest first."""
        return sorted(self.messages.get(channel, {}).values(), key=lambda m: ts_to_micros(m.ts))

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """Parent plus replies of a thread, oldest first (empty if the parent is unknown)."""
        parent = self.find_message(channel, thread_ts)
        if parent is None:
            return []
        root = parent.thread_ts or parent.ts
        return [m for m in self.channel_messages(channel) if m.ts == root or m.thread_ts == root]

    # ----- mutations --------------------------------------------------------------------
    def add_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        blocks: list[Any] | None = None,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        ts: str | float | None = None,
        **extra: Any,  # subtype, attachments, username: another app's post
    ) -> Message:
        """Store a new message; an explicit ``ts`` is used verbatim (ValueError if taken)."""
        if ts is None:
            chosen = self.new_ts(channel)
        else:
            chosen = normalize_ts(ts)
            if chosen in self.messages.setdefault(channel, {}):
                raise ValueError(f"ts {chosen} already used in {channel}")
            self._observe_ts(channel, chosen)
        if thread_ts is not None:
            parent = self.find_message(channel, thread_ts)
            if parent is not None and parent.thread_ts:
                thread_ts = parent.thread_ts  # replying to a reply joins the same thread
        message = Message(channel, chosen, user, text, blocks, thread_ts, bot_id, metadata, **extra)
        self.messages.setdefault(channel, {})[chosen] = message
        return message

    def add_ephemeral(self, channel: str, user: str, text: str, blocks: list[Any] | None) -> Ephemeral:
        """Store an ephemeral message for one user."""
        ephemeral = Ephemeral(channel, user, text, blocks, self.new_ts(channel))
        self.ephemerals.setdefault(user, []).append(ephemeral)
        return ephemeral

    def delete_message(self, channel: str, ts: str) -> bool:
        """Remove a message; True if it existed."""
        return self.messages.get(channel, {}).pop(ts, None) is not None

    # ----- serialization ----------------------------------------------------------------
    def message_to_api(self, message: Message) -> dict[str, Any]:
        """The message object as Slack's Web API returns it (absent fields omitted)."""
        data: dict[str, Any] = {
            "type": "message",
            "user": message.user,
            "text": message.text,
            "ts": message.ts,
            "team": TEAM_ID,
        }
        if message.blocks is not None:
            data["blocks"] = message.blocks
        data.update(app_fields(message))
        if message.metadata:
            data["metadata"] = message.metadata
        if message.files:
            data["files"] = list(message.files)
        if message.thread_ts:
            data["thread_ts"] = message.thread_ts
            parent = self.find_message(message.channel, message.thread_ts)
            if parent is not None:
                data["parent_user_id"] = parent.user
        else:
            replies = [
                m for m in self.messages.get(message.channel, {}).values() if m.thread_ts == message.ts
            ]
            if replies:
                latest = max(replies, key=lambda m: ts_to_micros(m.ts))
                data["thread_ts"] = message.ts
                data["reply_count"] = len(replies)
                data["reply_users"] = sorted({m.user for m in replies})
                data["latest_reply"] = latest.ts
        if message.reactions:
            data["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in message.reactions.items()
            ]
        if message.edited_ts:
            data["edited"] = {"user": message.user, "ts": message.edited_ts}
        return data

    def message_to_driver(self, message: Message) -> dict[str, Any]:
        """The Web API shape plus ``channel`` and always-present optional keys, for scripts."""
        data = self.message_to_api(message)
        data["channel"] = message.channel
        data.setdefault("blocks", None)
        data.setdefault("thread_ts", None)
        data.setdefault("reactions", [])
        data.setdefault("bot_id", None)
        return data


def app_fields(message: Message) -> dict[str, Any]:
    """What Slack adds to an app's post: its bot id (and app id, ours), a webhook post's subtype, username
    and attachments, and no user."""
    data: dict[str, Any] = {}
    if message.bot_id:
        data["bot_id"] = message.bot_id
        if message.bot_id == BOT_ID:
            data["app_id"] = APP_ID
    for key in ("subtype", "attachments", "username"):
        if getattr(message, key):
            data[key] = getattr(message, key)
    return data

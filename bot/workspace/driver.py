"""What scripted people and tests do to the workspace: type slash commands, post, react, click.

Each action stores what Slack would store, then delivers the matching request to the app
and waits for its answer, so a test step is finished when the call returns. The same
coroutines back the HTTP driver API (``/_workspace/<action>``), the ``response_url``
endpoint and LocalWorkspace's in-process methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

from bot.workspace import payloads
from bot.workspace.delivery import Deliverer, DeliveryResult, Kind, build_delivery
from bot.workspace.errors import DriverError
from bot.workspace.faults import ApiFaults
from bot.workspace.files import FileUploads
from bot.workspace.state import BOT_ID, BOT_USER_ID, Channel, Message, User, WorkspaceState, normalize_ts
from bot.workspace.web_api import ApiCall

log = logging.getLogger(__name__)


ANSWER_WAIT = 15.0
"""Seconds a slash command run through the driver waits for an answer that follows an empty ack."""
ANSWER_WAIT_MAX = 60.0


@dataclass(frozen=True)
class ResponseTarget:
    """Where a ``response_url`` reply lands: who invoked, in which channel, on which message."""

    user: str
    channel: str
    message_ts: str | None = None


def ack_content(body: Any) -> tuple[str, list[Any] | None, str | None]:
    """(text, blocks, response_type) of an immediate response, in either mode's shape."""
    if isinstance(body, dict):
        blocks = body.get("blocks") if isinstance(body.get("blocks"), list) else None
        return str(body.get("text") or ""), blocks, body.get("response_type")
    if isinstance(body, str):
        return body, None, None
    return "", None, None


class Driver:
    """Driver actions over the shared state and the delivery queue."""

    def __init__(
        self, state: WorkspaceState, deliverer: Deliverer, base_url: Callable[[], str], calls: list[ApiCall]
    ) -> None:
        self.state = state
        self.deliverer = deliverer
        self.base_url = base_url
        self.api_calls = calls
        self.responses: dict[str, ResponseTarget] = {}
        self.first_answers: dict[str, asyncio.Future[dict[str, Any]]] = {}  # a slash command's, awaited
        self.api_faults: ApiFaults | None = None  # set by the server: shared with the Web API
        self.uploads: FileUploads | None = None  # set by the server

    # ----- shared plumbing --------------------------------------------------------------
    def _user(self, user_id: str) -> User:
        user = self.state.users.get(user_id)
        if user is None:
            raise DriverError(404, "user_not_found")
        return user

    def _channel(self, ref: str) -> Channel:
        channel = self.state.resolve_channel(ref)
        if channel is None:
            raise DriverError(404, "channel_not_found")
        return channel

    def _where(self, who: User, ref: str) -> Channel:
        """A channel a person acts in: Slack lets only its members type, click or react there."""
        channel = self._channel(ref)
        if not channel.has_member(who.id):
            raise DriverError(403, "not_in_channel")
        return channel

    def _message(self, channel: str, ts: str) -> Message:
        message = self.state.find_message(channel, ts)
        if message is None:
            raise DriverError(404, "message_not_found")
        return message

    @staticmethod
    def _ts(value: str | float | None) -> str | None:
        """Validate a caller-chosen ts up front so a typo is a 400, not a server error."""
        if value is None:
            return None
        try:
            return normalize_ts(value)
        except (TypeError, ValueError) as exc:
            raise DriverError(400, f"invalid_ts: {value!r}") from exc

    def response_url(self, user: str, channel: str) -> str:
        """A fresh ``response_url`` whose replies are shown to ``user`` in ``channel``."""
        return self._response_url(ResponseTarget(user, channel))

    def _response_url(self, target: ResponseTarget) -> str:
        response_id = uuid.uuid4().hex
        self.responses[response_id] = target
        return f"{self.base_url()}/_respond/{response_id}"

    def _deliver(self, kind: Kind, payload: dict[str, Any]) -> asyncio.Future[DeliveryResult]:
        return self.deliverer.enqueue(build_delivery(kind, payload, self.deliverer.signing_secret))

    def announce(self, message: Message) -> asyncio.Future[DeliveryResult]:
        """Queue the ``message`` event for a stored message without waiting (as Slack does)."""
        return self._deliver(
            "events_api", payloads.event_callback(self.state, payloads.message_event(self.state, message))
        )

    def _post_as_bot(
        self, channel: str, text: str, blocks: list[Any] | None, thread_ts: str | None
    ) -> Message:
        message = self.state.add_message(
            channel, BOT_USER_ID, text, blocks=blocks, thread_ts=thread_ts, bot_id=BOT_ID
        )
        self.announce(message)
        return message

    # ----- actions ----------------------------------------------------------------------
    async def slash(
        self, user: str, command: str, text: str = "", channel: str = "C1", answer_wait: float = ANSWER_WAIT
    ) -> dict[str, Any]:
        """Invoke a slash command; an immediate response with content is shown like Slack does.

        ``text`` is the answer the person sees first: the ack's, or after an empty ack the first reply
        through the ``response_url`` (awaited up to ``answer_wait`` seconds), ``answer`` its whole body;
        ``ack_text`` and ``body`` are the ack's."""
        who = self._user(user)
        where = self._where(who, channel)
        response_url = self._response_url(ResponseTarget(who.id, where.id))
        response_id = response_url.rsplit("/", 1)[1]
        answer = self.first_answers[response_id] = asyncio.get_running_loop().create_future()
        form = payloads.slash_command_form(who, where, command, text, response_url, payloads.new_trigger_id())
        try:
            result = await self._deliver("slash_commands", form)
            ack_text, ack_blocks, response_type = (
                ack_content(result.body) if result.status == 200 else ("", None, None)
            )
            if ack_text or ack_blocks:
                if response_type == "in_channel":
                    self._post_as_bot(where.id, ack_text, ack_blocks, None)
                else:
                    self.state.add_ephemeral(where.id, who.id, ack_text, ack_blocks)
            shown: Any = result.body if ack_text or ack_blocks else None
            if result.status == 200 and shown is None and answer_wait > 0:
                with contextlib.suppress(TimeoutError):  # bounded: a caller's number never hangs the driver
                    shown = await asyncio.wait_for(asyncio.shield(answer), min(answer_wait, ANSWER_WAIT_MAX))
        finally:
            self.first_answers.pop(response_id, None)
        return {
            "status": result.status,
            "body": result.body,
            "answer": shown,
            "text": ack_content(shown)[0] or None,
            "ack_text": ack_text or None,
            "error": result.error,
        }

    async def post(
        self,
        user: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        ts: str | float | None = None,
        deliver_after: float = 0.0,
    ) -> dict[str, Any]:
        """A person posts a message; its event is delivered (after ``deliver_after`` real seconds)."""
        who = self._user(user)
        where = self._where(who, channel)
        try:
            message = self.state.add_message(where.id, who.id, text, thread_ts=thread_ts, ts=self._ts(ts))
        except ValueError as exc:
            raise DriverError(409, str(exc)) from exc
        event = payloads.message_event(self.state, message)
        if deliver_after > 0:
            await asyncio.sleep(deliver_after)
        payload = payloads.event_callback(self.state, event)
        result = await self._deliver("events_api", payload)
        return {
            "ts": message.ts,
            "event_id": payload["event_id"],
            "status": result.status,
            "error": result.error,
        }

    async def react(
        self, user: str, channel: str, ts: str, name: str, event_ts: str | float | None = None
    ) -> dict[str, Any]:
        """A person adds a reaction; ``reaction_added`` is delivered."""
        who = self._user(user)
        where = self._where(who, channel)
        message = self._message(where.id, ts)
        name = name.strip(":")
        users = message.reactions.setdefault(name, [])
        if who.id not in users:
            users.append(who.id)
        chosen_ts = self.state.event_ts(self._ts(event_ts))
        payload = payloads.event_callback(
            self.state, payloads.reaction_added_event(who.id, message, name, chosen_ts)
        )
        result = await self._deliver("events_api", payload)
        return {
            "event_ts": chosen_ts,
            "event_id": payload["event_id"],
            "status": result.status,
            "error": result.error,
        }

    async def create_channel(self, user: str, name: str) -> dict[str, Any]:
        """A person creates a public channel; ``channel_created`` is delivered to the app."""
        who = self._user(user)
        try:
            channel = self.state.add_channel(name)
        except ValueError as exc:
            raise DriverError(400, str(exc)) from None
        event_ts = self.state.event_ts()
        event = payloads.channel_created_event(channel, who.id, int(float(event_ts)), event_ts)
        payload = payloads.event_callback(self.state, event)
        result = await self._deliver("events_api", payload)
        return {
            "channel": channel.id,
            "event_id": payload["event_id"],
            "status": result.status,
            "error": result.error,
        }

    async def open_home(self, user: str) -> dict[str, Any]:
        """A person opens the app's Home tab: ``app_home_opened`` is delivered; returns the published view."""
        who = self._user(user)
        event = {
            "type": "app_home_opened",
            "user": who.id,
            "channel": f"D{who.id}",
            "tab": "home",
            "event_ts": self.state.event_ts(),
        }
        result = await self._deliver("events_api", payloads.event_callback(self.state, event))
        return {"status": result.status, "error": result.error}

    async def set_members(self, channel: str, members: list[str] | None) -> dict[str, Any]:
        """Who is in a channel from now on (None: everyone, the bot included); join and leave in one."""
        where = self._channel(channel)
        if where.is_im:
            raise DriverError(400, "cannot_change_dm_members")
        unknown = [m for m in members or [] if m not in self.state.users]
        if unknown:
            raise DriverError(404, f"user_not_found: {', '.join(unknown)}")
        where.members = None if members is None else list(dict.fromkeys(members))
        return {"ok": True, "members": self.state.channel_members(where)}

    async def files(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Files uploaded (and completed), optionally only those shared into one channel."""
        stored = self.uploads.files.values() if self.uploads else []
        return [
            f.to_driver()
            for f in stored
            if f.content is not None and (channel is None or f.channel == channel)
        ]

    async def home(self, user: str) -> dict[str, Any]:
        """The Home tab view last published for this person (empty when none)."""
        return {"view": self.state.views.get(self._user(user).id) or {}}

    async def click(
        self,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
        action_ts: str | float | None = None,
        selected_user: str | None = None,
    ) -> dict[str, Any]:
        """A person clicks a button (or picks a user) on a stored message."""
        who = self._user(user)
        where = self._where(who, channel)
        message = self._message(where.id, message_ts)
        chosen_ts = self.state.event_ts(self._ts(action_ts))
        action = payloads.block_action(message, action_id, chosen_ts, value, block_id, selected_user)
        response_url = self._response_url(ResponseTarget(who.id, where.id, message.ts))
        trigger = payloads.new_trigger_id()
        self.state.triggers[trigger] = who.id  # the app may open a modal with it (views.open)
        payload = payloads.block_actions_payload(self.state, who, message, action, response_url, trigger)
        result = await self._deliver("interactive", payload)
        return {"status": result.status, "body": result.body, "action_ts": chosen_ts, "error": result.error}

    async def modals(self, user: str) -> list[dict[str, Any]]:
        """The modals open for this person, oldest first."""
        who = self._user(user)
        return [view for owner, view in self.state.modals.values() if owner == who.id]

    async def submit_view(
        self, user: str, values: dict[str, dict[str, str]], view_id: str | None = None
    ) -> dict[str, Any]:
        """The person sends an open modal (their newest, or ``view_id``) with these inputs; it closes
        unless the app answers with ``response_action: errors``."""
        who = self._user(user)
        mine = [view_id] if view_id else [v for v, (owner, _) in self.state.modals.items() if owner == who.id]
        if not mine or mine[-1] not in self.state.modals or self.state.modals[mine[-1]][0] != who.id:
            raise DriverError(404, "view_not_found")
        chosen = mine[-1]
        view = self.state.modals[chosen][1]
        payload = payloads.view_submission_payload(who, view, values, payloads.new_trigger_id())
        result = await self._deliver("interactive", payload)
        body = result.body if isinstance(result.body, dict) else {}
        if result.status == 200 and body.get("response_action") != "errors":
            self.state.modals.pop(chosen, None)
        return {"status": result.status, "body": result.body, "view_id": chosen, "error": result.error}

    async def shortcut(
        self, user: str, channel: str, message_ts: str, callback_id: str, action_ts: str | float | None = None
    ) -> dict[str, Any]:
        """A person runs a message shortcut ("Add to debrief") on a stored message."""
        who = self._user(user)
        where = self._where(who, channel)
        message = self._message(where.id, message_ts)
        chosen_ts = self.state.event_ts(self._ts(action_ts))
        response_url = self._response_url(ResponseTarget(who.id, where.id, message.ts))
        payload = payloads.message_shortcut_payload(
            self.state, who, message, callback_id, chosen_ts, response_url, payloads.new_trigger_id()
        )
        result = await self._deliver("interactive", payload)
        return {"status": result.status, "body": result.body, "action_ts": chosen_ts, "error": result.error}

    async def fail_api(
        self, method: str, status: int = 429, times: int = 1, retry_after: int = 1, delay: float = 0.0
    ) -> dict[str, Any]:
        """Make the next ``times`` calls of a Web API method answer ``status`` (429 with Retry-After)."""
        if self.api_faults is None:
            raise DriverError(500, "no_web_api")
        self.api_faults.add(method, status, times, retry_after, delay)
        return {"ok": True}

    async def redeliver(self, event_id: str, retry_num: int = 1) -> dict[str, Any]:
        """Slack's retry of an earlier event: same body, ``X-Slack-Retry-Num`` set."""
        if event_id not in self.deliverer.sent:
            raise DriverError(404, "event_not_found")
        result = await self.deliverer.redeliver(event_id, retry_num)
        return {"status": result.status, "body": result.body, "error": result.error}

    async def messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Stored messages oldest first: the whole channel, or one thread."""
        where = self._channel(channel)
        found = self.state.thread(where.id, thread_ts) if thread_ts else self.state.channel_messages(where.id)
        return [self.state.message_to_driver(m) for m in found]

    async def ephemerals(self, user: str) -> list[dict[str, Any]]:
        """Everything shown only to this user, oldest first."""
        return [e.to_driver() for e in self.state.ephemerals.get(user, [])]

    async def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Recorded Web API calls, optionally only one method."""
        return [asdict(c) for c in list(self.api_calls) if method is None or c.method == method]

    async def respond(self, response_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """A POST to a ``response_url``: ephemeral by default, like Slack."""
        target = self.responses.get(response_id)
        if target is None:
            raise DriverError(404, "expired_url")
        text = str(body.get("text") or "")
        awaited = self.first_answers.get(response_id)
        if awaited is not None and not awaited.done():
            awaited.set_result(body)
        blocks = body.get("blocks") if isinstance(body.get("blocks"), list) else None
        original = self.state.find_message(target.channel, target.message_ts) if target.message_ts else None
        if body.get("delete_original") and original is not None:
            self.state.delete_message(original.channel, original.ts)
        elif body.get("replace_original") and original is not None:
            original.text, original.blocks = text, blocks
        elif body.get("response_type") == "in_channel":
            self._post_as_bot(target.channel, text, blocks, body.get("thread_ts"))
        else:
            self.state.add_ephemeral(target.channel, target.user, text, blocks)
        return {"ok": True}


ACTIONS = (
    "slash",
    "post",
    "react",
    "click",
    "shortcut",
    "redeliver",
    "messages",
    "ephemerals",
    "calls",
    "fail_api",
    "open_home",
    "home",
    "set_members",
    "files",
    "modals",
    "submit_view",
    "create_channel",
)


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError as exc:
        raise DriverError(400, "invalid_json") from exc
    if not isinstance(body, dict):
        raise DriverError(400, "invalid_json")
    return body


def routes(driver: Driver) -> list[web.RouteDef]:
    """aiohttp routes for ``/_workspace/<action>`` and ``/_respond/<id>``."""

    async def run_action(request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in ACTIONS:
            raise DriverError(404, "unknown_action")
        method = getattr(driver, action)
        kwargs = await _json_object(request)
        try:
            inspect.signature(method).bind(**kwargs)
        except TypeError as exc:
            raise DriverError(400, f"bad_arguments: {exc}") from exc
        return web.json_response(await method(**kwargs))

    async def respond(request: web.Request) -> web.Response:
        return web.json_response(
            await driver.respond(request.match_info["response_id"], await _json_object(request))
        )

    return [
        web.post("/_workspace/{action}", run_action),
        web.post("/_respond/{response_id}", respond),
    ]

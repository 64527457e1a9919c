"""WorkspaceClient: a synchronous client of the driver API (``/_workspace/<action>``).

Scripted people in the demo and tests in other processes use it to act in the local
workspace without importing the server; each method mirrors one driver action.
"""

from __future__ import annotations

import re
import time
from typing import Any

import requests

from bot.workspace.driver import ANSWER_WAIT


class WorkspaceClientError(RuntimeError):
    """The driver API refused an action (unknown user, channel, message, bad arguments...)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"workspace driver error {status}: {error}")
        self.status = status
        self.error = error


class WorkspaceClient:
    """Synchronous wrapper around a LocalWorkspace's driver API."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> WorkspaceClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, action: str, timeout: float | None = None, **params: Any) -> Any:
        response = self._session.post(
            f"{self.base_url}/_workspace/{action}", json=params, timeout=timeout or self.timeout
        )
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text}
        if response.status_code != 200:
            error = body.get("error", "unknown") if isinstance(body, dict) else str(body)
            raise WorkspaceClientError(response.status_code, error)
        return body

    def slash(
        self, user: str, command: str, text: str = "", channel: str = "C1", answer_wait: float = ANSWER_WAIT
    ) -> dict[str, Any]:
        """Run a slash command; returns ``{"status", "body", "answer", "text", "ack_text"}``: ``answer``
        is the body shown first (the ack's, or the reply that follows an empty ack) and ``text`` its
        text; ``body`` and ``ack_text`` are the ack's."""
        result: dict[str, Any] = self._call(
            "slash",
            timeout=self.timeout + answer_wait,
            user=user,
            command=command,
            text=text,
            channel=channel,
            answer_wait=answer_wait,
        )
        return result

    def post(
        self,
        user: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        ts: str | float | None = None,
        deliver_after: float = 0.0,
    ) -> dict[str, Any]:
        """Post as a person; returns ``{"ts", "event_id", "status"}`` once the event was delivered."""
        result: dict[str, Any] = self._call(
            "post",
            timeout=self.timeout + deliver_after,
            user=user,
            channel=channel,
            text=text,
            thread_ts=thread_ts,
            ts=ts,
            deliver_after=deliver_after,
        )
        return result

    def react(
        self, user: str, channel: str, ts: str, name: str, event_ts: str | float | None = None
    ) -> dict[str, Any]:
        """Add a reaction as a person; returns ``{"event_ts", "event_id", "status"}``."""
        result: dict[str, Any] = self._call(
            "react", user=user, channel=channel, ts=ts, name=name, event_ts=event_ts
        )
        return result

    def click(
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
        """Click a button (or pick a user) on a stored message; returns status, body, action_ts."""
        result: dict[str, Any] = self._call(
            "click",
            user=user,
            channel=channel,
            message_ts=message_ts,
            action_id=action_id,
            value=value,
            block_id=block_id,
            action_ts=action_ts,
            selected_user=selected_user,
        )
        return result

    def modals(self, user: str) -> list[dict[str, Any]]:
        """The modals the app opened for this person and they have not sent or closed."""
        result: list[dict[str, Any]] = self._call("modals", user=user)
        return result

    def submit_view(
        self, user: str, values: dict[str, dict[str, str]], view_id: str | None = None
    ) -> dict[str, Any]:
        """Send the person's open modal with these inputs (block id -> action id -> text)."""
        result: dict[str, Any] = self._call("submit_view", user=user, values=values, view_id=view_id)
        return result

    def shortcut(
        self, user: str, channel: str, message_ts: str, callback_id: str, action_ts: str | float | None = None
    ) -> dict[str, Any]:
        """Run a message shortcut on a stored message; returns status, body, action_ts."""
        result: dict[str, Any] = self._call(
            "shortcut",
            user=user,
            channel=channel,
            message_ts=message_ts,
            callback_id=callback_id,
            action_ts=action_ts,
        )
        return result

    def fail_api(
        self, method: str, status: int = 429, times: int = 1, retry_after: int = 1, delay: float = 0.0
    ) -> dict[str, Any]:
        """Make the next ``times`` calls of ``method`` fail with ``status`` (429 carries Retry-After)."""
        result: dict[str, Any] = self._call(
            "fail_api", method=method, status=status, times=times, retry_after=retry_after, delay=delay
        )
        return result

    def open_home(self, user: str) -> dict[str, Any]:
        """Open the app's Home tab as ``user`` (delivers app_home_opened)."""
        result: dict[str, Any] = self._call("open_home", user=user)
        return result

    def files(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Files the bot uploaded, with their text content, optionally for one channel."""
        found: list[dict[str, Any]] = self._call("files", channel=channel)
        return found

    def create_channel(self, user: str, name: str) -> dict[str, Any]:
        """Create a public channel as a person; returns ``{"channel", "event_id", "status"}``."""
        result: dict[str, Any] = self._call("create_channel", user=user, name=name)
        return result

    def set_members(self, channel: str, members: list[str] | None) -> dict[str, Any]:
        """Who is in ``channel`` from now on (None: everyone); the bot is ``UBOT``."""
        result: dict[str, Any] = self._call("set_members", channel=channel, members=members)
        return result

    def home(self, user: str) -> dict[str, Any]:
        """The Home tab view published for ``user``."""
        view: dict[str, Any] = self._call("home", user=user)["view"]
        return view

    def redeliver(self, event_id: str, retry_num: int = 1) -> dict[str, Any]:
        """Resend an earlier event as Slack's retry number ``retry_num``; returns ``{"status"}``."""
        result: dict[str, Any] = self._call("redeliver", event_id=event_id, retry_num=retry_num)
        return result

    def messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Stored messages oldest first (one thread when ``thread_ts`` is given)."""
        result: list[dict[str, Any]] = self._call("messages", channel=channel, thread_ts=thread_ts)
        return result

    def ephemerals(self, user: str) -> list[dict[str, Any]]:
        """Messages shown only to ``user``: ``{"channel", "text", "blocks", "ts"}``."""
        result: list[dict[str, Any]] = self._call("ephemerals", user=user)
        return result

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Web API calls the bot made: ``{"method", "params", "time", "ok", "error"}``."""
        result: list[dict[str, Any]] = self._call("calls", method=method)
        return result

    def wait_for_message(
        self, channel: str, pattern: str, thread_ts: str | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Poll (every 20 ms, real time) until a message's text matches ``pattern``; oldest match wins."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while True:
            seen = self.messages(channel, thread_ts)
            for message in seen:
                if regex.search(message.get("text") or ""):
                    return message
            if time.monotonic() >= deadline:
                texts = [m.get("text") for m in seen]
                raise TimeoutError(
                    f"no message matching {pattern!r} in {channel} within {timeout}s; saw {texts!r}"
                )
            time.sleep(0.02)

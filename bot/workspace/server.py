"""LocalWorkspace: a Slack stand-in on 127.0.0.1 for the demo and the tests.

The bot under test runs unchanged against it (WebClient ``base_url`` = ``api_url``; Bolt
receives signed requests over HTTP or Socket Mode). The aiohttp server runs its own event
loop in a daemon thread so synchronous code (pytest, a demo script) can drive it directly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from aiohttp import web

from bot.workspace.delivery import Deliverer
from bot.workspace.driver import ANSWER_WAIT, Driver, routes
from bot.workspace.errors import DriverError
from bot.workspace.files import FileUploads
from bot.workspace.incoming_webhooks import IncomingWebhooks
from bot.workspace.state import WorkspaceState
from bot.workspace.web_api import ApiCall, WebApi

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_USERS: Mapping[str, str] = {"U1": "alice", "U2": "bob", "UFAC": "carol"}
DEFAULT_CHANNELS: Mapping[str, str] = {"C1": "gameday"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn driver errors into status codes and anything unexpected into a logged 500."""
    try:
        return await handler(request)
    except DriverError as exc:
        return web.json_response({"ok": False, "error": exc.code}, status=exc.status)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("local workspace handler failed: %s %s", request.method, request.path)
        return web.json_response({"ok": False, "error": "internal_error"}, status=500)


class LocalWorkspace:
    """A Slack-compatible workspace on an ephemeral local port."""

    def __init__(
        self,
        signing_secret: str = "local-signing-secret",
        bot_token: str = "xoxb-local",
        app_token: str = "xapp-local",
        clock: Callable[[], float] = time.time,
        users: Mapping[str, str] | None = None,
        channels: Mapping[str, str] | None = None,
        delivery_timeout: float = 3.0,
        usergroups: Mapping[str, list[str]] | None = None,
        members: Mapping[str, Sequence[str]] | None = None,
        private_channels: Collection[str] = (),
    ) -> None:
        """``members`` lists who is in a channel (the bot as ``UBOT``); a channel not listed has everyone.
        ``private_channels`` are hidden from the bot when it is not in them, like Slack's."""
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.app_token = app_token
        self.state = WorkspaceState(
            clock,
            DEFAULT_USERS if users is None else users,
            DEFAULT_CHANNELS if channels is None else channels,
            members,
            private_channels,
        )
        self.state.usergroups.update({k: list(v) for k, v in (usergroups or {}).items()})
        self.calls: list[ApiCall] = []
        self.deliverer = Deliverer(signing_secret, delivery_timeout)
        self.driver = Driver(self.state, self.deliverer, lambda: self.base_url, self.calls)
        self.web_api = WebApi(
            self.state, bot_token, app_token, lambda: self.socket_url, self.driver.announce, self.calls
        )
        self.driver.api_faults = self.web_api.faults
        self.uploads = FileUploads(self.state, lambda: self.base_url, self.driver.announce)
        self.webhooks = IncomingWebhooks(self.driver)  # other apps' posts (Alertmanager's Slack notifier)
        self.web_api.uploads = self.uploads
        self.driver.uploads = self.uploads
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ----- addresses --------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("LocalWorkspace is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What WebClient's ``base_url`` (SLACK_API_URL) is set to."""
        return f"{self.base_url}/api/"

    @property
    def socket_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket"

    @property
    def request_url(self) -> str | None:
        """HTTP-mode delivery target (the bot's ``/slack/events``); settable any time."""
        return self.deliverer.request_url

    @request_url.setter
    def request_url(self, url: str | None) -> None:
        self.deliverer.request_url = url

    @property
    def socket_clients(self) -> int:
        """Open Socket Mode connections; while any is open, deliveries go over it, not HTTP."""
        return self.deliverer.socket_clients

    def activity(self) -> tuple[int, int, int]:
        """Web API calls so far, deliveries queued, deliveries handled: a change, or a queued delivery
        not handled yet, means the app is at work (read across threads; a stale read only delays)."""
        return len(self.calls), self.deliverer.queued, self.deliverer.answered

    # ----- lifecycle --------------------------------------------------------------------
    def start(self) -> LocalWorkspace:
        """Bind 127.0.0.1:0 and return once listening."""
        if self._thread is not None:
            raise RuntimeError("LocalWorkspace already started")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="local-workspace", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._startup(), loop).result(timeout=10)
        except BaseException:
            self._halt_loop()
            raise
        log.info("local workspace listening on %s", self.base_url)
        return self

    async def _startup(self) -> None:
        app = web.Application(middlewares=[error_middleware])
        app.router.add_route("*", "/api/{method}", self.web_api.handle)
        app.router.add_get("/socket", self.deliverer.handle_socket)
        app.router.add_post("/_upload/{file_id}", self.uploads.receive)
        app.router.add_post("/services/{team}/{bot}/{secret}", self.webhooks.receive)
        app.router.add_routes(routes(self.driver))
        app.on_shutdown.append(self.deliverer.close_sockets)
        await self.deliverer.start()  # before listening, so no request finds it missing
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await self.deliverer.stop()

    def stop(self) -> None:
        """Close sockets and connections, stop the loop thread. Safe to call twice."""
        if self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=15)
        except Exception:
            log.exception("local workspace did not shut down cleanly")
        finally:
            self._halt_loop()

    def _halt_loop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        if loop is not None and not loop.is_running():
            loop.close()
        self._loop, self._thread, self._runner = None, None, None

    def __enter__(self) -> LocalWorkspace:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ----- in-process driver (same semantics as /_workspace/<action>) -------------------
    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        loop = self._loop
        if loop is None:
            coroutine.close()
            raise RuntimeError("LocalWorkspace is not started")
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("synchronous LocalWorkspace methods cannot run on its own loop")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=timeout)

    def slash(
        self, user: str, command: str, text: str = "", channel: str = "C1", answer_wait: float = ANSWER_WAIT
    ) -> dict[str, Any]:
        return self._run(self.driver.slash(user, command, text, channel, answer_wait), 60.0 + answer_wait)

    def post(
        self,
        user: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        ts: str | float | None = None,
        deliver_after: float = 0.0,
    ) -> dict[str, Any]:
        return self._run(
            self.driver.post(user, channel, text, thread_ts, ts, deliver_after), 60.0 + deliver_after
        )

    def react(
        self, user: str, channel: str, ts: str, name: str, event_ts: str | float | None = None
    ) -> dict[str, Any]:
        return self._run(self.driver.react(user, channel, ts, name, event_ts))

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
        return self._run(
            self.driver.click(user, channel, message_ts, action_id, value, block_id, action_ts, selected_user)
        )

    def redeliver(self, event_id: str, retry_num: int = 1) -> dict[str, Any]:
        return self._run(self.driver.redeliver(event_id, retry_num))

    def messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        return self._run(self.driver.messages(channel, thread_ts))

    def incoming_webhook(self, channel: str, app: str) -> str:
        """The URL another app (``app``) posts into ``channel`` with, as with Slack's incoming webhooks."""
        return self.base_url + self.webhooks.add(channel, app)

    def set_members(self, channel: str, members: list[str] | None) -> dict[str, Any]:
        return self._run(self.driver.set_members(channel, members))

    def ephemerals(self, user: str) -> list[dict[str, Any]]:
        return self._run(self.driver.ephemerals(user))

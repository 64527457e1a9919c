"""Getting requests to the app: Slack's signing, HTTP delivery, and Socket Mode envelopes.

Every delivery goes through one ordered queue served by a single worker, so the app sees
events in the order the workspace produced them (the bot's own message events included),
which keeps tests deterministic. Callers that need the app's answer await the future the
queue hands back; fire-and-forget callers (chat.postMessage) simply don't.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.workspace.state import APP_ID

log = logging.getLogger(__name__)

Kind = Literal["events_api", "slash_commands", "interactive"]
RESIGN_AFTER_SECONDS = 240
"""Bolt rejects timestamps older than 5 minutes; older deliveries get re-signed on redelivery."""


@dataclass(frozen=True)
class Delivery:
    """One signed request to the app; kept so an event can be redelivered byte-identically."""

    kind: Kind
    payload: dict[str, Any]
    body: bytes
    content_type: str
    timestamp: int
    signature: str
    event_id: str | None = None


@dataclass
class DeliveryResult:
    """What the app answered: HTTP status (0 if nothing answered) and the parsed body."""

    status: int
    body: Any
    via: Literal["http", "socket", "none"]
    error: str | None = None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Slack's v0 signature of ``v0:{timestamp}:{body}``."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    if signature is None:  # only when the secret is empty
        raise ValueError("signing secret must not be empty")
    return signature


def build_delivery(kind: Kind, payload: dict[str, Any], secret: str) -> Delivery:
    """Serialize a payload the way Slack does for its kind and sign it with real wall-clock time."""
    if kind == "events_api":
        body = json.dumps(payload).encode()
        content_type = "application/json"
    elif kind == "slash_commands":
        body = urlencode(payload).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        content_type = "application/x-www-form-urlencoded"
    timestamp = int(time.time())
    return Delivery(
        kind, payload, body, content_type, timestamp, sign(secret, timestamp, body), payload.get("event_id")
    )


def parse_body(text: str, content_type: str) -> Any:
    """The app's response body: JSON when it is JSON, otherwise the text itself."""
    stripped = text.strip()
    if "json" in content_type or stripped.startswith(("{", "[")):
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    return text


class Deliverer:
    """Owns the delivery queue, the HTTP client session, and the Socket Mode connections."""

    def __init__(self, signing_secret: str, timeout: float = 3.0) -> None:
        self.signing_secret = signing_secret
        self.timeout = timeout
        self.request_url: str | None = None  # several, separated by spaces, are used in turn
        self._turn = -1
        self.sent: dict[str, Delivery] = {}
        self._queue: asyncio.Queue[tuple[Delivery, int, asyncio.Future[DeliveryResult]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[Any]] = {}
        self.queued = 0  # deliveries put in the queue so far
        self.answered = 0  # ... and handled (answered, failed or dropped)

    # ----- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Create loop-bound resources; must run on the workspace loop."""
        self._queue = asyncio.Queue()
        self._session = aiohttp.ClientSession()
        self._worker = asyncio.create_task(self._work(), name="workspace-delivery")

    async def close_sockets(self, _app: web.Application | None = None) -> None:
        """Close every Socket Mode connection (an aiohttp on_shutdown hook)."""
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"server shutdown")

    async def stop(self) -> None:
        """Stop the worker, fail pending deliveries, and close the client session."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        while self._queue is not None and not self._queue.empty():
            _, _, future = self._queue.get_nowait()
            if not future.done():
                future.set_result(DeliveryResult(0, None, "none", "workspace_stopped"))
        if self._session is not None:
            await self._session.close()

    # ----- queue ------------------------------------------------------------------------
    def enqueue(self, delivery: Delivery, retry_num: int = 0) -> asyncio.Future[DeliveryResult]:
        """Queue a delivery; the returned future resolves once the app answered (or didn't)."""
        if self._queue is None:
            raise RuntimeError("deliverer not started")
        if delivery.event_id is not None:
            self.sent[delivery.event_id] = delivery
        future: asyncio.Future[DeliveryResult] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((delivery, retry_num, future))
        self.queued += 1
        return future

    def redeliver(self, event_id: str, retry_num: int) -> asyncio.Future[DeliveryResult]:
        """Queue an earlier event again, as Slack's retry: same body, retry headers added."""
        delivery = self.sent[event_id]
        if time.time() - delivery.timestamp > RESIGN_AFTER_SECONDS:
            now = int(time.time())
            delivery = replace(
                delivery, timestamp=now, signature=sign(self.signing_secret, now, delivery.body)
            )
        return self.enqueue(delivery, retry_num)

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            delivery, retry_num, future = await self._queue.get()
            try:
                result = await self._send(delivery, retry_num)
            except asyncio.CancelledError:  # stopping: don't leave a synchronous caller hanging
                if not future.done():
                    future.set_result(DeliveryResult(0, None, "none", "workspace_stopped"))
                raise
            except Exception as exc:  # a broken delivery must never kill the worker
                log.exception("delivery of %s failed", delivery.kind)
                result = DeliveryResult(0, None, "none", f"internal_error: {exc}")
            self.answered += 1
            if not future.done():
                future.set_result(result)

    async def _send(self, delivery: Delivery, retry_num: int) -> DeliveryResult:
        socket = self._live_socket()
        if socket is not None:
            return await self._send_socket(socket, delivery, retry_num)
        if self.request_url:
            # several replicas behind one URL: "a b" takes turns, as a load balancer would
            urls = self.request_url.split()
            self._turn = (self._turn + 1) % len(urls)
            return await self._send_http(urls[self._turn], delivery, retry_num)
        log.info("dropping %s delivery: no socket client and no request_url", delivery.kind)
        return DeliveryResult(0, None, "none", "no_receiver")

    # ----- HTTP mode --------------------------------------------------------------------
    async def _send_http(self, url: str, delivery: Delivery, retry_num: int) -> DeliveryResult:
        assert self._session is not None
        headers = {
            "Content-Type": delivery.content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(delivery.timestamp),
            "X-Slack-Signature": delivery.signature,
        }
        if retry_num > 0:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        try:
            async with self._session.post(
                url, data=delivery.body, headers=headers, timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as response:
                text = await response.text()
                return DeliveryResult(response.status, parse_body(text, response.content_type), "http")
        except TimeoutError:
            log.warning("app did not answer a %s delivery within %.1fs", delivery.kind, self.timeout)
            return DeliveryResult(0, None, "http", "http_timeout")
        except aiohttp.ClientError as exc:
            log.warning("could not deliver %s to %s: %s", delivery.kind, url, exc)
            return DeliveryResult(0, None, "http", f"connection_failed: {exc}")

    # ----- Socket Mode ------------------------------------------------------------------
    @property
    def socket_clients(self) -> int:
        """How many Socket Mode connections are open (deliveries use them instead of HTTP)."""
        return sum(1 for ws in self._sockets if not ws.closed)

    def _live_socket(self) -> web.WebSocketResponse | None:
        """One open connection, taking turns; Slack also sends each envelope to a single one."""
        live = [ws for ws in self._sockets if not ws.closed]
        if not live:
            return None
        self._turn = (self._turn + 1) % len(live)
        return live[self._turn]

    async def _send_socket(
        self, ws: web.WebSocketResponse, delivery: Delivery, retry_num: int
    ) -> DeliveryResult:
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": delivery.kind,
            "payload": delivery.payload,
            "accepts_response_payload": delivery.kind != "events_api",
            "retry_attempt": retry_num,
            "retry_reason": "http_timeout" if retry_num else "",
        }
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = ack
        try:
            await ws.send_str(json.dumps(envelope))
            payload = await asyncio.wait_for(ack, timeout=self.timeout)
        except TimeoutError:
            log.warning("socket client did not ack a %s envelope within %.1fs", delivery.kind, self.timeout)
            return DeliveryResult(0, None, "socket", "ack_timeout")
        except (ConnectionError, RuntimeError) as exc:
            return DeliveryResult(0, None, "socket", f"connection_failed: {exc}")
        finally:
            self._acks.pop(envelope_id, None)
        return DeliveryResult(200, payload if payload is not None else "", "socket")

    async def handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        """The ``/socket`` endpoint: greet with ``hello``, then collect envelope acks."""
        ws = web.WebSocketResponse(timeout=1.0)
        await ws.prepare(request)
        self._sockets.append(ws)
        try:
            await ws.send_str(json.dumps(self._hello()))
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._on_ack(message.data)
                elif message.type == aiohttp.WSMsgType.ERROR:
                    log.warning("socket connection error: %s", ws.exception())
        finally:
            self._sockets.remove(ws)
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": self.socket_clients,
            "debug_info": {
                "host": "local-workspace",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": APP_ID},
        }

    def _on_ack(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            log.warning("ignoring non-JSON socket frame: %.200s", data)
            return
        if not isinstance(message, dict):
            return
        ack = self._acks.get(str(message.get("envelope_id")))
        if ack is not None and not ack.done():
            ack.set_result(message.get("payload"))

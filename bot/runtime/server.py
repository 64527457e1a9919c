"""The bot's front door: HTTP mode (POST /slack/events, GET /healthz) or Socket Mode.

What answers on the HTTP port depends on the mode, and nothing else is served:

- HTTP mode: ``POST /slack/events`` (Slack's signed requests), ``GET /healthz``, ``GET /readyz``,
  ``GET /metrics``, ``POST /hooks/...`` (alert webhooks, authenticated by their own secret),
  ``GET /debriefs/<id>`` (a hosted debrief, for the holder of a signed link who may see it),
  ``GET /calendar.ics`` (the booked game days, for the holder of SCE_CALENDAR_TOKEN; off without it),
  ``GET /report`` (the programme report, for the holder of SCE_REPORT_TOKEN; off without it),
  ``POST /halt`` (the halt lever, for the holder of SCE_HALT_TOKEN; off without it).
- Socket Mode: the same without ``/slack/events``. Slack payloads arrive only over the socket the bot
  opened itself; a Slack payload posted to the port is answered 404 however it is signed, so nobody
  who reaches the port can act as a Slack user.

Every request to ``/slack/events`` is checked here before Bolt sees it: a body of at most 1 MiB, the
``X-Slack-Signature`` of ``v0:{timestamp}:{body}`` with the signing secret, a timestamp within 5
minutes of this server's clock (401 otherwise), a signature not seen before (a replay is answered
200 and has no effect), and a ``trigger_id`` not seen before. Bolt checks the signature again. A signed
message event the bot never acts on (a bot's post, an edit: ``bot/slack/inert.py``) is answered 200
before the replay guard and Bolt.

The trigger_id tells a redelivery from a person doing it again: Slack gives every slash command, button
click and shortcut a new one, so the same trigger_id in a request signed at another time is the same
invocation sent again (a proxy's retry, a re-sent envelope) and has no second effect, while `/sce note x`
typed twice is two notes.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIApplication

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from waitress.server import create_server

from bot.runtime.observability import metrics_wsgi, readiness
from bot.runtime.replay_guard import WINDOW_SECONDS, ReplayGuard, expires_at, request_key
from bot.slack.inert import sort_request

log = logging.getLogger(__name__)
SLACK_PATH = "/slack/events"
MAX_SLACK_BODY_BYTES = 1024 * 1024
WRONG_SECRET_HINT = " (when every request from Slack is refused, SLACK_SIGNING_SECRET is not this app's)"


def _answer(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _refuse(
    environ: dict[str, Any], start_response: StartResponse, reason: str, hint: str = ""
) -> list[bytes]:
    """401, and a warning with the reason and the peer's address: never the body, which is not Slack's."""
    peer = environ.get("REMOTE_ADDR", "?")
    log.warning("refused a request to %s from %s: %s%s", SLACK_PATH, peer, reason, hint)
    return _answer(start_response, "401 Unauthorized", reason)


class _NoBodyInTheLog(logging.Filter):
    """Bolt logs a request it finds unsigned at INFO with the whole body; the door has said why already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Invalid request signature detected")


logging.getLogger("slack_bolt.RequestVerification").addFilter(_NoBodyInTheLog())


class SlackDoor:
    """``POST /slack/events``: authenticated, within its window, once; then Bolt."""

    def __init__(
        self,
        app: App,
        signing_secret: str,
        replay: ReplayGuard,
        clock: Callable[[], float] = time.time,
        watched: Callable[[], Collection[str]] = frozenset,
        keyed_replay: ReplayGuard | None = None,
        take_reply: Callable[[dict[str, Any]], bool] | None = None,
    ):
        self._watched = watched  # channels whose messages, other apps' too, are read as alerts
        self._bolt = SlackRequestHandler(app, path=SLACK_PATH)
        self._verifier = SignatureVerifier(signing_secret)
        self._replay = replay
        self._keyed_replay = keyed_replay or replay  # messages and reactions (bot/slack/inert.py)
        self._take_reply = take_reply  # a person's reply in a known game-day thread (bot/slack/reply_door.py)
        self._clock = clock

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, "405 Method Not Allowed", "Slack requests are POSTs")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _answer(start_response, "400 Bad Request", "Content-Length must be a number")
        if length > MAX_SLACK_BODY_BYTES:
            return _answer(start_response, "413 Content Too Large", "a Slack request is at most 1 MiB")
        body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
        timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")).strip()
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE", "")).strip()
        now = self._clock()
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return _refuse(environ, start_response, "invalid request timestamp")
        if abs(now - int(timestamp)) > WINDOW_SECONDS:
            return _refuse(environ, start_response, "request timestamp outside 5 minutes")
        if not self._verifier.is_valid(body, timestamp, signature):
            return _refuse(environ, start_response, "invalid request signature", WRONG_SECRET_HINT)
        door, event = sort_request(body, self._watched)
        if door == "inert":  # an edit, or a bot's post where no alert is read
            return _answer(start_response, "200 OK", "")
        replay = self._keyed_replay if door == "keyed" else self._replay
        if not replay.first_time(request_key("slack", signature), expires_at(int(timestamp), now), now):
            log.info(
                "a signed Slack request arrived again (retry %s); it has no second effect",
                environ.get("HTTP_X_SLACK_RETRY_NUM", "none"),
            )
            return _answer(start_response, "200 OK", "")
        trigger = trigger_id(body)
        if trigger and not self._replay.first_time(
            request_key("slack-trigger", trigger), expires_at(int(timestamp), now), now
        ):
            log.info("a Slack interaction arrived again under a new signature; it has no second effect")
            return _answer(start_response, "200 OK", "")
        if door == "keyed" and event is not None and self._took_reply(event):
            return _answer(start_response, "200 OK", "")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self._bolt(environ, start_response)

    def _took_reply(self, event: dict[str, Any]) -> bool:
        """The reply taken at the door; a failure there leaves it to Bolt's listener, never a 500."""
        if self._take_reply is None:
            return False
        try:
            return self._take_reply(event)
        except Exception:
            log.exception("a thread reply could not be taken at the door; Bolt's listener takes it")
            return False


def trigger_id(body: bytes) -> str | None:
    """The trigger_id of a slash command (a form field) or an interaction (in its ``payload`` JSON);
    None for events, which carry none and are deduplicated by what they are about."""
    if body.lstrip().startswith(b"{"):  # an event's JSON: a message's text must never pose as a field
        return None
    try:
        form = parse_qs(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if "trigger_id" in form:
        return form["trigger_id"][0] or None
    if "payload" not in form:
        return None
    try:
        payload = json.loads(form["payload"][0])
    except ValueError:
        return None
    found = payload.get("trigger_id") if isinstance(payload, dict) else None
    return found if isinstance(found, str) and found else None


def wsgi_app(
    slack: WSGIApplication | None,
    health: Callable[[], bool],
    hooks: WSGIApplication | None = None,
    ready: Callable[[], bool] | None = None,
    debriefs: WSGIApplication | None = None,
    calendar: WSGIApplication | None = None,
    report: WSGIApplication | None = None,
    halt: WSGIApplication | None = None,
) -> WSGIApplication:
    """The routes; ``slack`` is None in Socket Mode, where no Slack payload is taken over HTTP."""
    metrics = metrics_wsgi()
    readyz = readiness(ready or health)

    def route(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            ok = health()
            body = json.dumps({"ok": ok}).encode()
            start_response(
                "200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")]
            )
            return [body]
        if path == SLACK_PATH and slack is not None:
            return slack(environ, start_response)
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/readyz":
            return readyz(environ, start_response)
        if hooks is not None and path.startswith("/hooks/"):
            return hooks(environ, start_response)
        if debriefs is not None and path.startswith("/debriefs/"):
            return debriefs(environ, start_response)
        if calendar is not None and path == "/calendar.ics":
            return calendar(environ, start_response)
        if report is not None and path == "/report":
            return report(environ, start_response)
        if halt is not None and path == "/halt":
            return halt(environ, start_response)
        return _answer(start_response, "404 Not Found", "not found")

    return route


class HttpServer:
    """Waitress in a thread; port 0 picks a free port (tests, the demo)."""

    def __init__(
        self,
        slack: WSGIApplication | None,
        host: str,
        port: int,
        health: Callable[[], bool] = lambda: True,
        hooks: WSGIApplication | None = None,
        ready: Callable[[], bool] | None = None,
        debriefs: WSGIApplication | None = None,
        calendar: WSGIApplication | None = None,
        report: WSGIApplication | None = None,
        halt: WSGIApplication | None = None,
    ):
        if isinstance(slack, App):
            raise TypeError("HttpServer takes the Slack door (slack_over_http), never the bare Bolt app")
        self._server = create_server(
            wsgi_app(slack, health, hooks, ready, debriefs, calendar, report, halt),
            host=host,
            port=port,
            threads=8,
            ident="sce",
        )
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sce-http", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError:
            # stop() closes the sockets from another thread: the loop's select may then see a closed
            # descriptor (EBADF). That is the stop, not a failure; before a stop it is one.
            if not self._stopping.is_set():
                raise

    def serve_forever(self) -> None:
        self._server.run()

    def stop(self) -> None:
        self._stopping.set()
        self._server.close()


def socket_mode_handler(app: App, app_token: str) -> SocketModeHandler:
    return SocketModeHandler(app, app_token=app_token)

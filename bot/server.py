"""The bot's front door: HTTP mode (POST /slack/events, GET /healthz) or Socket Mode."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

from bot.observability import metrics_wsgi, readiness

log = logging.getLogger(__name__)
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def wsgi_app(
    app: App,
    health: Callable[[], bool],
    hooks: WsgiApp | None = None,
    ready: Callable[[], bool] | None = None,
) -> WsgiApp:
    slack = SlackRequestHandler(app, path="/slack/events")
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
        if path == "/slack/events":
            if not str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "0")).strip().isdigit():
                start_response("401 Unauthorized", [("Content-Type", "text/plain")])
                return [b"invalid request timestamp"]  # Bolt would raise on it: refuse it here
            return slack(environ, start_response)
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/readyz":
            return readyz(environ, start_response)
        if hooks is not None and path.startswith("/hooks/"):
            return hooks(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return route


class HttpServer:
    """Waitress in a thread; port 0 picks a free port (tests, the demo)."""

    def __init__(
        self,
        app: App,
        host: str,
        port: int,
        health: Callable[[], bool] = lambda: True,
        hooks: WsgiApp | None = None,
        ready: Callable[[], bool] | None = None,
    ):
        self._server = create_server(
            wsgi_app(app, health, hooks, ready), host=host, port=port, threads=8, ident="sce"
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.run, name="sce-http", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self._server.run()

    def stop(self) -> None:
        self._server.close()


def socket_mode_handler(app: App, app_token: str) -> SocketModeHandler:
    return SocketModeHandler(app, app_token=app_token)

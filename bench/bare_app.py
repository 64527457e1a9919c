"""The baseline: a bare Bolt app that only acknowledges, served the way `sce serve` serves the bot.

Same Bolt settings as bot/slack/app.py (signed requests checked, ack before the listener runs), the same
WebClient settings as bot.runtime.service.slack_client, and waitress with the parameters
bot/runtime/server.py gives it (8 threads) behind Bolt's WSGI adapter. It imports nothing of the bot, so its
size and speed are Bolt's and waitress's alone. GET /hooks/count tells how many message events its listener
has run.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from waitress.server import create_server

StartResponse = Callable[..., Any]
THREADS = 8  # as bot/runtime/server.py


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def increment(self) -> None:
        with self._lock:
            self.value += 1


def bare_app(token: str, secret: str, api_url: str, counter: Counter) -> App:
    client = WebClient(token=token, base_url=api_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=5))
    app = App(
        client=client,
        signing_secret=secret,
        process_before_response=False,
        token_verification_enabled=False,
        request_verification_enabled=True,
    )

    @app.command("/sce")
    def sce(ack: Ack) -> None:
        ack()

    @app.event("message")
    def on_message(event: dict[str, Any]) -> None:
        counter.increment()

    return app


def main() -> None:
    counter = Counter()
    api_url = os.environ["SLACK_API_URL"]
    app = bare_app(
        os.environ["SLACK_BOT_TOKEN"],
        os.environ["SLACK_SIGNING_SECRET"],
        api_url if api_url.endswith("/") else api_url + "/",
        counter,
    )
    slack = SlackRequestHandler(app, path="/slack/events")

    def route(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/slack/events":
            return slack(environ, start_response)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"ok": True, "count": counter.value}).encode()]

    server = create_server(
        route, host="127.0.0.1", port=int(os.environ["PORT"]), threads=THREADS, ident="sce"
    )
    server.run()


if __name__ == "__main__":
    main()

"""A local HTTP server that answers like Prometheus' range query endpoint, for what a real Prometheus
cannot be made to do on demand (answer an error, garbage, too much, or too slowly).

Shapes from Prometheus' published HTTP API document (https://prometheus.io/docs/prometheus/latest/querying/
api/, "Format overview" and "Range queries"): ``GET /api/v1/query_range?query=&start=&end=&step=`` answers
``{"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {<label>: <value>},
"values": [[<unix time>, "<sample value>"], ...]}]}}``; sample values are strings, "NaN", "+Inf" and "-Inf"
included; an invalid request answers ``{"status": "error", "errorType": "<string>", "error": "<string>"}``
with 400 (parameters missing or incorrect), 422 (the expression cannot be executed) or 503 (timeout or
abort).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def matrix(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> dict[str, Any]:
    """A successful range answer holding ``series`` (labels, [(time, value text)])."""
    result = [{"metric": labels, "values": [[t, v] for t, v in points]} for labels, points in series]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def error(error_type: str, text: str) -> dict[str, Any]:
    return {"status": "error", "errorType": error_type, "error": text}


class FakePrometheus:
    """Answers each ``/api/v1/query_range`` with ``answer(params)`` -> (status, body bytes or JSON value);
    keeps every request's parameters in ``asked``."""

    def __init__(self) -> None:
        self.asked: list[dict[str, str]] = []
        self.delay = 0.0
        self.answer: Callable[[dict[str, str]], tuple[int, object]] = lambda params: (200, matrix())
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlsplit(self.path)
                if url.path != "/api/v1/query_range":
                    self.send_error(404)
                    return
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.asked.append(params)
                time.sleep(fake.delay)
                status, body = fake.answer(params)
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:  # the client gave up (a timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""A small Loki for tests: ``GET /loki/api/v1/query_range`` over real HTTP on 127.0.0.1, following Grafana
Loki's published HTTP API document ("Query logs within a range of time",
docs/sources/reference/loki-http-api.md in grafana/loki):

- parameters ``query`` (LogQL), ``limit`` (default 100), ``start`` (nanosecond Unix epoch, entries with a
  timestamp greater than or equal to it), ``end`` (entries lower than it), ``direction`` (``forward`` or
  ``backward``, default backward);
- answer ``{"status": "success", "data": {"resultType": "streams", "result": [{"stream": {labels},
  "values": [["<ns>", "<line>"], ...]}], "stats": {}}}``, values sorted by time, oldest first when forward.

It checks what the bot sends (every parameter present, start and end nanosecond integers, start < end,
direction forward) and answers 400 with a plain-text reason otherwise, as Loki does; ``problems`` keeps
those reasons for the test. Only stream selectors of ``label="value"`` pairs are understood.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_PAIR = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"\s*')


def selector(query: str) -> dict[str, str] | None:
    """The label pairs of ``{a="b", c="d"}`` (anything after the braces, a pipeline, is ignored)."""
    match = re.match(r"\s*\{([^}]*)\}", query)
    if match is None:
        return None
    pairs = [_PAIR.fullmatch(part) for part in match[1].split(",") if part.strip()]
    if not pairs or any(pair is None for pair in pairs):
        return None
    return {pair[1]: pair[2] for pair in pairs if pair is not None}


class LokiTestServer:
    def __init__(self) -> None:
        self.entries: list[tuple[int, dict[str, str], str]] = []  # (ns, labels, line)
        self.requests: list[dict[str, str]] = []
        self.problems: list[str] = []
        self.status: int | None = None  # answer every query with this status instead
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                status, body = server.answer(parts.path, params)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def push(self, ns: int, labels: dict[str, str], line: str) -> None:
        with self._lock:
            self.entries.append((ns, labels, line))

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if path != "/loki/api/v1/query_range":
            return 404, b"404 page not found\n"
        with self._lock:
            self.requests.append(params)
        problem = self._check(params)
        if problem:
            self.problems.append(problem)
            return 400, problem.encode()
        if self.status is not None:
            return self.status, b"unavailable\n"
        labels = selector(params["query"])
        if labels is None:
            return 400, b"parse error : syntax error: unexpected IDENTIFIER\n"
        start, end, limit = int(params["start"]), int(params["end"]), int(params["limit"])
        with self._lock:
            found = sorted(
                (e for e in self.entries if start <= e[0] < end and labels.items() <= e[1].items()),
                key=lambda e: e[0],
            )[:limit]
        streams: dict[str, dict[str, Any]] = {}
        for ns, stream, line in found:
            key = json.dumps(stream, sort_keys=True)
            streams.setdefault(key, {"stream": stream, "values": []})["values"].append([str(ns), line])
        data = {"resultType": "streams", "result": list(streams.values()), "stats": {}}
        return 200, {"status": "success", "data": data}

    @staticmethod
    def _check(params: dict[str, str]) -> str | None:
        for name in ("query", "start", "end", "limit", "direction"):
            if name not in params:
                return f"missing parameter {name}"
        for name in ("start", "end", "limit"):
            if not params[name].isdigit():
                return f"invalid parameter {name}: {params[name]!r} is not an integer"
        if len(params["start"]) < 19 or len(params["end"]) < 19:
            return "start and end must be nanosecond Unix epochs"
        if int(params["start"]) >= int(params["end"]):
            return "the end timestamp must not be before or equal to the start time"
        if params["direction"] != "forward":
            return f"direction {params['direction']!r}: the bot reads forward"
        return None

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

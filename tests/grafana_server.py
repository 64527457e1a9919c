"""A local Grafana that follows Grafana's published HTTP API for annotations, for tests.

Built from Grafana's own OpenAPI description (``public/openapi3.json`` of grafana/grafana, the part
vendored in ``tests/data/grafana/annotations-openapi.json``): ``POST /api/annotations`` (operation
``postAnnotation``) and ``GET /api/annotations`` (``getAnnotations``). Every request body is checked
against the operation's schema (``PostAnnotationsCmd``) with jsonschema, and every answer against the
document's response schema before it is sent (``postAnnotationResponse``, ``getAnnotationsResponse``,
``ErrorResponseBody``). Authentication is a service account's token: ``Authorization: Bearer <token>``,
else 401. ``mode`` makes it fail as a real one can: ``"500"`` answers every call with an internal error,
``"slow"`` answers after ``delay`` seconds.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema

DOCUMENT = json.loads((Path(__file__).parent / "data" / "grafana" / "annotations-openapi.json").read_text())


def schema(ref: str) -> dict[str, Any]:
    """A schema of the document by its ``$ref``, with the components it refers to resolvable."""
    return {"$ref": ref, "components": DOCUMENT["components"]}


def response_schema(name: str) -> dict[str, Any]:
    content = DOCUMENT["components"]["responses"][name]["content"]["application/json"]["schema"]
    return {**content, "components": DOCUMENT["components"]}


POST_OPERATION = DOCUMENT["paths"]["/annotations"]["post"]
POST_BODY = schema(POST_OPERATION["requestBody"]["content"]["application/json"]["schema"]["$ref"])
KNOWN_FIELDS = set(DOCUMENT["components"]["schemas"]["PostAnnotationsCmd"]["properties"])
ERROR = schema("#/components/schemas/ErrorResponseBody")


class LocalGrafana:
    def __init__(self, token: str, mode: str = "ok", delay: float = 0.0):
        self.token = token
        self.mode = mode
        self.delay = delay
        self.annotations: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []  # every request: method, path, authorization, body
        self.refused: list[str] = []  # why each refused body was refused (schema errors)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> LocalGrafana:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def posts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["method"] == "POST"]

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], body: object
    ) -> tuple[int, object]:
        if path != "/api/annotations":
            return 404, {"message": "Not found"}
        if self.mode == "500":
            return 500, {"message": "Failed to save annotation"}
        if method == "GET":
            return 200, self._find(query)
        if not isinstance(body, dict):
            return 400, {"message": "bad request data"}
        try:
            jsonschema.validate(body, POST_BODY)
        except jsonschema.ValidationError as exc:
            self.refused.append(exc.message)
            return 400, {"message": "bad request data"}
        unknown = set(body) - KNOWN_FIELDS
        if unknown:
            self.refused.append(f"fields the document does not have: {sorted(unknown)}")
            return 400, {"message": "bad request data"}
        with self._lock:
            annotation = {**body, "id": len(self.annotations) + 1}
            self.annotations.append(annotation)
        return 200, {"id": annotation["id"], "message": "Annotation added"}

    def _find(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        wanted = set(query.get("tags", []))
        limit = int(query.get("limit", ["100"])[0])
        with self._lock:
            found = [a for a in self.annotations if wanted <= set(a.get("tags", []))]
        fields = DOCUMENT["components"]["schemas"]["Annotation"]["properties"]
        return [{k: v for k, v in a.items() if k in fields} for a in found[:limit]]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        grafana = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                authorization = self.headers.get("Authorization")
                with grafana._lock:
                    grafana.requests.append(
                        {
                            "method": self.command,
                            "path": parts.path,
                            "authorization": authorization,
                            "body": body,
                        }
                    )
                if grafana.mode == "slow":
                    time.sleep(grafana.delay)
                answer: object
                if authorization != f"Bearer {grafana.token}":
                    status, answer = 401, {"message": "Unauthorized"}
                else:
                    status, answer = grafana._answer(self.command, parts.path, parse_qs(parts.query), body)
                if status >= 400:
                    jsonschema.validate(answer, ERROR)
                elif self.command == "POST":
                    jsonschema.validate(answer, response_schema("postAnnotationResponse"))
                else:
                    jsonschema.validate(answer, response_schema("getAnnotationsResponse"))
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (a timeout): nothing to answer to
                    pass

            do_GET = _serve
            do_POST = _serve

        return Handler

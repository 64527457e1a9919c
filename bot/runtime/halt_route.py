"""``POST /halt``: an incident tool pulls the halt lever (bot/runtime/halting.py) over HTTP.

Off unless ``SCE_HALT_TOKEN`` is set (404, as for any path that is not served). With it, only
``Authorization: Bearer <token>`` is taken (never a token in the address: addresses are logged), compared
in constant time; anything else is 401. The body is JSON, at most ``MAX_BODY`` bytes:
``{"reason": "...", "by": "..."}`` (``by`` optional: who pulled it, shown as text). Pulling twice is
harmless: the halt in force is kept, and whatever still runs is stopped again. Lifting is not offered
here: an admin lifts it in Slack (`/sce unhalt`), where the person is known.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication

from bot.runtime.halting import HaltLever

PATH = "/halt"
MAX_BODY = 8 * 1024
MAX_TOKEN_CHARS = 1024
MAX_BY_CHARS = 64


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    start_response(status, [*headers, ("Cache-Control", "no-store")])
    return [data]


def _authorized(environ: dict[str, Any], token: str) -> bool:
    scheme, _, presented = str(environ.get("HTTP_AUTHORIZATION", "")).strip().partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented or len(presented) > MAX_TOKEN_CHARS:
        return False
    return hmac.compare_digest(presented.encode(), token.encode())


def _printable(text: str, limit: int) -> str:
    return "".join(c for c in text if c.isprintable())[:limit]


def halt_app(token: str | None, lever: HaltLever | None) -> WSGIApplication | None:
    """The route, or None (404 everywhere) without a token or a lever."""
    if not token or lever is None:
        return None
    secret, halts = token, lever

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _json(start_response, "405 Method Not Allowed", {"error": "POST only"})
        if not _authorized(environ, secret):
            asked = {"error": "Authorization: Bearer <SCE_HALT_TOKEN>"}
            return _json(start_response, "401 Unauthorized", asked)
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return _json(start_response, "411 Length Required", {"error": "a Content-Length is needed"})
        if length > MAX_BODY or length < 0:
            return _json(start_response, "413 Content Too Large", {"error": f"at most {MAX_BODY} bytes"})
        try:
            body = json.loads(environ["wsgi.input"].read(length) or b"null")
        except (ValueError, UnicodeDecodeError):
            return _json(start_response, "400 Bad Request", {"error": "the body must be JSON"})
        reason = body.get("reason") if isinstance(body, dict) else None
        by = body.get("by", "http") if isinstance(body, dict) else None
        if not isinstance(reason, str) or not reason.strip() or not isinstance(by, str):
            return _json(
                start_response,
                "400 Bad Request",
                {"error": 'send {"reason": "why every game day stops", "by": "who (optional)"}'},
            )
        pulled = halts.pull(_printable(by, MAX_BY_CHARS) or "http", reason, "http")
        return _json(
            start_response,
            "200 OK",
            {
                "halted": True,
                "new": pulled.new,
                "since": pulled.halt.halted_at,
                "reason": pulled.halt.reason,
                "stopped": list(pulled.aborted),
            },
        )

    return app

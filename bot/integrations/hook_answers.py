"""What a signed webhook of another tool answers (the ticket trackers', PagerDuty's): the statuses, one
sentence per refusal raised as ``HookAnswer``, and the HMAC-SHA256 both vendors sign bodies with."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

STATUS = {
    200: "200 OK",
    202: "202 Accepted",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    411: "411 Length Required",
    413: "413 Content Too Large",
    503: "503 Service Unavailable",
}


class HookAnswer(Exception):
    """The answer to send now: a status of ``STATUS`` and its sentence."""

    def __init__(self, status: int, sentence: str):
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence


def hmac_sha256(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``body`` with ``secret``: what GitHub, Jira and PagerDuty sign with."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def read_body(environ: dict[str, Any], limit: int, too_large: str, length_required: bool = False) -> bytes:
    """The request's body, at most ``limit`` bytes: 413 with ``too_large`` beyond, 411 without a
    Content-Length where one is required, 400 for one that is not a number. Nothing is read before."""
    given = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not given and length_required:
        raise HookAnswer(411, "A Content-Length is needed.")
    try:
        length = int(given or 0)
    except ValueError:
        raise HookAnswer(400, "Content-Length must be a number of bytes.") from None
    if length < 0 or length > limit:
        raise HookAnswer(413, too_large)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    return body

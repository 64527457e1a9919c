"""What a signed webhook of another tool answers (the ticket trackers', PagerDuty's): the statuses, one
sentence per refusal raised as ``HookAnswer``, and the HMAC-SHA256 both vendors sign bodies with."""

from __future__ import annotations

import hashlib
import hmac

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

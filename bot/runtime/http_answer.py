"""One plain HTTP answer of the pages `sce serve` hosts (the calendar feed, the programme report, the
debrief pages): the body with its length, the page's own headers, and Allow / WWW-Authenticate when a
refusal needs them."""

from __future__ import annotations

from collections.abc import Sequence
from wsgiref.types import StartResponse


def answer(
    start_response: StartResponse,
    status: str,
    body: bytes,
    content_type: str = "text/plain; charset=utf-8",
    allow: str | None = None,
    www_authenticate: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
) -> list[bytes]:
    sent = [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]
    if allow:
        sent.append(("Allow", allow))
    if www_authenticate:
        sent.append(("WWW-Authenticate", www_authenticate))
    start_response(status, sent)
    return [body]

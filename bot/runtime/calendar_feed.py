"""``GET /calendar.ics``: every booked game day as an RFC 5545 feed, for calendar applications.

Off unless ``SCE_CALENDAR_TOKEN`` is set (404, as for any path that is not served). With it, the token is
asked for as ``Authorization: Bearer <token>`` or, for calendar applications that take only an address,
``?token=<token>``; anything else is 401. The comparison takes the same time whatever the guess. The
feed names the scenarios and channels of every booking, so its token is an admin's (SECURITY.md).
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIApplication

from bot.debrief.calendar_file import calendar_for
from bot.runtime.http_answer import answer
from bot.runtime.service import Services

log = logging.getLogger(__name__)
_answer = functools.partial(
    answer, headers=(("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"))
)
PATH = "/calendar.ics"
MAX_TOKEN_CHARS = 1024  # a longer one is no token of ours; never compared


def presented_token(environ: dict[str, Any]) -> str | None:
    """The token the request carries (header first, then the query), or None for none or an ambiguous one."""
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    if header:
        scheme, _, value = header.strip().partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True).get("token", [])
    return query[0] if len(query) == 1 and query[0] else None


def token_matches(presented: str | None, token: str) -> bool:
    """Whether the presented token is ours, in the same time whatever the guess (a long one never is)."""
    if presented is None or len(presented) > MAX_TOKEN_CHARS:
        return False
    return hmac.compare_digest(presented.encode(), token.encode())


def calendar_feed(token: str | None, calendar: Callable[[], bytes]) -> WSGIApplication:
    """The route; ``calendar`` writes the feed as it stands at each request."""

    def feed(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not token:
            return _answer(start_response, "404 Not Found", b"not found", "text/plain")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _answer(start_response, "405 Method Not Allowed", b"only GET", "text/plain", allow="GET")
        if not token_matches(presented_token(environ), token):
            log.warning("refused a request to %s from %s: no valid token", PATH, environ.get("REMOTE_ADDR"))
            return _answer(
                start_response,
                "401 Unauthorized",
                b"a token is needed (SCE_CALENDAR_TOKEN)",
                "text/plain",
                www_authenticate='Bearer realm="sce calendar"',
            )
        try:
            body = calendar()
        except Exception:  # the database away: said in the log and to the caller, never a traceback
            log.exception("the calendar feed could not be written")
            return _answer(start_response, "503 Service Unavailable", b"calendar unavailable", "text/plain")
        return _answer(start_response, "200 OK", body, "text/calendar; charset=utf-8")

    return feed


def services_calendar(services: Services) -> WSGIApplication:
    """The feed of `sce serve`: the active bookings as they stand, with SCE_CALENDAR_TOKEN."""
    return calendar_feed(
        services.settings.calendar_token,
        lambda: calendar_for(services.schedules.active(), services.catalog, services.clock.now()),
    )

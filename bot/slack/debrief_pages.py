"""``GET /debriefs/<id>?t=<link token>``: a game day's HTML debrief, for the person its link was made for,
while they may still see the game day's channel.

Whatever is wrong (no token, an expired one, one for another game day or another person, a forged
signature, someone no longer in the channel, an id that does not exist or is no id at all), the answer
is the same 404, so the page tells nobody which game days exist. Only GET is served; the page runs no
script, is never cached, and sends no Referer to the links in it (the token is in its address).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIApplication

from bot.debrief.render import render_debrief
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import GameDayRecord
from bot.gameday.running.engine import build_debrief_for
from bot.gameday.state import Status
from bot.runtime.http_answer import answer
from bot.runtime.service import Services
from bot.slack.debrief_links import PATH, valid_gameday_id
from bot.slack.people import named

log = logging.getLogger(__name__)
SECURITY_HEADERS = [
    # the debrief is one standalone page with inline CSS and nothing else: no script, no asset, no frame
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
]
_answer = functools.partial(answer, headers=SECURITY_HEADERS)
NOT_FOUND = b"not found"


def current_debrief(services: Services, record: GameDayRecord) -> Debrief:
    """The debrief as it stands: a running game day's measured up to now, a finished one's to its end
    (the same as `sce debrief` prints with the bot's token), people by name."""
    events = services.store.events(record.id)
    over = Status(record.status).is_over
    debrief = build_debrief_for(record, events, None if over else services.clock.now())
    return named(debrief, services.announcer.names)


def debrief_pages(services: Services) -> WSGIApplication:
    def page(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET":
            return _answer(start_response, "405 Method Not Allowed", b"only GET", allow="GET")
        html = _html_for(services, str(environ.get("PATH_INFO", "")), str(environ.get("QUERY_STRING", "")))
        if html is None:
            return _answer(start_response, "404 Not Found", NOT_FOUND)
        return _answer(start_response, "200 OK", html.encode(), "text/html; charset=utf-8")

    return page


def _html_for(services: Services, path: str, query: str) -> str | None:
    """The page, or None for every reason there is none (the caller cannot tell them apart)."""
    gameday_id = path[len(PATH) :] if path.startswith(PATH) else ""
    tokens = parse_qs(query, keep_blank_values=True).get("t", [])
    if not valid_gameday_id(gameday_id) or len(tokens) != 1:
        return None
    user = services.links.holder(gameday_id, tokens[0])
    if user is None:
        log.info("a debrief link was refused: not a valid link for that game day")
        return None
    record = services.store.get(gameday_id)
    if record is None or not services.members.may_see(record.channel, user):
        log.info("a debrief link was refused: no such game day, or its holder may no longer see it")
        return None
    return render_debrief(current_debrief(services, record), "html")

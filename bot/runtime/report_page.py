"""``GET /report[?since=90d]``: the programme report (`sce report --format html`) served by `sce serve`.

Off unless ``SCE_REPORT_TOKEN`` is set (404, as for any path that is not served). With it, the token is
asked for exactly as the calendar feed asks for its own (``Authorization: Bearer <token>`` or
``?token=<token>``, compared in constant time; anything else is 401): the page shows every scenario's
timings, coverage and findings counts across every channel, so its token is an admin's (SECURITY.md).

A window that is not one (or several) is 400 with one sentence saying what a window looks like. The page
is built outside every game day's lock (it reads the kept summaries and the findings) and kept for
``CACHE_SECONDS`` per window, one build at a time: a storm of reloads waits for the one build instead of
each starting its own.
It runs no script and loads nothing (the debrief pages' Content-Security-Policy) and is never cached by
the browser.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIApplication

from bot.debrief.programme import render_report
from bot.gameday.programme.compute import (
    DEFAULT_DECAY_DAYS,
    DEFAULT_REPEAT_DAYS,
    DEFAULT_SINCE_DAYS,
    BadSince,
    parse_since,
)
from bot.runtime.calendar_feed import presented_token, token_matches
from bot.runtime.http_answer import answer
from bot.runtime.programme import report_from
from bot.runtime.service import Services
from bot.slack.debrief_pages import SECURITY_HEADERS

log = logging.getLogger(__name__)
_answer = functools.partial(answer, headers=SECURITY_HEADERS)
PATH = "/report"
CACHE_SECONDS = 60.0
BAD_SINCE = b"?since= is not a window; write one, like 90d, 365d or 12w (at most 99999 days or weeks)."
CACHE_WINDOWS = 8  # windows kept at once: a caller cycling through ?since= values cannot grow memory

Build = Callable[[float, float], bytes]  # (now, window in days) -> the page


class ReportPage:
    """The route; ``build`` writes the page as of ``now`` for a window, ``now`` is the bot's clock."""

    def __init__(self, token: str | None, build: Build, now: Callable[[], float]):
        self.token = token
        self.build = build
        self.now = now
        self._pages: OrderedDict[float, tuple[float, bytes]] = OrderedDict()  # window -> (built at, page)
        self._building = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not self.token:
            return _answer(start_response, "404 Not Found", b"not found")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _answer(start_response, "405 Method Not Allowed", b"only GET", allow="GET")
        if not token_matches(presented_token(environ), self.token):
            log.warning("refused a request to %s from %s: no valid token", PATH, environ.get("REMOTE_ADDR"))
            return _answer(
                start_response,
                "401 Unauthorized",
                b"a token is needed (SCE_REPORT_TOKEN)",
                www_authenticate='Bearer realm="sce report"',
            )
        asked = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True).get("since", [])
        try:
            if len(asked) > 1:
                raise BadSince("several windows")
            since_days = parse_since(asked[0]) if asked and asked[0] else float(DEFAULT_SINCE_DAYS)
        except BadSince:  # the sentence does not repeat what was sent: nothing of the caller's is echoed
            return _answer(start_response, "400 Bad Request", BAD_SINCE)
        try:
            page = self.page(since_days)
        except Exception:  # the database away: said in the log and to the caller, never a traceback
            log.exception("the programme report could not be built")
            return _answer(start_response, "503 Service Unavailable", b"report unavailable")
        return _answer(start_response, "200 OK", page, "text/html; charset=utf-8")

    def page(self, since_days: float) -> bytes:
        """The window's page: the one kept if built less than CACHE_SECONDS ago, else built now."""
        with self._building:
            now = self.now()
            kept = self._pages.get(since_days)
            if kept is not None and 0 <= now - kept[0] < CACHE_SECONDS:
                return kept[1]
            page = self.build(now, since_days)
            self._pages[since_days] = (now, page)
            self._pages.move_to_end(since_days)
            while len(self._pages) > CACHE_WINDOWS:
                self._pages.popitem(last=False)
            return page


def services_report(services: Services) -> WSGIApplication:
    """The page of `sce serve`, with SCE_REPORT_TOKEN: the report over the bot's own store and catalog."""

    def build(now: float, since_days: float) -> bytes:
        report = report_from(
            services.store, services.catalog, now, since_days, DEFAULT_DECAY_DAYS, DEFAULT_REPEAT_DAYS
        )
        return render_report(report, "html").encode()

    return ReportPage(services.settings.report_token, build, services.clock.now)

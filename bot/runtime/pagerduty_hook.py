"""``POST /hooks/pagerduty``: a real incident opened in PagerDuty halts every game day (the halt lever,
bot/runtime/halting.py), so no exercise goes on breaking things while people fight a real fire.

PagerDuty v3 webhooks (a webhook subscription; PagerDuty's developer docs, "Webhooks v3 Overview" and
"Verifying Signatures"). Off unless ``SCE_PAGERDUTY_WEBHOOK_SECRET`` (the subscription's secret) is set:
404, as for any path not served. With it:

- ``X-PagerDuty-Signature`` holds one or more comma-separated ``v1=<hex HMAC-SHA256 of the raw body>``
  (several while PagerDuty rotates the secret): one must match, compared in constant time; else 401.
- The body is at most ``MAX_BODY_BYTES`` (413), JSON (400), one ``event`` object.
- Only ``incident.triggered`` halts. Not an incident of ours: a drill page's title starts with
  ``[GAME DAY]`` (bot/integrations/pagerduty.py), a failure incident's with ``[NOT A DRILL] sce:``
  (bot/integrations/failure_pager.py); anything else is answered 202 and changes nothing.
- The halt's reason is the incident's number and title, made printable and bounded (the lever escapes it
  wherever Slack shows it); who pulled it is ``pagerduty``, its source ``pagerduty``.
- Replays: v3 signs no timestamp, so a delivery is remembered for ``REMEMBER_SECONDS`` by its signature and
  by its event id: a second arrival is answered 200 and pulls nothing (a halt pulled twice would change
  nothing anyway, but an incident resolved and a halt lifted must not be brought back by a replay).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication

from bot.integrations.failure_pager import TITLE_PREFIX as FAILURE_TITLE
from bot.integrations.hook_answers import STATUS as _STATUS
from bot.integrations.hook_answers import HookAnswer as _Answer
from bot.integrations.hook_answers import hmac_sha256, read_body
from bot.integrations.pagerduty import EXERCISE
from bot.runtime.halting import HaltLever
from bot.runtime.replay_guard import ReplayGuard, request_key

log = logging.getLogger(__name__)
PATH = "/hooks/pagerduty"
MAX_BODY_BYTES = 256 * 1024
MAX_SIGNATURES = 10
MAX_HEADER_CHARS = 2048
MAX_TITLE_CHARS = 300
REMEMBER_SECONDS = 2 * 86400
SOURCE = "pagerduty"
HALTING_EVENT = "incident.triggered"
ALREADY_TAKEN = "This delivery was already received; nothing was done again."


def signature(secret: str, body: bytes) -> str:
    """``v1=<hex>``: what PagerDuty sends for ``body`` signed with ``secret``."""
    return "v1=" + hmac_sha256(secret, body)


def _printable(text: object, limit: int) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())[:limit]


def _verified(header: str, secret: str, body: bytes) -> str:
    """The signature that matched; 401 with the sentence otherwise."""
    if not header.strip():
        raise _Answer(401, "This webhook needs the X-PagerDuty-Signature header (the subscription's secret).")
    if len(header) > MAX_HEADER_CHARS:
        raise _Answer(401, "X-PagerDuty-Signature is too long to be PagerDuty's.")
    expected = signature(secret, body).encode()
    given = [part.strip() for part in header.split(",")][:MAX_SIGNATURES]
    matched = False
    for part in given:  # every one compared, so the time taken does not say which one matched
        matched |= hmac.compare_digest(part.encode("latin-1", "replace"), expected)
    if not matched:
        raise _Answer(
            401, "X-PagerDuty-Signature does not match the body: check SCE_PAGERDUTY_WEBHOOK_SECRET."
        )
    return expected.decode()


def _event(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Answer(400, "The body is not JSON (UTF-8).") from None
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict):
        raise _Answer(400, 'A PagerDuty v3 webhook carries one "event" object.')
    return event


def ours(incident: dict[str, Any]) -> str | None:
    """Why an incident is one of ours (a drill page, or our own failure incident), or None."""
    title = str(incident.get("title") or "").lstrip()
    key = str(incident.get("incident_key") or "")
    if title.startswith(EXERCISE):
        return "a game day's drill page"
    if title.startswith(FAILURE_TITLE) or key.startswith("sce-failure-"):
        return "the bot's own failure incident"
    if key.startswith("sce-"):
        return "a game day's drill page"
    return None


def halt_reason(incident: dict[str, Any]) -> str:
    """The halt's reason: the incident's number and title, printable and bounded."""
    number = incident.get("number")
    shown = f"#{number}" if isinstance(number, int) and not isinstance(number, bool) else ""
    ident = _printable(incident.get("id") or "", 40)
    title = _printable(incident.get("title") or "untitled", MAX_TITLE_CHARS)
    return f"PagerDuty incident {shown or ident} triggered: {title}".replace("  ", " ")


def pagerduty_hook(
    secret: str | None, lever: HaltLever | None, replay: ReplayGuard, clock: Callable[[], float]
) -> WSGIApplication | None:
    """The route, or None (404) without a secret or a lever. ``clock``: the wall clock (replay windows)."""
    if not secret or lever is None:
        return None
    key, halts = secret, lever

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise _Answer(405, "PagerDuty webhooks take POST.")
            too_large = f"PagerDuty webhooks are at most {MAX_BODY_BYTES} bytes here."
            body = read_body(environ, MAX_BODY_BYTES, too_large, length_required=True)
            matched = _verified(str(environ.get("HTTP_X_PAGERDUTY_SIGNATURE", "")), key, body)
            event = _event(body)
            kind = _printable(event.get("event_type") or "", 60)
            incident = event.get("data")
            if kind != HALTING_EVENT or not isinstance(incident, dict):
                raise _Answer(202, f"{kind or 'an unnamed'} events halt nothing; ignored.")
            why_ours = ours(incident)
            if why_ours is not None:
                raise _Answer(202, f"This incident is {why_ours}, not a real one; nothing is halted.")
            if not _first_time(replay, matched, _printable(event.get("id") or "", 100), clock()):
                return _reply(start_response, 200, {"ok": True, "result": ALREADY_TAKEN})
            pulled = halts.pull(SOURCE, halt_reason(incident), SOURCE)
        except _Answer as answer:
            if answer.status == 401:
                log.warning("refused a request to %s from %s: %s", PATH, environ.get("REMOTE_ADDR"), answer)
            field = "ignored" if answer.status == 202 else "error"
            return _reply(start_response, answer.status, {"ok": answer.status < 400, field: answer.sentence})
        except Exception:  # the database away: said in the log and to PagerDuty (which retries)
            log.exception("a PagerDuty webhook could not pull the halt lever")
            return _reply(start_response, 503, {"ok": False, "error": "The halt could not be recorded."})
        log.warning("PagerDuty halted every game day: %s", pulled.halt.reason)
        result = {"ok": True, "halted": True, "new": pulled.new, "stopped": list(pulled.aborted)}
        return _reply(start_response, 200, result)

    return app


def _first_time(replay: ReplayGuard, matched: str, event_id: str, now: float) -> bool:
    """Whether neither this delivery's signed body nor its event id was taken before (both remembered)."""
    until = now + REMEMBER_SECONDS
    by_body = replay.first_time(request_key("pagerduty-body", matched), until, now)
    by_id = replay.first_time(request_key("pagerduty-id", event_id), until, now) if event_id else True
    return by_body and by_id


def _reply(start_response: StartResponse, status: int, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        _STATUS[status], [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def with_pagerduty_hook(others: WSGIApplication, hook: WSGIApplication | None) -> WSGIApplication:
    """Every ``/hooks/...`` path: ``/hooks/pagerduty`` is this one's (404 when off), the rest the others'."""

    def route(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") != PATH:
            return others(environ, start_response)
        if hook is None:
            return _reply(start_response, 404, {"ok": False, "error": "not found"})
        return hook(environ, start_response)

    return route

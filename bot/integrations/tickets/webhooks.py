"""``POST /hooks/github`` and ``POST /hooks/jira``: a ticket closed in the tracker moves its finding to
``fixed`` at once (the ten-minute poller stays as the fallback for a webhook that never arrives).

Authentication, with ``SCE_TICKETS_WEBHOOK_SECRET`` (the same secret set on the tracker's webhook):

- GitHub signs the raw body: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``.
- Jira Cloud admin webhooks with a secret sign it the same way in ``X-Hub-Signature: sha256=<hex>``.

Without the secret, or when SCE_TICKETS names the other tracker (or none), the path is not served
(404). A missing or wrong signature, or another scheme (``sha1=``), is 401; a body over 1 MiB 413;
a body that is not JSON 400. Only the repository or project in SCE_TICKETS counts, and only an issue
that is a finding's ticket (found by the reference stored when it was opened); anything else is
answered 202 and changes nothing.

Replays: neither vendor signs a timestamp, so a delivery is remembered for ``REMEMBER_SECONDS`` (GitHub
lets a delivery be redelivered for three days) by its id (``X-GitHub-Delivery``,
``X-Atlassian-Webhook-Identifier``) and by its signature (the same body under a new id is the same
event): a second arrival is answered 200 and has no effect. A delivery that failed on our side (the
database away: 503) is not taken again either; the poller moves the finding within ten minutes.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication

from bot.gameday.findings.model import FindingState
from bot.gameday.findings.transitions import as_of
from bot.integrations.hook_answers import STATUS as _STATUS
from bot.integrations.hook_answers import HookAnswer as _Answer
from bot.integrations.hook_answers import hmac_sha256, read_body
from bot.integrations.tickets.news import Applied, apply_news
from bot.integrations.tickets.webhook_events import (
    BadPayload,
    Ignored,
    github_news,
    jira_news,
    jira_project_of,
)
from bot.runtime.replay_guard import ReplayGuard, request_key
from storage.finding_store import FindingStore

log = logging.getLogger(__name__)
GITHUB_PATH = "/hooks/github"
JIRA_PATH = "/hooks/jira"
PATHS = (GITHUB_PATH, JIRA_PATH)
MAX_BODY_BYTES = 1024 * 1024
TOO_LARGE = "The body is too large; ticket webhooks take at most 1 MiB."
REMEMBER_SECONDS = 4 * 86400
"""How long a delivery is remembered: GitHub's three days of redelivery, and a day more."""
MAX_ID_CHARS = 200
_TRACKER = {GITHUB_PATH: "github", JIRA_PATH: "jira"}
_SIGNATURE_HEADER = {GITHUB_PATH: "HTTP_X_HUB_SIGNATURE_256", JIRA_PATH: "HTTP_X_HUB_SIGNATURE"}
_SHOWN_HEADER = {GITHUB_PATH: "X-Hub-Signature-256", JIRA_PATH: "X-Hub-Signature"}
_DELIVERY_HEADER = {GITHUB_PATH: "HTTP_X_GITHUB_DELIVERY", JIRA_PATH: "HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER"}
ALREADY_TAKEN = "This delivery was already received; nothing was done again."


def body_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: the value GitHub and Jira send for ``body`` signed with ``secret``."""
    return "sha256=" + hmac_sha256(secret, body)


def ticket_hooks(
    tickets: str | None,
    secret: str | None,
    store: FindingStore,
    replay: ReplayGuard,
    clock: Callable[[], float],
) -> WSGIApplication:
    """The WSGI application for both paths. ``tickets`` is SCE_TICKETS (``github:owner/repo`` or
    ``jira:KEY``); ``clock`` the wall clock (when a finding was fixed, and the replay window)."""
    kind, _, target = (tickets or "").partition(":")

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        try:
            if path not in PATHS or not secret or _TRACKER[path] != kind or not target:
                raise _Answer(404, "not found")
            if environ.get("REQUEST_METHOD") != "POST":
                raise _Answer(405, "Ticket webhooks take POST.")
            body = read_body(environ, MAX_BODY_BYTES, TOO_LARGE)
            signature = _check_signature(environ, path, body, secret)
            payload = _json(body)
            if path == GITHUB_PATH:
                event = str(environ.get("HTTP_X_GITHUB_EVENT", ""))
                if event == "ping":
                    return _reply(start_response, 200, {"ok": True, "result": "pong"})
                if event != "issues":
                    raise _Answer(202, f"{event[:40] or 'an unnamed'} events change no finding; ignored.")
            now = clock()
            if not _first_time(replay, environ, path, signature, now):
                return _reply(start_response, 200, {"ok": True, "result": ALREADY_TAKEN})
            applied = _apply(path, payload, target, store, now)
        except _Answer as answer:
            if answer.status == 401:
                log.warning("refused a request to %s from %s: %s", path, environ.get("REMOTE_ADDR"), answer)
            key = "ignored" if answer.status == 202 else "error"
            return _reply(start_response, answer.status, {"ok": answer.status < 400, key: answer.sentence})
        except Exception:  # the database away: said in the log and to the caller, never a traceback
            log.exception("a ticket webhook to %s could not be applied", path)
            return _reply(start_response, 503, {"ok": False, "error": "The finding could not be updated."})
        if applied is None:
            return _reply(start_response, 202, {"ok": True, "ignored": "That issue is no finding's ticket."})
        log.info("ticket webhook: %s", applied.sentence)
        result = {"ok": True, "changed": applied.changed, "result": applied.sentence}
        return _reply(start_response, 200, result)

    return app


def _apply(path: str, payload: Any, target: str, store: FindingStore, now: float) -> Applied | None:
    try:
        if path == GITHUB_PATH:
            return apply_news(store, github_news(payload, target), now)
        kind = payload.get("webhookEvent") if isinstance(payload, dict) else None
        if kind != "jira:issue_updated":
            raise Ignored(f"{str(kind)[:60]} events change no finding")
        project = jira_project_of(payload)
        if project != target:
            raise Ignored(f"{project} is not the project in SCE_TICKETS")
        finding = store.by_ticket(str(payload["issue"]["key"]))
        if finding is None:
            return None
        fixed_now = as_of(finding, now).state is FindingState.FIXED
        return apply_news(store, jira_news(payload, target, fixed_now), now)
    except Ignored as exc:
        raise _Answer(202, f"{str(exc)[0].upper()}{str(exc)[1:]}; ignored.") from None
    except BadPayload as exc:
        raise _Answer(400, str(exc)) from None


def _check_signature(environ: dict[str, Any], path: str, body: bytes, secret: str) -> str:
    """The request's signature once it matches; 401 with the sentence otherwise."""
    header = _SHOWN_HEADER[path]
    given = str(environ.get(_SIGNATURE_HEADER[path], "")).strip()
    if not given:
        raise _Answer(401, f"This webhook needs the {header} header (set the webhook's secret).")
    if not given.startswith("sha256="):
        raise _Answer(401, f"{header} must be sha256=<hex>; other schemes are not taken.")
    expected = body_signature(secret, body)
    if not hmac.compare_digest(given.lower().encode("latin-1", "replace"), expected.encode()):
        raise _Answer(401, f"{header} does not match the body: check SCE_TICKETS_WEBHOOK_SECRET.")
    return expected


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Answer(400, "The body is not JSON (UTF-8); set the webhook's content type to JSON.") from None


def _first_time(replay: ReplayGuard, environ: dict[str, Any], path: str, signature: str, now: float) -> bool:
    """Whether neither this delivery's id nor its signed body was taken before (both are remembered)."""
    until = now + REMEMBER_SECONDS
    delivery = str(environ.get(_DELIVERY_HEADER[path], "")).strip()[:MAX_ID_CHARS]
    by_body = replay.first_time(request_key(f"ticket-body{path}", signature), until, now)
    by_id = replay.first_time(request_key(f"ticket-id{path}", delivery), until, now) if delivery else True
    return by_body and by_id


def _reply(start_response: StartResponse, status: int, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(_STATUS[status], headers)
    return [body]


def with_ticket_hooks(alerts: WSGIApplication, tickets: WSGIApplication) -> WSGIApplication:
    """Every ``/hooks/...`` path: the ticket webhooks' own, the alert webhooks' the rest."""

    def route(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in PATHS:
            return tickets(environ, start_response)
        return alerts(environ, start_response)

    return route

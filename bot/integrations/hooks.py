"""The HTTP edge for alert webhooks: ``POST /hooks/alertmanager`` and ``POST /hooks/alert``.

Authentication, with the shared secret ``SCE_ALERT_WEBHOOK_SECRET``:

- **Signed requests** (both paths): header ``X-SCE-Timestamp`` is the sender's Unix time in whole
  seconds, and ``X-SCE-Signature`` is ``sha256=`` followed by the lowercase hex HMAC-SHA256, keyed with
  the secret, of the bytes ``v1:{timestamp}:{raw body}``. A timestamp more than 5 minutes away from
  this server's clock is refused, so a captured request cannot be replayed later::

      ts=$(date +%s); body='{"name": "DNS beacon", "text": "query for sce-gd-1a2b3c4d.sink.example"}'
      sig=$(printf 'v1:%s:%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$SCE_ALERT_WEBHOOK_SECRET" -r)
      curl -H "X-SCE-Timestamp: $ts" -H "X-SCE-Signature: sha256=${sig%% *}" -d "$body" \\
           https://sce.example/hooks/alert

- **Bearer token** (``/hooks/alertmanager`` only): Alertmanager's ``http_config`` can send
  ``Authorization: Bearer <secret>`` but cannot sign a body, so its receiver sets
  ``http_config: {authorization: {credentials: <secret>}}``. Serve it over TLS.

Without a secret configured every request gets 503; a request failing authentication gets 401 and is
not read further. Bodies are at most 1 MiB (413). A payload the parsers refuse gets 400 with their
sentence. On success the reply is ``{"ok": true, "results": [...]}``, the sentences ``on_alert``
returned for each alert in turn. Replies are JSON, with a sentence in ``error`` when not ok; never a
traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication

from bot.gameday.measuring.alerts import Alert, AlertError, parse_alertmanager, parse_simple_alert
from bot.runtime.replay_guard import ReplayGuard, expires_at, request_key

log = logging.getLogger(__name__)

ALERTMANAGER_PATH = "/hooks/alertmanager"
ALERT_PATH = "/hooks/alert"
MAX_BODY_BYTES = 1024 * 1024
MAX_CLOCK_SKEW_SECONDS = 5 * 60
ALREADY_TAKEN = "This signed request was already received; nothing was done again."

_STATUS = {
    200: "200 OK",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Content Too Large",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}


class _Refusal(Exception):
    def __init__(self, status: int, sentence: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence
        self.headers = headers or []


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-SCE-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds, as sent)."""
    message = b"v1:" + timestamp.encode("ascii") + b":" + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison; WSGI header strings are latin-1, so any header value encodes."""
    return hmac.compare_digest(given.encode("latin-1", "replace"), expected.encode("latin-1", "replace"))


def _check_signature(environ: dict[str, Any], body: bytes, secret: str, now: float) -> None:
    given = environ.get("HTTP_X_SCE_SIGNATURE", "").strip()
    timestamp = environ.get("HTTP_X_SCE_TIMESTAMP", "").strip()
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise _Refusal(401, "X-SCE-Timestamp must be the sending time in whole Unix seconds.")
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        raise _Refusal(
            401, "X-SCE-Timestamp is more than 5 minutes from this server's clock; sign at send time."
        )
    if not _same(given.lower(), signature(secret, timestamp, body)):
        raise _Refusal(
            401, "X-SCE-Signature does not match: sign v1:{timestamp}:{body} with HMAC-SHA256 and the secret."
        )


def _authenticate(environ: dict[str, Any], path: str, body: bytes, secret: str, now: float) -> str | None:
    """The signature of a signed request, None for a bearer token, or a 401; a bearer token is only good
    for Alertmanager, which cannot sign."""
    signed = "HTTP_X_SCE_SIGNATURE" in environ or "HTTP_X_SCE_TIMESTAMP" in environ
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if path == ALERTMANAGER_PATH and not signed and authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not _same(token.strip(), secret):
            raise _Refusal(401, "The bearer token is not the alert webhook secret.")
        return None
    if not signed:
        accepted = "X-SCE-Timestamp and X-SCE-Signature headers"
        if path == ALERTMANAGER_PATH:
            accepted += ", or Authorization: Bearer <secret>"
        raise _Refusal(401, f"This webhook needs {accepted}.")
    _check_signature(environ, body, secret, now)
    return str(environ.get("HTTP_X_SCE_SIGNATURE", "")).strip().lower()


def _challenge(path: str) -> list[tuple[str, str]]:
    scheme = "Bearer" if path == ALERTMANAGER_PATH else "SCE-Signature"
    return [("WWW-Authenticate", f'{scheme} realm="sce-hooks"')]


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise _Refusal(400, "Content-Length must be a number of bytes.") from None
    if length > MAX_BODY_BYTES:
        raise _Refusal(413, f"The body is {length} bytes; alert webhooks take at most 1 MiB.")
    body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    return body


def _parse(path: str, body: bytes, received_at: float) -> list[Alert]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Refusal(400, "The body is not JSON (UTF-8).") from None
    try:
        if path == ALERTMANAGER_PATH:
            return parse_alertmanager(payload)
        return [parse_simple_alert(payload, received_at)]
    except AlertError as exc:
        raise _Refusal(400, str(exc)) from None


def hooks_app(
    on_alert: Callable[[Alert], list[str]],
    secret: str | None,
    clock: Callable[[], float],
    replay: ReplayGuard | None = None,
) -> WSGIApplication:
    """The WSGI application for both webhook paths; mount it for every path under ``/hooks/``.

    ``clock`` must be the wall clock (``time.time``): senders stamp requests with theirs. It is also
    the ``received_at`` of a simple alert without ``at``. ``on_alert`` runs once per alert, in order,
    and returns sentences for the reply. With ``replay``, a signed request sent again within its
    5-minute window is answered 200 and has no second effect.
    """

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        try:
            if path not in (ALERTMANAGER_PATH, ALERT_PATH):
                raise _Refusal(404, f"No webhook at {path[:80]}; use {ALERTMANAGER_PATH} or {ALERT_PATH}.")
            if environ.get("REQUEST_METHOD") != "POST":
                raise _Refusal(405, "Alert webhooks take POST.", [("Allow", "POST")])
            if not secret:
                raise _Refusal(503, "Alert webhooks are off: set SCE_ALERT_WEBHOOK_SECRET to turn them on.")
            body = _read_body(environ)
            now = clock()
            signed = _authenticate(environ, path, body, secret, now)
            if signed and replay is not None:
                stamp = int(environ["HTTP_X_SCE_TIMESTAMP"].strip())
                if not replay.first_time(request_key("hook", signed), expires_at(stamp, now), now):
                    return _reply(start_response, 200, {"ok": True, "results": [ALREADY_TAKEN]})
            alerts = _parse(path, body, now)
            results = _deliver(alerts, on_alert)
        except _Refusal as refusal:
            if refusal.status == 401:
                refusal.headers.extend(_challenge(path))
            return _reply(
                start_response, refusal.status, {"ok": False, "error": refusal.sentence}, refusal.headers
            )
        return _reply(start_response, 200, {"ok": True, "results": results})

    return app


def _deliver(alerts: list[Alert], on_alert: Callable[[Alert], list[str]]) -> list[str]:
    results: list[str] = []
    for alert in alerts:
        try:
            results.extend(on_alert(alert))
        except Exception:  # the sender retries on 5xx; deliveries already recorded are deduplicated
            log.exception("could not process alert %s from %s", alert.name, alert.source)
            raise _Refusal(500, "The alert arrived but could not be processed; see the bot's log.") from None
    return results


def _reply(
    start_response: StartResponse,
    status: int,
    payload: dict[str, Any],
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        _STATUS[status],
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *(headers or [])],
    )
    return [body]

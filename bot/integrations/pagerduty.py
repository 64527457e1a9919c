"""PagerDuty: real pages beside the Slack mention (Events API v2), and who is on call (REST API).

Every event carries the dedup key ``sce-<game day>-<page>``: a page triggered twice (a step replayed
after a crash) stays one PagerDuty alert, and the resolve sent when the game day ends finds it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import requests

from bot.gameday.measuring.redaction import redact
from bot.gameday.running.outbound import OutboundRequest

log = logging.getLogger(__name__)

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"  # PAGERDUTY_EVENTS_URL
API_URL = "https://api.pagerduty.com"  # PAGERDUTY_API_URL
SEVERITIES = {"SEV-1": "critical", "SEV-2": "error", "SEV-3": "warning", "SEV-4": "info"}
UNKNOWN_SEVERITY = "error"  # a drill page with a severity of its own still pages like a SEV-2
EXERCISE = "[GAME DAY]"
TIMEOUT = 10.0
ROUTING_KEY_REFERENCE = "${env:PAGERDUTY_ROUTING_KEY}"  # how a dry run shows the key it would send


class PagerDutyError(RuntimeError):
    """PagerDuty refused a request or could not be reached; the message is a sentence for a person."""


def dedup_key(gameday_id: str, page_id: str) -> str:
    return f"sce-{gameday_id}-{page_id}"[:255]


def pagerduty_severity(severity: str) -> str:
    """``SEV-1``..``SEV-4`` (also ``sev2``, ``SEV 3``) to critical, error, warning, info."""
    if severity.lower() in SEVERITIES.values():
        return severity.lower()
    digits = "".join(ch for ch in severity if ch.isdigit())
    return SEVERITIES.get(f"SEV-{digits}", UNKNOWN_SEVERITY)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _retry_after(response: requests.Response | None, attempt: int) -> float:
    header = response.headers.get("Retry-After") if response is not None else None
    if header and header.strip().isdigit():
        return min(float(header), 60.0)
    return min(2.0**attempt, 30.0)


def send_with_retries(
    http: requests.Session,
    method: str,
    url: str,
    attempts: int,
    sleep: Callable[[float], None],
    **kwargs: Any,
) -> requests.Response:
    """The response to the first attempt not answered 429 or 5xx (nor lost); PagerDutyError after that."""
    problem = ""
    for attempt in range(attempts):
        response: requests.Response | None = None
        try:
            response = http.request(method, url, timeout=TIMEOUT, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            problem = f"could not reach {url} ({exc.__class__.__name__})"
        else:
            if response.status_code != 429 and response.status_code < 500:
                return response
            problem = f"{url} answered {response.status_code}"
        if attempt + 1 < attempts:
            sleep(_retry_after(response, attempt))
    raise PagerDutyError(f"PagerDuty {problem}, {attempts} times; giving up.")


class PagerDuty:
    """Events API v2. ``routing_key`` is the default (PAGERDUTY_ROUTING_KEY); a scenario may name its own."""

    def __init__(
        self,
        events_url: str = EVENTS_URL,
        routing_key: str | None = None,
        http: requests.Session | None = None,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.events_url = events_url
        self.routing_key = routing_key
        self.http = http or requests.Session()
        self.attempts = attempts
        self.sleep = sleep

    def trigger(
        self,
        page_id: str,
        gameday_id: str,
        summary: str,
        severity: str,
        source: str,
        *,
        routing_key: str | None = None,
        links: Iterable[tuple[str, str]] = (),
        details: Mapping[str, Any] | None = None,
        at: float | None = None,
        thread_url: str | None = None,
    ) -> str:
        """Page through PagerDuty; returns the dedup key.

        ``links`` are (text, href) pairs (the runbook); ``thread_url``, the game day's Slack thread, is the
        "View in sce" link of the alert; ``at`` the page's time.
        """
        event = self.trigger_event(
            page_id,
            gameday_id,
            summary,
            severity,
            source,
            routing_key=self._key(routing_key),
            links=links,
            details=details,
            at=at,
            thread_url=thread_url,
        )
        answer = self._send(event)
        return str(answer.get("dedup_key") or event["dedup_key"])

    def would_trigger(
        self,
        page_id: str,
        gameday_id: str,
        summary: str,
        severity: str,
        source: str,
        *,
        links: Iterable[tuple[str, str]] = (),
        at: float | None = None,
    ) -> OutboundRequest:
        """The request ``trigger`` would send, for a dry run: the routing key shown as its reference."""
        event = self.trigger_event(
            page_id,
            gameday_id,
            summary,
            severity,
            source,
            routing_key=ROUTING_KEY_REFERENCE,
            links=links,
            at=at,
        )
        return OutboundRequest("POST", self.events_url, {"Content-Type": "application/json"}, json=event)

    def trigger_event(
        self,
        page_id: str,
        gameday_id: str,
        summary: str,
        severity: str,
        source: str,
        *,
        routing_key: str,
        links: Iterable[tuple[str, str]] = (),
        details: Mapping[str, Any] | None = None,
        at: float | None = None,
        thread_url: str | None = None,
    ) -> dict[str, Any]:
        """The Events API v2 trigger of one page."""
        key = dedup_key(gameday_id, page_id)
        summary = redact(summary)  # PagerDuty is one more place people read: no literal credential
        title = summary if summary.startswith(EXERCISE) else f"{EXERCISE} {summary}"
        payload: dict[str, Any] = {
            "summary": title[:1024],
            "source": source or "sce",
            "severity": pagerduty_severity(severity),
            "class": "security game day",
            "group": gameday_id,
            "custom_details": {
                "exercise": "This is a security game day exercise, not a real incident.",
                "gameday_id": gameday_id,
                "page_id": page_id,
                "severity": severity,
                **(details or {}),
            },
        }
        if at is not None:
            payload["timestamp"] = _iso(at)
        return {
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": key,
            "payload": payload,
            "client": "sce game day",
            **({"client_url": thread_url} if thread_url else {}),
            "links": [{"href": redact(href), "text": redact(text)} for text, href in links],
        }

    def resolve(self, dedup_key: str, *, routing_key: str | None = None) -> None:
        self._send({"routing_key": self._key(routing_key), "event_action": "resolve", "dedup_key": dedup_key})

    def resolve_pages(
        self, gameday_id: str, page_ids: Iterable[str], *, routing_key: str | None = None
    ) -> list[str]:
        """Resolve every page of a game day (at its end); returns the dedup keys resolved.

        One that fails does not stop the others; PagerDutyError names those left open.
        """
        resolved, failed = [], []
        for page_id in page_ids:
            key = dedup_key(gameday_id, page_id)
            try:
                self.resolve(key, routing_key=routing_key)
                resolved.append(key)
            except PagerDutyError:
                log.warning("could not resolve PagerDuty alert %s", key, exc_info=True)
                failed.append(key)
        if failed:
            raise PagerDutyError(f"PagerDuty alerts left open: {', '.join(failed)}.")
        return resolved

    def _key(self, routing_key: str | None) -> str:
        key = routing_key or self.routing_key
        if not key:
            raise PagerDutyError("No PagerDuty routing key: set PAGERDUTY_ROUTING_KEY or the scenario's.")
        return key

    def _send(self, event: dict[str, Any]) -> dict[str, Any]:
        response = send_with_retries(
            self.http, "POST", self.events_url, self.attempts, self.sleep, json=event
        )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code != 202:
            reason = answer.get("message") or response.reason
            errors = "; ".join(str(e) for e in answer.get("errors") or [])
            raise PagerDutyError(
                f"PagerDuty refused the {event['event_action']} of {event['dedup_key']}: {reason}"
                + (f" ({errors})" if errors else "")
            )
        return dict(answer) if isinstance(answer, dict) else {}


class OnCall(NamedTuple):
    """Who is on call: each a PagerDuty user's email, or the user id (P...) when the API gives no email."""

    primary: str | None
    secondary: str | None


class OnCallSchedule:
    """Who is on call on a PagerDuty schedule (REST API v2, PAGERDUTY_API_TOKEN)."""

    def __init__(
        self,
        api_url: str = API_URL,
        token: str = "",
        http: requests.Session | None = None,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.http = http or requests.Session()
        self.attempts = attempts
        self.sleep = sleep

    def on_call(self, schedule_id: str, at: float, horizon: float = 14 * 86400) -> OnCall:
        """The primary is the user whose shift on the schedule covers ``at``; the secondary, the next
        different user to take over within ``horizon`` seconds (None when nobody does), matching a
        rotation file's "who is next". Either is None when the schedule has nobody then.
        """
        shifts = sorted(
            (e for e in self._entries(schedule_id, at, at + horizon) if _schedule_id(e) == schedule_id),
            key=lambda e: (_when(e.get("start"), float("-inf")), e.get("escalation_level") or 0),
        )
        current = [e for e in shifts if _when(e.get("start"), float("-inf")) <= at < _when(e.get("end"))]
        primary = _person(current[0]) if current else None
        after = _when(current[0].get("end")) if current else at
        later = (
            _person(e)
            for e in shifts
            if _when(e.get("start"), float("-inf")) >= after and _person(e) != primary
        )
        return OnCall(primary, next(later, None))

    def _entries(self, schedule_id: str, since: float, until: float) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        offset = 0
        for _ in range(50):  # PagerDuty pages its answer (100 entries at most per page)
            params: dict[str, Any] = {
                "schedule_ids[]": [schedule_id],
                "since": _iso(since),
                "until": _iso(until),
                "include[]": ["users"],
                "limit": 100,
                "offset": offset,
            }
            response = send_with_retries(
                self.http,
                "GET",
                f"{self.api_url}/oncalls",
                self.attempts,
                self.sleep,
                params=params,
                headers={
                    "Authorization": f"Token token={self.token}",
                    "Accept": "application/vnd.pagerduty+json;version=2",
                },
            )
            if response.status_code != 200:
                hint = ": check PAGERDUTY_API_TOKEN" if response.status_code in (401, 403) else ""
                raise PagerDutyError(
                    f"PagerDuty did not list the on-calls of schedule {schedule_id} "
                    f"(HTTP {response.status_code}{hint})."
                )
            body = response.json()
            found = body.get("oncalls") or []
            entries.extend(found)
            if not body.get("more") or not found:
                break
            offset += len(found)
        return entries


def _schedule_id(entry: Mapping[str, Any]) -> str | None:
    schedule = entry.get("schedule") or {}
    return schedule.get("id") if isinstance(schedule, dict) else None


def _person(entry: Mapping[str, Any]) -> str | None:
    user = entry.get("user") or {}
    return (user.get("email") or user.get("id")) if isinstance(user, dict) else None


def _when(stamp: str | None, missing: float = float("inf")) -> float:
    """An on-call's start or end; None is an open end (an always-on-call rule)."""
    if not stamp:
        return missing
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()

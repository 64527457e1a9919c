"""Reading alerts from their sources: Alertmanager's webhook (format version 4), a small JSON of our own
(:func:`parse_simple_alert`) and Slack messages in watched channels (:func:`alert_from_slack_message`).

Each becomes an :class:`Alert` whose ``starts_at`` is the source's own time; a payload the bot cannot
read is an :class:`AlertError` of one sentence naming the field.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.gameday.measuring.alert_models import PLAUSIBLE_SECONDS, Alert, AlertError, AlertStatus
from bot.gameday.people.mentions import TEXT_LIMIT

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
# Alertmanager's Slack notifier titles a notification "[FIRING:2] ..." or "[RESOLVED] ..."; PagerDuty's
# and Opsgenie's apps say "Resolved: ..." / "Closed: ..."
RESOLVED_TITLE = re.compile(r"\s*(\[RESOLVED\]|(Resolved|Closed)\s*[:-])", re.IGNORECASE)
_UNIX_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_SIMPLE_FIELDS = frozenset({"name", "at", "labels", "text", "id", "status"})


# -- time -----------------------------------------------------------------------------------------------
def _rfc3339_seconds(text: str, where: str) -> float:
    """Unix seconds of an RFC 3339 time, fraction kept to the nearest float (nanoseconds included).

    ``where`` names the field in the :class:`AlertError` raised for anything else.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise AlertError(f"{where} is not an RFC 3339 time such as 2026-01-02T03:04:05.5Z: {text[:60]!r}.")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    try:  # validates the calendar; a leap second (:60) counts as the next second
        datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError as exc:
        raise AlertError(f"{where} is not a real date and time: {text[:60]!r} ({exc}).") from None
    if second > 60 or int(match.group(10) or 0) > 23 or int(match.group(11) or 0) > 59:
        raise AlertError(f"{where} has an out-of-range second or offset: {text[:60]!r}.")
    offset = 0
    if match.group(9):
        offset = (int(match.group(10)) * 60 + int(match.group(11))) * 60
        offset = -offset if match.group(9) == "-" else offset
    whole = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
    fraction = Decimal(f"0.{match.group(7)}") if match.group(7) else Decimal(0)
    return float(Decimal(whole) + fraction)


def _unix_seconds(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise AlertError(f"{where} must be an RFC 3339 time or Unix seconds, not {_kind(value)}.")
    if isinstance(value, str) and not _UNIX_SECONDS.fullmatch(value):
        return _rfc3339_seconds(value, where)
    try:
        seconds = float(Decimal(value)) if isinstance(value, str) else float(value)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:
        raise AlertError(f"{where} must be a finite, non-negative number of Unix seconds.")
    return seconds


# -- parsing --------------------------------------------------------------------------------------------
def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise AlertError(f"{where} must be a JSON object, not {_kind(value)}.")
    return value


def _text(value: object, where: str, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise AlertError(f"{where} must be a string, not {_kind(value)}.")
    return value


def _string_map(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    mapping = _object(value, where)
    for key, item in mapping.items():
        _text(key, f"a key of {where}")
        _text(item, f"{where}.{key}")
    return dict(mapping)


def _status(value: object, where: str) -> AlertStatus:
    if value == "firing":
        return "firing"
    if value == "resolved":
        return "resolved"
    raise AlertError(f'{where} must be "firing" or "resolved", not {json.dumps(value, default=str)[:40]}.')


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def parse_alertmanager(payload: object) -> list[Alert]:
    """The alerts of one Alertmanager webhook notification (format version 4), in its order.

    Each alert's name is its ``alertname`` label, its text the ``summary`` (else ``description``)
    annotation; Go's zero ``endsAt`` (``0001-01-01T00:00:00Z``) means "not ended" and becomes None.
    """
    body = _object(payload, "The Alertmanager payload")
    version = body.get("version")
    if version is not None and version != "4":
        raise AlertError(
            f"version is {json.dumps(version, default=str)[:20]}; only webhook version 4 is read."
        )
    for name in ("groupLabels", "commonLabels", "commonAnnotations"):
        _string_map(body.get(name), name)
    for name in ("status", "receiver", "groupKey", "externalURL"):
        if body.get(name) is not None:
            _text(body[name], name)
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise AlertError(f"alerts must be a list of alerts, not {_kind(alerts)}.")
    return [_alertmanager_alert(item, f"alerts[{index}]") for index, item in enumerate(alerts)]


def _alertmanager_alert(item: object, where: str) -> Alert:
    alert = _object(item, where)
    labels = _string_map(alert.get("labels"), f"{where}.labels")
    annotations = _string_map(alert.get("annotations"), f"{where}.annotations")
    starts_at = _rfc3339_seconds(_text(alert.get("startsAt"), f"{where}.startsAt"), f"{where}.startsAt")
    ends_at: float | None = None
    if alert.get("endsAt") is not None:
        ends_at = _rfc3339_seconds(_text(alert["endsAt"], f"{where}.endsAt"), f"{where}.endsAt")
        ends_at = ends_at if ends_at > 0 else None
    fingerprint = _text(alert.get("fingerprint"), f"{where}.fingerprint", default="") or _digest(labels)
    return Alert(
        source="alertmanager",
        name=labels.get("alertname") or "unnamed alert",
        starts_at=starts_at,
        fingerprint=fingerprint,
        status=_status(alert.get("status"), f"{where}.status"),
        labels=labels,
        annotations=annotations,
        text=annotations.get("summary") or annotations.get("description") or "",
        ends_at=ends_at,
    )


def parse_simple_alert(payload: object, received_at: float) -> Alert:
    """An alert in the bot's own small JSON (``POST /hooks/alert``), for any tool that can send one.

    ``{"name": "DNS beacon", "at": "2026-01-02T03:04:05Z", "labels": {"env": "lab"},
    "text": "query for sce-gd-1a2b3c4d.sinkhole.example", "id": "evt-42"}``: ``name`` is required;
    ``at`` is RFC 3339 or Unix seconds, ``received_at`` when absent; ``labels`` maps strings to
    strings; ``status`` is ``firing`` (default) or ``resolved``. ``id`` makes a retried delivery count
    once; without it the id is derived from the name, labels, text and time. Other fields are refused.
    """
    body = _object(payload, "The alert")
    unknown = sorted(str(key) for key in body if key not in _SIMPLE_FIELDS)
    if unknown:
        known = ", ".join(sorted(_SIMPLE_FIELDS))
        raise AlertError(f"{unknown[0][:40]} is not a field of an alert; the fields are {known}.")
    name = _text(body.get("name"), "name").strip()
    if not name:
        raise AlertError("name must be a non-empty string.")
    at = received_at if body.get("at") is None else _unix_seconds(body["at"], "at")
    if abs(at - received_at) > PLAUSIBLE_SECONDS:
        raise AlertError(
            f"at is {abs(at - received_at) / 86400:.0f} days from when the alert arrived; send Unix seconds "
            "(not milliseconds) or an RFC 3339 time such as 2026-01-02T03:04:05Z."
        )
    labels = _string_map(body.get("labels"), "labels")
    text = _text(body.get("text"), "text", default="")
    status = _status(body.get("status", "firing"), "status")
    given = _text(body.get("id"), "id", default="")
    return Alert(
        source="webhook",
        name=name,
        starts_at=at,
        fingerprint=given or _digest(name, labels, text, at),
        status=status,
        labels=labels,
        text=text,
    )


def alert_from_slack_message(channel: str, text: str, ts: str) -> Alert:
    """A Slack message in a watched channel as an alert, timed by the message's own ``ts``."""
    text = text[:TEXT_LIMIT]
    first_line = text.strip().splitlines()[0][:80] if text.strip() else "Slack message"
    return Alert(
        source="slack",
        name=first_line,
        starts_at=float(ts),
        fingerprint=f"{channel}:{ts}",
        status="resolved" if RESOLVED_TITLE.match(first_line) else "firing",
        text=text,
        channel=channel,
    )

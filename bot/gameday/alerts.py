"""Alerts from outside the bot, and what each one means for the game days that are running.

Three sources feed it: Alertmanager's webhook (format version 4), a small JSON of our own for any other
tool (see :func:`parse_simple_alert`), and Slack messages in watched channels
(:func:`alert_from_slack_message`). Each becomes an :class:`Alert` whose ``starts_at`` is the source's
own time, never the moment the bot read it, so delivery delays and retries never bias TTD.

Correlation. A game day's marker is ``sce-<gameday id>`` (``sce-gd-1a2b3c4d``, :func:`marker_for`), the
prefix of every object name the bot creates; fault drivers also plant per-fault markers in DNS names
and honey-token values. An alert belongs to a running game day when one of that game day's markers
appears, case-insensitively and not inside a longer word, in a label value, an annotation value or the
alert's text. An alert without any running game day's marker that fires while a game day runs is
``Unmatched`` for it: it counts against alert fidelity.

Stop conditions are the scenario's ``guardrails.stop_on``, a list whose entries take one of two forms::

    stop_on:
      - labels: {severity: SEV-1, env: production}  # an alert (Alertmanager or /hooks/alert) carrying
                                                   # every one of these labels: names compare exactly,
                                                   # values case-insensitively
      - channel: C0123ABCD                         # a Slack message in this channel (its id) ...
        text: incident declared                    # ... containing this text, case-insensitively

A matched stop condition aborts the game day, and it wins over a detection carried by the same alert.
Resolved alerts are ignored throughout.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from bot.gameday.mentions import TEXT_LIMIT

Source = Literal["alertmanager", "webhook", "slack"]
AlertStatus = Literal["firing", "resolved"]

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_UNIX_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_SIMPLE_FIELDS = frozenset({"name", "at", "labels", "text", "id", "status"})


PLAUSIBLE_SECONDS = 86400.0
"""An alert dated further than this from its arrival is a sender's mistake, not a detection."""


class AlertError(ValueError):
    """A payload the bot cannot read; the message is one sentence naming the field."""


@dataclass(frozen=True)
class Alert:
    """One alert as its source reported it; ``starts_at`` is the source's own Unix time."""

    source: Source
    name: str
    starts_at: float
    fingerprint: str
    status: AlertStatus = "firing"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    text: str = ""
    ends_at: float | None = None
    channel: str | None = None  # Slack messages only: where it was posted

    @property
    def delivery_id(self) -> str:
        """Stable across re-notifications of the same firing, so recording it twice changes nothing."""
        return f"alert:{self.source}:{self.fingerprint}:{self.starts_at!r}"

    def searchable(self) -> list[str]:
        """Where a marker may appear: label values, annotation values, the text."""
        return [*self.labels.values(), *self.annotations.values(), self.text]


@dataclass(frozen=True)
class Detection:
    """The alert carries this game day's marker: the inject was detected at ``at`` (the source's time)."""

    gameday_id: str
    at: float
    source: Source
    name: str


@dataclass(frozen=True)
class Unmatched:
    """The alert fired during this game day without its marker: noise, for alert fidelity."""

    gameday_id: str
    alert: Alert


@dataclass(frozen=True)
class Stop:
    """A stop condition of this game day matched: abort it, saying ``reason``."""

    gameday_id: str
    reason: str


Decision = Detection | Unmatched | Stop


class Watch(NamedTuple):
    """What :func:`classify` needs to know about one running game day.

    ``markers`` are matched case-insensitively; ``since`` (the game day's start) keeps an alert that
    began before the game day from counting as unmatched. A plain ``(markers, stop_on)`` tuple works too.
    """

    markers: Collection[str]
    stop_on: list[dict[str, Any]]
    since: float | None = None


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
        text=text,
        channel=channel,
    )


# -- correlation ----------------------------------------------------------------------------------------
def marker_for(gameday_id: str) -> str:
    """The game day's correlation marker: ``sce-gd-1a2b3c4d`` for ``gd-1a2b3c4d``."""
    return f"sce-{gameday_id}".lower()


def _contains(haystack: str, marker: str) -> bool:
    needle = re.escape(marker.lower())
    return re.search(rf"(?<![a-z0-9]){needle}(?![a-z0-9])", haystack.lower()) is not None


def _texts(text_or_labels: str | Mapping[str, str] | Alert) -> list[str]:
    if isinstance(text_or_labels, Alert):
        return text_or_labels.searchable()
    if isinstance(text_or_labels, str):
        return [text_or_labels]
    return list(text_or_labels.values())


def _matching(texts: Iterable[str], markers: Iterable[tuple[str, str]]) -> list[str]:
    texts = list(texts)
    found: list[str] = []
    for marker, gameday_id in markers:
        if marker and gameday_id not in found and any(_contains(text, marker) for text in texts):
            found.append(gameday_id)
    return found


def find_marker(text_or_labels: str | Mapping[str, str] | Alert, markers: Mapping[str, str]) -> str | None:
    """The game day whose marker (``markers`` maps marker -> game day id) appears, else None.

    Labels are searched by value; an :class:`Alert` by label values, annotation values and text.
    """
    found = _matching(_texts(text_or_labels), markers.items())
    return found[0] if found else None


def stop_condition_problems(stop_on: object) -> list[str]:
    """Why ``guardrails.stop_on`` entries could never match, one sentence each; empty when all can."""
    if not isinstance(stop_on, list):
        return ["guardrails.stop_on must be a list of conditions."]
    problems: list[str] = []
    for index, entry in enumerate(stop_on):
        where = f"guardrails.stop_on[{index}]"
        if not isinstance(entry, dict):
            problems.append(
                f"{where} must be a mapping: {{labels: {{...}}}} or {{channel: C123, text: ...}}."
            )
        elif set(entry) == {"labels"}:
            if not isinstance(entry["labels"], dict) or not entry["labels"]:
                problems.append(f"{where}.labels must name at least one label, such as {{severity: SEV-1}}.")
        elif set(entry) == {"channel", "text"}:
            if not (isinstance(entry["channel"], str) and entry["channel"].strip()):
                problems.append(f"{where}.channel must be a Slack channel id such as C0123ABCD.")
            if not (isinstance(entry["text"], str) and entry["text"].strip()):
                problems.append(f"{where}.text must be the words to look for, such as 'incident declared'.")
        else:
            problems.append(f"{where} must have either labels, or channel and text (it has {sorted(entry)}).")
    return problems


def matches_stop_condition(alert: Alert, stop_on: list[dict[str, Any]]) -> str | None:
    """The sentence saying which stop condition ``alert`` meets, else None (see the module docstring)."""
    for entry in stop_on:
        wanted = entry.get("labels") if isinstance(entry, dict) else None
        if isinstance(wanted, dict) and wanted and alert.source != "slack":
            pairs = {str(key): str(value) for key, value in wanted.items()}
            if all(alert.labels.get(key, "").casefold() == value.casefold() for key, value in pairs.items()):
                shown = ", ".join(f"{key}={alert.labels[key]}" for key in pairs)
                return f"Stop condition met: alert {alert.name} fired with {shown}."
        channel, words = (
            (entry.get("channel"), entry.get("text")) if isinstance(entry, dict) else (None, None)
        )
        if (
            isinstance(channel, str)
            and isinstance(words, str)
            and words.strip()
            and alert.source == "slack"
            and alert.channel == channel.strip()
            and words.strip().casefold() in alert.text.casefold()
        ):
            return f'Stop condition met: a message in <#{alert.channel}> says "{words.strip()}".'
    return None


def classify(alert: Alert, running: Mapping[str, Watch | tuple[Any, ...]]) -> list[Decision]:
    """What ``alert`` means for each running game day, in game day id order.

    A stop condition wins over a detection. An alert carrying one game day's marker is explained by
    that exercise, so it is not noise for the others; one carrying none is Unmatched for every game
    day it fired during. Resolved alerts mean nothing.
    """
    if alert.status != "firing":
        return []
    watches = {gameday_id: Watch(*watch) for gameday_id, watch in running.items()}
    pairs = [(marker, gameday_id) for gameday_id, watch in watches.items() for marker in watch.markers]
    detected = set(_matching(alert.searchable(), pairs))
    decisions: list[Decision] = []
    for gameday_id in sorted(watches):
        watch = watches[gameday_id]
        reason = matches_stop_condition(alert, watch.stop_on)
        if reason is not None:
            decisions.append(Stop(gameday_id, reason))
        elif gameday_id in detected:
            decisions.append(Detection(gameday_id, alert.starts_at, alert.source, alert.name))
        elif not detected and (watch.since is None or alert.starts_at >= watch.since):
            decisions.append(Unmatched(gameday_id, alert))
    return decisions

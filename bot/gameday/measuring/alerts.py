"""Alerts from outside the bot, and what each one means for the game days that are running.

Three sources feed it: Alertmanager's webhook (format version 4), a small JSON of our own for any other
tool (see :func:`parse_simple_alert`), and Slack messages in watched channels
(:func:`alert_from_slack_message`). Each becomes an :class:`Alert` whose ``starts_at`` is the source's
own time, never the moment the bot read it, so delivery delays and retries never bias TTD.

Correlation. A game day's marker is ``sce-<gameday id>`` (``sce-gd-1a2b3c4d``, :func:`marker_for`), the
prefix of every object name the bot creates; each inject has markers of its own (``markers``: a label
on the objects it creates, its DNS beacon's name, its honey-token's value, its objects' name prefix).
An alert belongs to a running game day when one of that game day's markers appears, case-insensitively
and not inside a longer word, in a label value, an annotation value or the alert's text; it is
attributed to the inject whose own marker it carries, if any. An alert without any running game day's
marker that fires while a game day runs is ``Unmatched`` for it: it counts against alert fidelity.

Stop conditions are the scenario's ``guardrails.stop_on``, a list whose entries take one of two forms::

    stop_on:
      - labels: {severity: SEV-1, env: production}  # an alert (Alertmanager or /hooks/alert) carrying
                                                   # every one of these labels: names compare exactly,
                                                   # values case-insensitively
      - channel: C0123ABCD                         # a Slack message in this channel (its id) ...
        text: incident declared                    # ... containing this text, case-insensitively

A matched stop condition aborts the game day, and it wins over a detection carried by the same alert.
Resolved alerts are ignored throughout.

The types live in ``alert_models`` and the reading of each source in ``alert_parsing``; this module
correlates, and re-exports both so callers import every alert name from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from bot.gameday.measuring.alert_models import (
    PLAUSIBLE_SECONDS,
    Alert,
    AlertError,
    AlertStatus,
    Decision,
    Detection,
    Source,
    Stop,
    Unmatched,
    Watch,
)
from bot.gameday.measuring.alert_parsing import (
    alert_from_slack_message,
    parse_alertmanager,
    parse_simple_alert,
)
from bot.gameday.measuring.markers import gameday_marker

__all__ = [
    "PLAUSIBLE_SECONDS",
    "Alert",
    "AlertError",
    "AlertStatus",
    "Decision",
    "Detection",
    "Source",
    "Stop",
    "Unmatched",
    "Watch",
    "alert_from_slack_message",
    "classify",
    "find_marker",
    "is_canary",
    "marker_for",
    "matches_stop_condition",
    "parse_alertmanager",
    "parse_simple_alert",
    "stop_condition_problems",
]


# -- correlation ----------------------------------------------------------------------------------------
def marker_for(gameday_id: str) -> str:
    """The game day's correlation marker: ``sce-gd-1a2b3c4d`` for ``gd-1a2b3c4d``."""
    return gameday_marker(gameday_id)


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


def _inject(alert: Alert, injects: Mapping[str, str]) -> str | None:
    """The inject whose own marker the alert carries (the first in the order the game day applied them)."""
    texts = alert.searchable()
    return next(
        (fault for marker, fault in injects.items() if any(_contains(t, marker) for t in texts)), None
    )


def is_canary(alert: Alert, labels: Mapping[str, str]) -> bool:
    """Whether a firing alert is a preflight's canary: it carries every one of ``labels`` (names exactly,
    values in any case); a Slack message (an app's notification, which has no labels) names every
    value as a word of its text."""
    if alert.status != "firing" or not labels:
        return False
    if alert.source == "slack":
        return all(_contains(alert.text, value) for value in labels.values())
    return all(alert.labels.get(name, "").casefold() == value.casefold() for name, value in labels.items())


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
            inject = _inject(alert, watch.injects or {})
            decisions.append(Detection(gameday_id, alert.starts_at, alert.source, alert.name, inject))
        elif not detected and (watch.since is None or alert.starts_at >= watch.since):
            decisions.append(Unmatched(gameday_id, alert))
    return decisions

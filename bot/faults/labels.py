"""The one place that marks what the bot creates or changes in a cluster, and reads those marks back.

Objects the bot creates carry ``app.kubernetes.io/managed-by=sce``, the game day and fault ids, and an
expiry annotation: the reaper deletes them once expired, whatever any database remembers. Objects the
bot only changes (a scaled Deployment) carry the ids and expiry but NOT ``managed-by``, so nothing ever
deletes them: the reaper restores them from the original value recorded beside the expiry.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from bot.gameday.measuring.markers import inject_marker

GAMEDAY = "sce.dev/gameday"
FAULT = "sce.dev/fault"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "sce"
EXPIRES_AT = "sce.dev/expires-at"
MARKER = "sce.dev/marker"  # the inject's marker: an alert built from the object's labels names the inject
ORIGINAL_REPLICAS = "sce.dev/original-replicas"

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def rfc3339(timestamp: float) -> str:
    """Unix seconds as RFC 3339 UTC, to the second (``2026-01-02T03:04:05Z``)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str | None) -> float | None:
    """The Unix time of an RFC 3339 string; None when absent or unreadable."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def label_value(value: str) -> str:
    """``value`` when Kubernetes accepts it as a label value; otherwise a ValueError naming it."""
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ValueError(
            f"{value!r} cannot be a Kubernetes label value (63 characters: letters, digits, -_.)"
        )
    return value


def fault_labels(gameday_id: str, fault_id: str) -> dict[str, str]:
    return {GAMEDAY: label_value(gameday_id), FAULT: label_value(fault_id)}


def owned_metadata(
    name: str,
    namespace: str,
    gameday_id: str,
    fault_id: str,
    expires_at: float,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``metadata`` for an object the bot creates: our labels win over any of ``labels``."""
    return {
        "name": name,
        "namespace": namespace,
        "labels": {
            **(labels or {}),
            **fault_labels(gameday_id, fault_id),
            MARKER: marker(gameday_id, fault_id),
            MANAGED_BY: MANAGER,
        },
        "annotations": {EXPIRES_AT: rfc3339(expires_at)},
    }


def borrowed_marks(
    gameday_id: str, fault_id: str, expires_at: float, original_replicas: int
) -> dict[str, Any]:
    """The ``metadata`` patch marking an object the bot changed but does not own, with how to restore it."""
    return {
        "labels": {**fault_labels(gameday_id, fault_id), MARKER: marker(gameday_id, fault_id)},
        "annotations": {EXPIRES_AT: rfc3339(expires_at), ORIGINAL_REPLICAS: str(original_replicas)},
    }


def unmarked() -> dict[str, Any]:
    """The ``metadata`` patch removing the marks of :func:`borrowed_marks`."""
    return {
        "labels": {GAMEDAY: None, FAULT: None, MARKER: None},
        "annotations": {EXPIRES_AT: None, ORIGINAL_REPLICAS: None},
    }


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def annotations_of(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def selector_text(selector: dict[str, str]) -> str:
    """A label selector for the API server (``a=b,c=d``); callers still filter with :func:`matches`."""
    return ",".join(f"{key}={value}" for key, value in sorted(selector.items()))


def matches(obj: dict[str, Any], selector: dict[str, str]) -> bool:
    """Whether ``obj`` carries every label of ``selector`` (an empty selector matches everything)."""
    labels = labels_of(obj)
    return all(labels.get(key) == value for key, value in selector.items())


def is_managed(obj: dict[str, Any]) -> bool:
    """Created by the bot, so deleting it undoes it."""
    return labels_of(obj).get(MANAGED_BY) == MANAGER


def is_borrowed(obj: dict[str, Any]) -> bool:
    """Changed (not created) by the bot, so restoring it undoes it."""
    return ORIGINAL_REPLICAS in annotations_of(obj) and GAMEDAY in labels_of(obj)


def belongs_to(obj: dict[str, Any], gameday_id: str, fault_id: str) -> bool:
    return matches(obj, {GAMEDAY: gameday_id, FAULT: fault_id})


def expires_at_of(obj: dict[str, Any]) -> float | None:
    return parse_rfc3339(annotations_of(obj).get(EXPIRES_AT))


def object_name(gameday_id: str, fault_id: str, suffix: str) -> str:
    """A DNS-1123 name (63 characters at most) for the object ``suffix`` of one fault; stable."""
    name = _NOT_DNS.sub("-", f"sce-{gameday_id}-{fault_id}-{suffix}".lower()).strip("-")
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:54].rstrip('-')}-{digest}"


def marker(gameday_id: str, fault_id: str) -> str:
    """The string a fault plants (the ``sce.dev/marker`` label, DNS names, honey-token values) so a
    detection names its inject (``bot/gameday/measuring/markers``)."""
    return inject_marker(gameday_id, fault_id)

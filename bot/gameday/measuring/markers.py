"""The markers that tie an alert to what the bot did, so a detection names the game day and the inject.

A game day's marker is ``sce-<gameday id>`` (``sce-gd-1a2b3c4d``): every object the bot creates is named
with it. Each inject (a fault) has markers of its own, derived from the ids alone so the matcher can
recompute them for the faults it knows:

- ``sce`` + 16 hex digits of a hash (``inject_marker``): planted where a detection sees it, the label
  ``sce.dev/marker`` on every object the fault creates or changes, the DNS beacon's name, a honey-token's
  value;
- ``sce-<gameday id>-<fault id>`` (``object_prefix``): the start of every object name the fault creates,
  so an alert naming the object (a pod, a NetworkPolicy) names the inject.

An http step is an inject too (``h<step>``): its requests carry its marker in the ``X-SCE-Marker`` header,
which a WAF or proxy log records, so the alert they raise can name it.
"""

from __future__ import annotations

import hashlib
import re

_NOT_DNS = re.compile(r"[^a-z0-9-]+")
MARKER_HEADER = "X-SCE-Marker"


def gameday_marker(gameday_id: str) -> str:
    """``sce-gd-1a2b3c4d`` for ``gd-1a2b3c4d``."""
    return f"sce-{gameday_id}".lower()


def inject_marker(gameday_id: str, fault_id: str) -> str:
    """The string a fault plants (labels, DNS names, honey-token values) so a detection names its inject."""
    return "sce" + hashlib.sha256(f"{gameday_id}/{fault_id}".encode()).hexdigest()[:16]


def object_prefix(gameday_id: str, fault_id: str) -> str:
    """The start of every object name one fault creates (``sce-gd-1a2b3c4d-f2``)."""
    return _NOT_DNS.sub("-", f"sce-{gameday_id}-{fault_id}".lower()).strip("-")


def inject_markers(gameday_id: str, fault_ids: list[str]) -> dict[str, str]:
    """Every marker of each inject, mapped to the inject (fault) id it names."""
    markers: dict[str, str] = {}
    for fault_id in fault_ids:
        markers[inject_marker(gameday_id, fault_id)] = fault_id
        markers[object_prefix(gameday_id, fault_id)] = fault_id
    return markers


def http_inject_id(step: int) -> str:
    """The inject id of an http step: ``h3`` for step 3."""
    return f"h{step}"

"""The append-only timeline of a game day: every state change is one event; all else is derived."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    STARTED = "gameday_started"
    APPROVED = "approved"
    # an unattended run let start by a standing approval: data approval, scenario_hash, granted_at, expires_at
    STANDING_APPROVED = "standing_approved"
    CANARY_ARRIVED = "canary_arrived"  # the preflight's canary alert came: data name, labels, status (next)
    STEP_RAN = "step_ran"
    PAGE_SENT = "page_sent"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    HANDOFF_REQUESTED = "handoff_requested"
    HANDOFF_POSTED = (
        "handoff_posted"  # its message is out: data handoff_id, message_ts, requested_at (a step's)
    )
    HANDOFF_COMPLETED = "handoff_completed"
    DETECTED = "detected"
    ALERT_UNMATCHED = (
        "alert_unmatched"  # fired during the game day without its marker: data source, name, labels
    )
    CONTAINED = "contained"
    NOTE = "note"
    SAID = "said"
    HTTP_PROBED = "http_probed"  # data: step, url, statuses, expected, ok
    WEBHOOK_CALLED = "webhook_called"  # data: step, url, status
    WOULD_SEND = (
        "would_send"  # dry run: data step, to ("http" | "webhook" | "pagerduty"), request (unresolved)
    )
    FAULT_INTENT = (
        "fault_intent"  # committed before the driver is called: data fault_id, type, driver, expires_at
    )
    FAULT_APPLIED = "fault_applied"
    FAULT_REVERTED = "fault_reverted"
    FAULT_OBSERVED = "fault_observed"  # data: fault_id, outcome ("blocked" | "allowed"), detail
    FAULT_REVERT_FAILED = "fault_revert_failed"  # data: fault_id, error
    PAUSED = "paused"
    RESUMED = "resumed"  # data: paused_seconds
    ROLE_ASSIGNED = "role_assigned"  # data: role ("commander" | "comms"), user
    DELIVERY_DELAYED = "delivery_delayed"  # a timer's 5th failed attempt: data timer_id, key, kind, attempts
    DELIVERED_LATE = "delivered_late"  # a delayed timer ran through at last: data timer_id, attempts
    DELIVERY_REPORTED = "delivery_reported"  # the facilitator was told of those incidents: data timer_ids
    STEADY_STATE = (
        "steady_state"  # data: probes [{name, ok, finding}], breached, blind (a look at Prometheus)
    )
    POST_DROPPED = "post_dropped"  # a step's message no longer wanted when its turn came: data key, why
    LOGS_FOLLOWING = "logs_following"  # a live logs step began: data step, source, streams, match
    LOGS_TROUBLE = "logs_trouble"  # a live log source failed (said in the thread): data step, problem
    LOGS_STOPPED = "logs_stopped"  # data step, seen, matched, posted, not_shown, dropped, why
    # at the end, a panel or steady-state probe asked over the window (panel_capture): data title, promql,
    # source, expect, start, end, step, series, series_total, problem
    PANEL_SAMPLED = "panel_sampled"
    ANNOTATED = "annotated"  # written to Grafana: data key, kind, id (Grafana's annotation id)
    ANNOTATION_FAILED = "annotation_failed"  # Grafana did not take it: data key, kind, error (a sentence)
    # PagerDuty on failure (running/failure_paging)
    FAULT_LEFT_OVER = (
        "fault_left_over"  # the reaper found it past its lease, could not undo it: fault_id, error
    )
    FAILURE_PAGED = "failure_paged"  # a real incident: data key, cause, fault_id, sent, error (when not sent)
    FAILURE_RESOLVED = "failure_resolved"  # data: key, sent, error (when not sent)
    ENDED = "gameday_ended"


@dataclass(frozen=True)
class Event:
    """One thing that happened. ``at`` is Slack's own ts where Slack supplied the input."""

    seq: int
    kind: Kind
    at: float
    actor: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": str(self.kind),
            "at": self.at,
            "actor": self.actor,
            "data": self.data,
        }


def slack_ts_to_seconds(ts: str) -> float:
    """Slack's ``ts`` ("1700000000.123456") as seconds, exact enough for millisecond metrics."""
    return float(ts)

"""What a durable timer does when it comes due, and where it is in its life. The values are the ones
stored in the ``timer`` table: a member compares equal to its stored string."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TimerKind(StrEnum):
    STEP = "step"  # a scenario step comes due
    ESCALATE = "escalate"  # a page left unacknowledged for escalate_after
    CHECK = "check"  # an expectation's deadline (detect_within, contain_within)
    TIME_BOX = "time_box"  # guardrails.max_duration is reached
    FAULT_EXPIRY = "fault_expiry"  # a fault's lease ends: revert it
    OBSERVE = "observe"  # look at a probe's result
    LOG_LINE = "log_line"  # the next line of a logs step
    PUBLISH = "publish"  # the posts of a game day's end: status line, debrief, files
    STEADY = "steady"  # look at the steady state (Prometheus) while the game day runs
    CANARY = "canary"  # the preflight's canary alert is due by now: without it, the game day fails
    POST = "post"  # a message committed with its change, posted after the commit (bot/gameday/running/outbox)
    ANNOTATE = "annotate"  # write the game day's Grafana annotations, outside every lock (annotating)
    LOG_BATCH = "log_batch"  # a live logs step's next batch: read the source, post what matched
    FAILURE_PAGE = "failure_page"  # tell PagerDuty of a real failure (or that it is over), outside every lock
    REVERT_RETRY = "revert_retry"  # try a failed revert again after the end (running/failure_paging)


class TimerState(StrEnum):
    PENDING = "pending"  # waits for its due time
    FIRING = "firing"  # claimed by a worker
    HELD = "held"  # its game day is paused; due again after the paused time on resume
    DONE = "done"
    CANCELLED = "cancelled"  # its game day ended first


@dataclass(frozen=True)
class DeliveryDelay:
    """A timer that failed ``attempts`` times (an incident from the fifth), and whether it has run
    through since: what the facilitator is told once Slack answers again."""

    timer_id: int
    kind: TimerKind
    attempts: int
    delivered: bool
    post: str | None = None  # an outbox post's kind (page, escalation, say...), when it is one

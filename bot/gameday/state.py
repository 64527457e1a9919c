"""The state of a game day, derived by folding its timeline; never stored on its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from bot.gameday.timeline import Event, Kind

T = TypeVar("T")


class Status(StrEnum):
    PREFLIGHT = "preflight"  # waiting for its canary alert (preflight.canary_alert): nothing runs yet
    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    ABORTED = "aborted"
    FAILED = "failed"

    @property
    def is_over(self) -> bool:
        return self in (Status.COMPLETED, Status.ABORTED, Status.FAILED)


@dataclass(frozen=True)
class PageState:
    page_id: str
    step: int
    responder: str
    severity: str
    summary: str
    message_ts: str
    paged_at: float
    owner: str
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    escalated_at: float | None = None
    escalated_to: str | None = None
    escalation_ts: str | None = None  # the escalation's own message, which carries the page's buttons too
    contained_at: float | None = None

    @property
    def tta(self) -> float | None:
        return None if self.acknowledged_at is None else self.acknowledged_at - self.paged_at


@dataclass(frozen=True)
class HandoffState:
    handoff_id: str
    page_ids: list[str]
    from_user: str | None
    to_user: str
    requested_at: float
    requested_by: str | None
    message_ts: str | None
    completed_at: float | None = None

    @property
    def latency(self) -> float | None:
        return None if self.completed_at is None else self.completed_at - self.requested_at

    def latency_at(self, at: float) -> float:
        return at - self.requested_at


@dataclass(frozen=True)
class Mark:
    """A detection or a containment: when, by whom, from which source."""

    at: float
    by: str | None
    source: str
    page_id: str | None = None
    inject: str | None = None  # the fault an alert's own marker named (detections from alerts only)


@dataclass(frozen=True)
class Note:
    kind: str
    text: str
    by: str | None
    at: float
    step: int | None


@dataclass(frozen=True)
class FaultState:
    fault_id: str
    step: int
    type: str
    applied_at: float
    expires_at: float
    reverted_at: float | None = None
    outcome: str | None = None
    driver: str = "simulated"


@dataclass
class GameDayState:
    status: Status = Status.RUNNING
    started_at: float | None = None
    steps_ran: set[int] = field(default_factory=set)
    last_step: int | None = None
    pages: dict[str, PageState] = field(default_factory=dict)
    handoffs: list[HandoffState] = field(default_factory=list)
    detections: list[Mark] = field(default_factory=list)
    containments: list[Mark] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    faults: dict[str, FaultState] = field(default_factory=dict)
    ended_at: float | None = None
    end_reason: str | None = None
    paused_at: float | None = None
    paused_seconds: float = 0.0
    roles: dict[str, str] = field(default_factory=dict)
    # http steps sent with their marker header: inject id (h<step>) -> (step, when they were sent)
    http_injects: dict[str, tuple[int, float]] = field(default_factory=dict)

    def has_inject(self, inject: str) -> bool:
        """Whether ``inject`` names a fault applied or an http step sent (the ids a marker can name)."""
        return inject in self.faults or inject in self.http_injects

    @property
    def t0(self) -> float | None:
        """The first inject: the earliest page message or applied fault."""
        starts = [p.paged_at for p in self.pages.values()] + [f.applied_at for f in self.faults.values()]
        return min(starts) if starts else None

    def open_pages(self) -> list[PageState]:
        return [p for p in self.pages.values() if p.acknowledged_at is None]

    def copy(self) -> GameDayState:
        """A state whose containers are its own: what ``advance`` does to either leaves the other as it
        was. The pages, handoffs, faults, marks and notes in them are frozen, so they are shared."""
        return _changed(  # every field not named here is a plain value
            self,
            steps_ran=set(self.steps_ran),
            pages=dict(self.pages),
            handoffs=list(self.handoffs),
            detections=list(self.detections),
            containments=list(self.containments),
            notes=list(self.notes),
            faults=dict(self.faults),
            roles=dict(self.roles),
            http_injects=dict(self.http_injects),
        )

    def pending_handoffs(self) -> list[HandoffState]:
        return [h for h in self.handoffs if h.completed_at is None]

    def page_by_message(self, message_ts: str) -> PageState | None:
        return next((p for p in self.pages.values() if p.message_ts == message_ts), None)


def _changed(item: T, **changes: Any) -> T:
    """``dataclasses.replace`` without its checks, at a fraction of the cost: for a page, handoff or
    fault (every field a plain value), and for a state's copy (its containers given anew)."""
    changed = object.__new__(type(item))
    changed.__dict__.update(item.__dict__, **changes)
    return changed


def fold(events: Iterable[Event]) -> GameDayState:
    """Replay the timeline into the current state."""
    state = GameDayState()
    for event in events:
        _apply(state, event)
    return state


def advance(state: GameDayState, events: Iterable[Event]) -> GameDayState:
    """``state`` carried on through the events that follow the ones it was folded from, in place:
    ``advance(fold(a), b)`` equals ``fold(a + b)``."""
    for event in events:
        _apply(state, event)
    return state


def _apply(state: GameDayState, event: Event) -> None:  # noqa: C901 - one branch per event kind
    data = event.data
    kind = event.kind
    if kind is Kind.STARTED:
        state.started_at = event.at
        state.status = Status(data.get("status", Status.RUNNING))
    elif kind is Kind.APPROVED:
        state.status = Status.RUNNING
    elif kind is Kind.CANARY_ARRIVED:
        state.status = Status(data.get("status", Status.RUNNING))
    elif kind is Kind.STEP_RAN:
        state.steps_ran.add(int(data["step"]))
        state.last_step = int(data["step"])
    elif kind is Kind.PAGE_SENT:
        state.pages[data["page_id"]] = PageState(
            page_id=data["page_id"],
            step=int(data["step"]),
            responder=data["responder"],
            severity=data["severity"],
            summary=data["summary"],
            message_ts=data["message_ts"],
            paged_at=event.at,
            owner=data["responder"],
        )
    elif kind is Kind.ACKNOWLEDGED:
        page = state.pages[data["page_id"]]
        acked: dict[str, Any] = {"owner": event.actor} if event.actor else {}
        if page.acknowledged_at is None:
            acked.update(acknowledged_at=event.at, acknowledged_by=event.actor)
        state.pages[page.page_id] = _changed(page, **acked)
    elif kind is Kind.ESCALATED:
        page = state.pages[data["page_id"]]
        escalated = {
            "escalated_at": event.at,
            "escalated_to": data["to"],
            "escalation_ts": data.get("message_ts"),
        }
        state.pages[page.page_id] = _changed(page, **escalated)
    elif kind is Kind.HANDOFF_REQUESTED:
        state.handoffs.append(
            HandoffState(
                handoff_id=data["handoff_id"],
                page_ids=list(data["page_ids"]),
                from_user=data.get("from"),
                to_user=data["to"],
                requested_at=event.at,
                requested_by=event.actor,
                message_ts=data.get("message_ts"),
            )
        )
    elif kind is Kind.HANDOFF_POSTED:
        for index, handoff in enumerate(state.handoffs):
            if handoff.handoff_id == data["handoff_id"]:
                posted: dict[str, Any] = {"message_ts": data["message_ts"]}
                if "requested_at" in data and handoff.completed_at is None:  # a step's: from its message
                    posted["requested_at"] = float(data["requested_at"])
                state.handoffs[index] = _changed(handoff, **posted)
    elif kind is Kind.HANDOFF_COMPLETED:
        for index, handoff in enumerate(state.handoffs):
            if handoff.handoff_id == data["handoff_id"]:
                state.handoffs[index] = _changed(handoff, completed_at=event.at)
                for page_id in handoff.page_ids:
                    state.pages[page_id] = _changed(state.pages[page_id], owner=handoff.to_user)
    elif kind is Kind.DETECTED:
        state.detections.append(
            Mark(event.at, event.actor, data.get("source", "slack"), data.get("page_id"), data.get("inject"))
        )
    elif kind is Kind.CONTAINED:
        mark = Mark(event.at, event.actor, data.get("source", "slack"), data.get("page_id"))
        state.containments.append(mark)
        targets = [state.pages[mark.page_id]] if mark.page_id in state.pages else list(state.pages.values())
        for page in targets:
            if page.contained_at is None:
                state.pages[page.page_id] = _changed(page, contained_at=event.at)
    elif kind is Kind.HTTP_PROBED and data.get("inject"):
        state.http_injects[str(data["inject"])] = (int(data["step"]), event.at)
    elif kind is Kind.NOTE:
        state.notes.append(Note(data["kind"], data["text"], event.actor, event.at, data.get("step")))
    elif kind is Kind.FAULT_APPLIED:
        state.faults[data["fault_id"]] = FaultState(
            fault_id=data["fault_id"],
            step=int(data["step"]),
            type=data["type"],
            applied_at=event.at,
            expires_at=float(data["expires_at"]),
            driver=str(data.get("driver", "simulated")),
        )
    elif kind is Kind.FAULT_REVERTED:
        state.faults[data["fault_id"]] = _changed(state.faults[data["fault_id"]], reverted_at=event.at)
    elif kind is Kind.PAUSED:
        state.status, state.paused_at = Status.PAUSED, event.at
    elif kind is Kind.RESUMED:
        state.status, state.paused_at = Status.RUNNING, None
        state.paused_seconds += float(data.get("paused_seconds", 0.0))
    elif kind is Kind.ROLE_ASSIGNED:
        state.roles[data["role"]] = data["user"]
    elif kind is Kind.FAULT_OBSERVED and data.get("fault_id") in state.faults:
        state.faults[data["fault_id"]] = _changed(state.faults[data["fault_id"]], outcome=data.get("outcome"))
    elif kind is Kind.ENDED:
        state.status = Status(data.get("status", Status.RUNNING))
        state.ended_at = event.at
        state.end_reason = data.get("reason")

"""The Grafana annotations a game day's timeline asks for, computed from the timeline alone.

Each inject (a fault, as a region from its apply to its revert), page acknowledgement, detection and
containment is one annotation. Its ``key`` is unique within the game day and derived from the events, so
the same timeline always asks for the same annotations: one written (``annotated`` on the timeline) is
never asked for again, however often the timeline is read, replayed or redelivered. A fault is asked for
once its end is known (its revert, or the game day's end when the revert failed), so its region is
written once, whole, and never needs an update.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.gameday.timeline import Event, Kind

MAX_TRIES = 3  # failed writes of one annotation before it is given up (each one is on the timeline)
POINTS = {Kind.ACKNOWLEDGED: "ack", Kind.DETECTED: "detection", Kind.CONTAINED: "containment"}


@dataclass(frozen=True)
class Annotation:
    """What one annotation says: its kind, when (epoch seconds, as the timeline has them) and the
    events it comes from (the text is written from them, by the edge)."""

    key: str  # "fault:F1", "ack:12", "detection:14", "containment:15" (an event's seq)
    kind: str  # "inject", "ack", "detection", "containment"
    at: float
    until: float | None  # a region's end; None for a point
    events: tuple[Event, ...]

    @property
    def time_ms(self) -> int:
        return epoch_ms(self.at)

    @property
    def time_end_ms(self) -> int | None:
        return None if self.until is None else epoch_ms(self.until)


def epoch_ms(at: float) -> int:
    """Grafana's times are epoch milliseconds."""
    return round(at * 1000)


def tags(gameday_id: str, scenario_id: str, annotation: Annotation) -> list[str]:
    """The tags every annotation carries: ``sce``, the game day, the scenario, the kind, and its key (what
    a retry looks for in Grafana before writing again)."""
    return [
        "sce",
        f"gameday:{gameday_id}",
        f"scenario:{scenario_id}",
        f"kind:{annotation.kind}",
        key_tag(gameday_id, annotation.key),
    ]


def key_tag(gameday_id: str, key: str) -> str:
    return f"sce-key:{gameday_id}:{key}"


def wanted(events: list[Event]) -> list[Annotation]:
    """Every annotation the timeline asks for so far, in the order of the events that ask for it."""
    applied: dict[str, Event] = {}
    ended = next((e for e in events if e.kind is Kind.ENDED), None)
    found: list[Annotation] = []
    reverted: set[str] = set()
    for event in events:
        fault_id = str(event.data.get("fault_id", ""))
        if event.kind is Kind.FAULT_APPLIED:
            applied[fault_id] = event
        elif event.kind is Kind.FAULT_REVERTED and fault_id in applied and fault_id not in reverted:
            reverted.add(fault_id)
            start = applied[fault_id]
            found.append(Annotation(f"fault:{fault_id}", "inject", start.at, event.at, (start, event)))
        elif event.kind in POINTS:
            kind = POINTS[event.kind]
            found.append(Annotation(f"{kind}:{event.seq}", kind, event.at, None, (event,)))
    if ended is not None:  # a fault whose revert failed: its region lasts to the end, and says so
        for fault_id, start in applied.items():
            if fault_id not in reverted:
                found.append(Annotation(f"fault:{fault_id}", "inject", start.at, ended.at, (start, ended)))
    return found


def written(events: list[Event]) -> set[str]:
    """The keys already in Grafana, as the timeline records them."""
    return {str(e.data.get("key")) for e in events if e.kind is Kind.ANNOTATED}


def failures(events: list[Event]) -> Counter[str]:
    """How many times each key failed to be written."""
    return Counter(str(e.data.get("key")) for e in events if e.kind is Kind.ANNOTATION_FAILED)


def pending(events: list[Event]) -> list[Annotation]:
    """What is still to be written: asked for, not written, and not given up after ``MAX_TRIES``."""
    done, failed = written(events), failures(events)
    return [a for a in wanted(events) if a.key not in done and failed[a.key] < MAX_TRIES]

"""Comms clarity, roles and notes: status updates and their gaps, incident roles, runbook gaps (pure
functions of the timeline, like every metric in ``bot/gameday/measuring/metrics``)."""

from __future__ import annotations

from bot.gameday.state import GameDayState, Note
from bot.gameday.timeline import Event, Kind


def update_times(state: GameDayState) -> list[float]:
    """When status updates (notes of kind ``update``) were posted, in time order."""
    return sorted(n.at for n in state.notes if n.kind == "update")


def first_acknowledgement(state: GameDayState) -> float | None:
    """The earliest acknowledgement of any page."""
    acks = [p.acknowledged_at for p in state.pages.values() if p.acknowledged_at is not None]
    return min(acks) if acks else None


def ack_to_first_update(state: GameDayState) -> float | None:
    """First status update at or after the first acknowledgement, minus that acknowledgement."""
    ack = first_acknowledgement(state)
    if ack is None:
        return None
    later = [at for at in update_times(state) if at >= ack]
    return later[0] - ack if later else None


def update_gaps(state: GameDayState) -> list[tuple[float, float]]:
    """(previous update, next update) for each pair of consecutive status updates."""
    times = update_times(state)
    return list(zip(times, times[1:], strict=False))


def late_update_gaps(state: GameDayState, update_every: float | None) -> list[tuple[float, float]]:
    """The gaps between consecutive updates longer than the cadence ``expect.update_every``."""
    if update_every is None:
        return []
    return [(a, b) for a, b in update_gaps(state) if b - a > update_every]


def first_role_assignments(events: list[Event]) -> dict[str, tuple[str, float]]:
    """Each incident role (commander, comms) -> (user, when) of its first assignment."""
    roles: dict[str, tuple[str, float]] = {}
    for event in events:
        if event.kind is Kind.ROLE_ASSIGNED:
            roles.setdefault(str(event.data.get("role")), (str(event.data.get("user")), event.at))
    return roles


def notes_of_kind(state: GameDayState, kind: str) -> list[Note]:
    """The notes of one kind (gap, note, action, decision, update), in timeline order."""
    return [n for n in state.notes if n.kind == kind]


def gaps_by_step(state: GameDayState) -> dict[int | None, list[Note]]:
    """Runbook fitness: the gaps grouped by the step that had last run when they were noted.

    Steps are in order; gaps noted before any step ran are under ``None``, listed first.
    """
    grouped: dict[int | None, list[Note]] = {}
    for note in sorted(notes_of_kind(state, "gap"), key=lambda n: -1 if n.step is None else n.step):
        grouped.setdefault(note.step, []).append(note)
    return grouped

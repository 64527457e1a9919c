"""Findings recorded when a game day finishes, and changed by people; the store is a port.

Recording is best-effort: a store that fails is logged and never keeps the debrief from posting (the
finishing hook runs outside the game day's lock, after the debrief is built). A change is read, checked
by ``transitions.move`` and written only over the version it was read at: of two people (or replicas)
moving the same finding at once, one wins and the other is told to look again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.gameday.findings.derive import findings_from
from bot.gameday.findings.model import Finding, FindingDraft, FindingState, finding_id
from bot.gameday.findings.transitions import Refused, as_of, assign, move
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import GameDayRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FindingFilter:
    """Which findings to list; None: any. ``state`` is the state as shown now (an expired acceptance is
    open); ``channels``: only findings of game days run in these channels."""

    state: FindingState | None = None
    scenario: str | None = None
    owner: str | None = None
    channels: Collection[str] | None = None
    gameday: str | None = None  # one game day's (the buttons under its debrief)


class FindingPort(Protocol):
    def record(self, drafts: Sequence[FindingDraft], channel: str, now: float) -> list[Finding]:
        """Store the drafts not stored yet (by game day and key); the new findings, numbered."""
        ...

    def get(self, number: int) -> Finding | None: ...

    def list(self, which: FindingFilter, now: float) -> list[Finding]:
        """The findings that match, oldest first, each as it stands at ``now`` (``as_of``)."""
        ...

    def replace(self, before: Finding, after: Finding) -> bool:
        """Write ``after`` only if the stored finding is still at ``before``'s version."""
        ...


class FindingRecorder:
    """The finishing hook: records the findings of a debrief built at the end of a game day."""

    def __init__(self, store: FindingPort, clock: Callable[[], float]):
        self.store = store
        self.now = clock

    def __call__(self, record: GameDayRecord, debrief: Debrief) -> list[Finding]:
        try:
            return self.store.record(findings_from(debrief), record.channel, self.now())
        except Exception:
            log.exception("could not record the findings of %s", record.id)
            return []


class FindingChanged(RuntimeError):
    """Someone else changed the finding between our read and our write."""


class NoSuchFinding(LookupError):
    pass


def change_finding(
    store: FindingPort,
    number: int,
    to: FindingState,
    at: float,
    by: str,
    note: str = "",
    reason: str = "",
    until: float | None = None,
    visible: Callable[[Finding], bool] = lambda _: True,
) -> Finding:
    """Move finding ``number``; NoSuchFinding (also for one the person may not see: ``visible``),
    Refused (the move is not allowed) or FindingChanged (someone else moved it first), each with its
    sentence."""
    before = store.get(number)
    if before is None or not visible(before):
        raise NoSuchFinding(f"There is no finding {finding_id(number)} here.")
    after = move(before, to, at, by, note, reason, until)
    if not store.replace(before, after):
        raise FindingChanged(
            f"{before.id} was changed by someone else just now; look at it again (it may be done)."
        )
    return as_of(after, at)


def assign_owner(
    store: FindingPort,
    number: int,
    owner: str,
    at: float,
    by: str,
    visible: Callable[[Finding], bool] = lambda _: True,
) -> Finding:
    """Make ``owner`` the owner of finding ``number``, written over the version it was read at; the same
    errors as ``change_finding``."""
    before = store.get(number)
    if before is None or not visible(before):
        raise NoSuchFinding(f"There is no finding {finding_id(number)} here.")
    after = assign(before, owner, at, by)
    if not store.replace(before, after):
        raise FindingChanged(
            f"{before.id} was changed by someone else just now; look at it again (it may be done)."
        )
    return as_of(after, at)


__all__ = ["FindingChanged", "FindingFilter", "FindingPort", "FindingRecorder", "NoSuchFinding", "Refused"]

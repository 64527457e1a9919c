"""The finding, its states and kinds, and its id as people type it (``F-12``)."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

MAX_NUMBER = 2**63 - 1
"""The largest id a finding can have (a 64-bit integer column); a longer number is no finding's id."""
_ID = re.compile(r"F-([1-9][0-9]{0,18})")


class FindingState(StrEnum):
    OPEN = "open"
    FIXING = "fixing"
    FIXED = "fixed"
    VERIFIED = "verified"
    ACCEPTED_RISK = "accepted-risk"


class FindingKind(StrEnum):
    GAP = "gap"  # a gap someone recorded (`gap: ...`, `/sce gap`)
    ACTION = "action"  # an action item (`action: ...`)
    MISSED = "missed"  # an expectation the game day missed, or an inject nothing detected


class FindingNote(BaseModel):
    """What someone said when they moved a finding (or nothing: ``text`` empty), and the move."""

    model_config = ConfigDict(frozen=True)

    at: float
    by: str
    state: FindingState
    text: str = ""


class FindingDraft(BaseModel):
    """A finding as a finished game day yields it, before the store numbers it. ``key`` is stable for
    the game day (its kind and what it is about), so recording the same debrief twice adds nothing."""

    model_config = ConfigDict(frozen=True)

    gameday: str
    key: str
    kind: FindingKind
    scenario: str
    text: str
    step: int | None = None
    technique: str | None = None
    owner: str | None = None
    due: float | None = None


class Finding(BaseModel):
    """A stored finding. ``version`` counts its changes: a change is written only over the version it
    was made from, so two replicas can never both move the same finding."""

    model_config = ConfigDict(frozen=True)

    number: int
    gameday: str
    key: str
    kind: FindingKind
    scenario: str
    channel: str
    text: str
    state: FindingState = FindingState.OPEN
    step: int | None = None
    technique: str | None = None
    owner: str | None = None
    due: float | None = None
    created_at: float
    fixing_at: float | None = None
    fixed_at: float | None = None
    verified_at: float | None = None
    accepted_until: float | None = None
    accepted_reason: str | None = None
    notes: tuple[FindingNote, ...] = ()
    version: int = 1
    verified_by: str | None = None  # the game day id of the regression run that verified it

    @property
    def id(self) -> str:
        return finding_id(self.number)


def finding_id(number: int) -> str:
    return f"F-{number}"


class BadFindingId(ValueError):
    """Not a finding id; the message says what one looks like."""


def parse_finding_id(typed: str) -> int:
    """The number of ``F-<n>`` as people type or paste it (``F-12``, ``f-12``, `` `F-12`. ``); anything
    else (``F-0``, ``F-x``, ``F-1;drop``, a number past any stored id) is a BadFindingId."""
    word = typed.strip().strip("`*_.,:()[]'\"").upper()
    match = _ID.fullmatch(word)
    if match is None or int(match[1]) > MAX_NUMBER:
        shown = "".join(c if c.isprintable() else "\ufffd" for c in typed[:40]) + (
            "..." if len(typed) > 40 else ""
        )
        raise BadFindingId(f"`{shown}` is not a finding id; finding ids look like F-12.")
    return int(match[1])

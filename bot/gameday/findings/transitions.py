"""How a finding's state may move, as one pure function with a sentence for every refusal.

open -> fixing -> fixed -> verified, and fixed straight from open; accepted-risk from open or fixing, with
a reason and an expiry at most a year ahead. An acceptance that has expired shows as open again (``as_of``)
without anyone writing it back. Only a regression run verifies a fix (a later slice calls ``move`` with
VERIFIED; no command does).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.gameday.findings.model import Finding, FindingNote, FindingState

S = FindingState
ACCEPT_AT_MOST_SECONDS = 366 * 86400
"""How far ahead a risk may be accepted: a year (a leap year's included), then it is open again."""
NOTE_LIMIT = 2000
"""Characters of a note (or an acceptance's reason) kept; the rest is cut."""
ALLOWED: dict[FindingState, frozenset[FindingState]] = {
    S.OPEN: frozenset({S.FIXING, S.FIXED, S.ACCEPTED_RISK}),
    S.FIXING: frozenset({S.FIXED, S.ACCEPTED_RISK}),
    S.FIXED: frozenset({S.VERIFIED}),
    S.VERIFIED: frozenset(),
    S.ACCEPTED_RISK: frozenset(),
}


class Refused(ValueError):
    """A move the finding's state does not allow; the message is the one sentence to show."""


def as_of(finding: Finding, now: float) -> Finding:
    """The finding as it stands at ``now``: an accepted risk whose acceptance has run out is open."""
    if finding.state is S.ACCEPTED_RISK and (finding.accepted_until or 0.0) <= now:
        return finding.model_copy(update={"state": S.OPEN})
    return finding


def move(
    finding: Finding,
    to: FindingState,
    at: float,
    by: str,
    note: str = "",
    reason: str = "",
    until: float | None = None,
) -> Finding:
    """``finding`` moved to ``to`` at ``at`` by ``by`` (a user id, or ``cli``), with its note; Refused
    with the sentence to show when the move is not allowed."""
    current = as_of(finding, at)
    state = current.state
    if to is state:
        raise Refused(f"{finding.id} is {_shown(current)} already.")
    if to not in ALLOWED[state]:
        raise Refused(_refusal(current, to))
    update: dict[str, object] = {"state": to, "version": finding.version + 1}
    if to is S.ACCEPTED_RISK:
        reason = reason.strip()[:NOTE_LIMIT]
        if not reason:
            raise Refused(f"Accepting the risk of {finding.id} needs a reason (--reason).")
        if until is None or until <= at:
            raise Refused(f"Accepting the risk of {finding.id} needs an expiry in the future (--until).")
        if until - at > ACCEPT_AT_MOST_SECONDS:
            raise Refused(
                f"A risk is accepted for a year at most; {_day(until)} is further ahead than "
                f"{_day(at + ACCEPT_AT_MOST_SECONDS)}."
            )
        update |= {"accepted_until": until, "accepted_reason": reason}
        note = note or reason
    elif to is S.FIXING:
        update["fixing_at"] = at
    elif to is S.FIXED:
        update["fixed_at"] = at
    elif to is S.VERIFIED:
        update["verified_at"] = at
    entry = FindingNote(at=at, by=by, state=to, text=note.strip()[:NOTE_LIMIT])
    update["notes"] = (*finding.notes, entry)
    return finding.model_copy(update=update)


def assign(finding: Finding, owner: str, at: float, by: str) -> Finding:
    """``finding`` owned by ``owner`` (a user id) from ``at``, set by ``by``: its state stays (owning a
    finding is not working on it yet; ``fixing`` is said by its owner). Refused with the sentence to show
    for a finding that has moved on (fixed, verified, an accepted risk) or is that person's already."""
    current = as_of(finding, at)
    if current.state in (S.FIXED, S.VERIFIED):
        raise Refused(f"{finding.id} is {current.state} already; it needs no owner any more.")
    if current.state is S.ACCEPTED_RISK:
        raise Refused(_refusal(current, S.FIXING))
    if finding.owner == owner:
        raise Refused(f"{finding.id} has that owner already.")
    entry = FindingNote(at=at, by=by, state=current.state, text=f"owner: {owner}")
    return finding.model_copy(
        update={"owner": owner, "version": finding.version + 1, "notes": (*finding.notes, entry)}
    )


def _refusal(finding: Finding, to: FindingState) -> str:
    state = finding.state
    if state is S.VERIFIED:
        return f"{finding.id} is verified already: a regression run showed the fix holds."
    if state is S.ACCEPTED_RISK:
        return f"{finding.id} is an accepted risk until {_day(finding.accepted_until)}; it opens again then."
    if to is S.VERIFIED:
        return f"{finding.id} is {state}: only a fixed finding is verified, and only by a regression run."
    if state is S.FIXED and to is S.FIXING:
        return f"{finding.id} is fixed already; a regression run verifies it."
    if state is S.FIXED and to is S.ACCEPTED_RISK:
        return f"{finding.id} is fixed already; there is no risk left to accept."
    return f"{finding.id} cannot move from {state} to {to}."


def _shown(finding: Finding) -> str:
    if finding.state is S.ACCEPTED_RISK:
        return f"an accepted risk until {_day(finding.accepted_until)}"
    return str(finding.state)


def _day(at: float | None) -> str:
    return datetime.fromtimestamp(at or 0.0, UTC).strftime("%Y-%m-%d")

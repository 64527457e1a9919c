"""The weekly digest of overdue findings: when it is due (SCE_DIGEST), which findings are overdue, and
the ISO week that names one digest per channel.

Overdue, decided here once:

- an open or fixing finding whose ``due`` has passed;
- an open or fixing finding with no due date, ``NO_DUE_AFTER_SECONDS`` (30 days) after it was found:
  a finding nobody gave a date to still ages;
- an accepted risk whose acceptance has run out (it shows as open again, and nobody has looked).

Fixed and verified findings are never overdue: a fix waits for its regression run, not for people.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.gameday.findings.model import Finding, FindingState
from bot.gameday.findings.transitions import as_of

NO_DUE_AFTER_SECONDS = 30 * 86400
SHOWN = 20
"""Findings one digest lists; the rest are counted ("+N more")."""
GRACE_SECONDS = 86400.0
"""How long after its time a week's digest may still go out (a process down at 09:00 sends it at 10:00;
one down all day skips the week, and next week's lists the same findings)."""
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SLOT = re.compile(r"([a-z]{3})\s+([01][0-9]|2[0-3]):([0-5][0-9])")


class DigestError(ValueError):
    """SCE_DIGEST cannot be read; the message says what it takes."""


@dataclass(frozen=True)
class DigestSlot:
    """When in each ISO week the digest goes out, in UTC."""

    weekday: int = 0  # Monday
    hour: int = 9
    minute: int = 0

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.hour:02d}:{self.minute:02d} UTC"


DEFAULT_SLOT = DigestSlot()


def parse_slot(text: str | None) -> DigestSlot | None:
    """SCE_DIGEST: unset or empty is the default (Monday 09:00 UTC), ``off`` is None, else a weekday
    and a time like ``mon 09:00`` or ``fri 16:30``; anything else is a DigestError."""
    if text is None or not text.strip():
        return DEFAULT_SLOT
    typed = text.strip().lower()
    if typed == "off":
        return None
    match = _SLOT.fullmatch(typed)
    if match is None or match[1] not in WEEKDAYS:
        shown = "".join(c if c.isprintable() else "\ufffd" for c in text[:40])
        raise DigestError(
            f"SCE_DIGEST: {shown!r} is not a weekday and a UTC time like 'mon 09:00' (or 'off')."
        )
    return DigestSlot(WEEKDAYS.index(match[1]), int(match[2]), int(match[3]))


def week_of(at: float) -> str:
    """The ISO week of instant ``at`` in UTC, as ``2026-W07``: one digest per channel and week."""
    year, week, _ = datetime.fromtimestamp(at, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def due_at(slot: DigestSlot, at: float) -> float:
    """When the digest of the ISO week holding ``at`` is due."""
    moment = datetime.fromtimestamp(at, UTC)
    monday = (moment - timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return (monday + timedelta(days=slot.weekday, hours=slot.hour, minutes=slot.minute)).timestamp()


def sending_now(slot: DigestSlot, now: float) -> bool:
    """Whether this week's digest is due at ``now`` and not past its grace."""
    due = due_at(slot, now)
    return due <= now < due + GRACE_SECONDS


def overdue(finding: Finding, now: float) -> bool:
    """Whether ``finding`` (as stored) is overdue at ``now``; see the module's docstring."""
    state = as_of(finding, now).state  # stored, or as listed (an acceptance that ran out shows open)
    if state is FindingState.OPEN and finding.accepted_until is not None and finding.accepted_until <= now:
        return True  # nothing moves a finding back to open: this is an acceptance that ran out
    if state not in (FindingState.OPEN, FindingState.FIXING):
        return False
    deadline = finding.due if finding.due is not None else finding.created_at + NO_DUE_AFTER_SECONDS
    return deadline <= now


def overdue_by_channel(findings: Iterable[Finding], now: float) -> dict[str, list[Finding]]:
    """The overdue findings of each channel that has any, oldest first."""
    found: dict[str, list[Finding]] = {}
    for finding in sorted(findings, key=lambda f: f.number):
        if overdue(finding, now):
            found.setdefault(finding.channel, []).append(finding)
    return found


def overdue_since(finding: Finding) -> float:
    """From when ``finding`` counts as overdue (its due date, 30 days after it was found, or the end of
    its acceptance), for the digest's line."""
    lapsed = finding.state in (FindingState.ACCEPTED_RISK, FindingState.OPEN)
    if lapsed and finding.accepted_until is not None:
        return finding.accepted_until
    return finding.due if finding.due is not None else finding.created_at + NO_DUE_AFTER_SECONDS

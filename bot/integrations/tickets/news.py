"""What a ticket's news (a webhook: closed, reopened, done) does to the finding it was opened for.

Decisions, shared by GitHub and Jira:

- Closed as done (GitHub ``state_reason`` ``completed``, or none from an older server; a Jira status in
  the ``done`` category) moves the finding to ``fixed``, by ``ticket``, as the poller does.
- Closed without a fix (GitHub ``not_planned``, ``duplicate`` or any other reason) is no fix: the finding
  keeps its state and gets a note saying how the ticket was closed, so people see why it is still open.
- Reopened: the finding goes back to ``open`` only where the finding rules allow it; ``fixed`` does not
  (a regression run decides whether a fix holds), so a reopened ticket of a fixed finding is a note.

A change is written over the version it was read at; one that lost a race is read and tried once more.
Nothing here calls out: the store is this process's database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.gameday.findings.model import Finding, FindingNote, FindingState
from bot.gameday.findings.recording import FindingChanged, NoSuchFinding, Refused, change_finding
from bot.gameday.findings.transitions import ALLOWED, NOTE_LIMIT, as_of
from bot.integrations.tickets.desk import TICKET_ACTOR
from storage.finding_store import FindingStore

ATTEMPTS = 2


class Verdict(StrEnum):
    FIXED = "fixed"  # closed as done
    NOT_FIXED = "not-fixed"  # closed, but not as done (not planned, duplicate)
    REOPENED = "reopened"


@dataclass(frozen=True)
class TicketNews:
    ref: str  # as stored on the finding: the html_url (GitHub) or its key (Jira)
    verdict: Verdict
    how: str  # e.g. "closed as not_planned", for the note; printable, short


@dataclass(frozen=True)
class Applied:
    changed: bool
    sentence: str  # what came of it, for the webhook's answer and the log


def note(finding: Finding, at: float, by: str, text: str) -> Finding:
    """``finding`` with a note and no move (its state stays), one version on."""
    entry = FindingNote(at=at, by=by, state=finding.state, text=text.strip()[:NOTE_LIMIT])
    return finding.model_copy(update={"version": finding.version + 1, "notes": (*finding.notes, entry)})


def apply_news(store: FindingStore, news: TicketNews, now: float) -> Applied | None:
    """Apply ``news`` to the finding whose ticket it is; None when the ticket is no finding's."""
    for _ in range(ATTEMPTS):
        finding = store.by_ticket(news.ref)
        if finding is None:
            return None
        try:
            return _apply(store, finding, news, now)
        except FindingChanged:
            continue  # someone moved it meanwhile: read it again
    return Applied(False, f"the finding of {news.ref} kept changing; nothing was done (the poller will look)")


def _apply(store: FindingStore, finding: Finding, news: TicketNews, now: float) -> Applied:
    current = as_of(finding, now)
    if news.verdict is Verdict.FIXED:
        try:
            moved = change_finding(
                store, finding.number, FindingState.FIXED, now, TICKET_ACTOR, f"ticket {news.ref} {news.how}"
            )
        except (Refused, NoSuchFinding) as exc:
            return Applied(False, str(exc))
        return Applied(True, f"{moved.id} is fixed: its ticket was {news.how}.")
    if news.verdict is Verdict.REOPENED:
        if current.state is FindingState.OPEN:
            return Applied(False, f"{finding.id} is open already.")
        if FindingState.OPEN in ALLOWED[current.state]:  # no state allows it today; the rules decide
            moved = change_finding(
                store, finding.number, FindingState.OPEN, now, TICKET_ACTOR, f"ticket {news.ref} reopened"
            )
            return Applied(True, f"{moved.id} is open again: its ticket was reopened.")
        text = f"ticket {news.ref} reopened; {finding.id} stays {current.state}"
        return _noted(store, finding, now, text)
    text = f"ticket {news.ref} {news.how}: not a fix, {finding.id} stays {current.state}"
    return _noted(store, finding, now, text)


def _noted(store: FindingStore, finding: Finding, now: float, text: str) -> Applied:
    if not store.replace(finding, note(finding, now, TICKET_ACTOR, text)):
        raise FindingChanged(f"{finding.id} was changed by someone else just now.")
    return Applied(False, text[0].upper() + text[1:] + ".")

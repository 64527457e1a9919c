"""Opening a finding's ticket and moving findings whose tickets are done: the wiring between the
configured tracker (SCE_TICKETS), the finding store and the finding rules.

Calls to the tracker are made outside every lock; a finding is written only over the version it was read
at (``change_finding``), so a sync racing a person who marks the finding fixed changes nothing twice. A
finding gets one ticket: the reference is stored only where none is (``FindingStore.set_ticket``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.config import Settings
from bot.gameday.findings.model import Finding, FindingState, finding_id
from bot.gameday.findings.recording import FindingChanged, NoSuchFinding, Refused, change_finding
from bot.integrations.tickets.base import Ticket, TicketError, TicketTracker
from bot.integrations.tickets.github import GitHubIssues
from bot.integrations.tickets.jira import JiraIssues
from storage.finding_store import FindingStore

log = logging.getLogger(__name__)
TICKET_ACTOR = "ticket"
"""Who a move made because a ticket was closed is recorded as."""


def tracker_from(settings: Settings) -> TicketTracker:
    """The tracker SCE_TICKETS names; TicketError with the sentence naming what is missing."""
    wanted = settings.tickets
    if not wanted:
        raise TicketError("Tickets are off: set SCE_TICKETS to github:<owner>/<repo> or jira:<project>.")
    kind, _, target = wanted.partition(":")
    if kind == "github":
        if not settings.github_token:
            raise TicketError("SCE_TICKETS names GitHub but GITHUB_TOKEN is not set.")
        return GitHubIssues(target, settings.github_token, settings.github_api_url)
    if kind == "jira":
        missing = [
            name
            for name, value in (
                ("JIRA_URL", settings.jira_url),
                ("JIRA_EMAIL", settings.jira_email),
                ("JIRA_API_TOKEN", settings.jira_api_token),
            )
            if not value
        ]
        if missing:
            raise TicketError(f"SCE_TICKETS names Jira but {', '.join(missing)} is not set.")
        assert settings.jira_url and settings.jira_email and settings.jira_api_token
        if not settings.jira_url.startswith(("https://", "http://")):
            raise TicketError("JIRA_URL must be the site's address, e.g. https://example.atlassian.net.")
        return JiraIssues(target, settings.jira_url, settings.jira_email, settings.jira_api_token)
    raise TicketError(f"SCE_TICKETS must start with github: or jira:, not {kind[:20]!r}.")


class AlreadyTicketed(RuntimeError):
    """The finding has a ticket; the message names it."""


def open_ticket(
    store: FindingStore,
    tracker: TicketTracker,
    number: int,
    visible: Callable[[Finding], bool] = lambda _: True,
) -> Ticket:
    """Open the ticket of finding ``number`` once; NoSuchFinding, AlreadyTicketed or TicketError."""
    finding = store.get(number)
    if finding is None or not visible(finding):
        raise NoSuchFinding(f"There is no finding {finding_id(number)} here.")
    existing = store.ticket_of(number)
    if existing:
        raise AlreadyTicketed(f"{finding.id} has a ticket already: {existing}")
    ticket = tracker.open(finding)
    if not store.set_ticket(number, ticket.ref):
        raise AlreadyTicketed(
            f"{finding.id} got a ticket from someone else meanwhile ({store.ticket_of(number)}); "
            f"{ticket.url} was opened too and can be closed."
        )
    return ticket


@dataclass
class SyncResult:
    fixed: list[str] = field(default_factory=list)  # F-<n> moved to fixed
    still_open: int = 0
    failures: list[str] = field(default_factory=list)  # one sentence each


def sync_tickets(store: FindingStore, tracker: TicketTracker, now: Callable[[], float]) -> SyncResult:
    """Ask the tracker about every open (or fixing) finding's ticket; a done one moves it to fixed."""
    result = SyncResult()
    for finding, ref in store.ticketed():
        try:
            done = tracker.is_done(ref)
        except TicketError as exc:
            result.failures.append(f"{finding.id}: {exc}")
            continue
        if not done:
            result.still_open += 1
            continue
        try:
            change_finding(
                store, finding.number, FindingState.FIXED, now(), TICKET_ACTOR, f"ticket {ref} closed"
            )
        except (NoSuchFinding, Refused, FindingChanged) as exc:
            result.failures.append(str(exc))
            continue
        result.fixed.append(finding.id)
    return result

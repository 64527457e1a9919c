"""`/sce findings [open|mine|<scenario>]` and `/sce fixed F-<n> <note>`: parse, call the core, answer.

Visibility (SECURITY.md): a finding belongs to the channel its game day ran in. The list shows only this
channel's findings (an admin's shows every channel's); `/sce fixed` takes only a finding of this channel's
game days, and any other id gets the same answer as an id that does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.gameday.findings.model import BadFindingId, Finding, FindingState, finding_id, parse_finding_id
from bot.gameday.findings.recording import (
    FindingChanged,
    FindingFilter,
    NoSuchFinding,
    Refused,
    change_finding,
)
from bot.gameday.people.mentions import literal
from bot.gameday.running.commands import USAGE, Command
from bot.integrations.tickets.base import TicketError
from bot.integrations.tickets.desk import AlreadyTicketed, open_ticket, tracker_from
from bot.runtime.service import Services
from bot.slack.render import render
from bot.slack.ticket_links import post_ticket_link
from storage.finding_store import FindingStore

if TYPE_CHECKING:
    from bot.slack.command_desk import AnswerThen

SHOWN = 30
"""Findings one answer lists; the rest are counted (`sce findings` lists every one)."""


class FindingsDesk:
    def __init__(self, services: Services):
        self.s = services
        self.store = FindingStore(services.store.engine)

    def findings(self, command: Command, user: str, channel: str) -> str:
        """``open`` (the default), ``mine`` (the person's, whatever their state), or a scenario's."""
        word = command.args[0] if command.args else "open"
        channels = None if self.s.members.is_admin(user) else [channel]
        if word.lower() == "open":
            which, what = FindingFilter(state=FindingState.OPEN, channels=channels), "Open findings"
        elif word.lower() == "mine":
            which, what = FindingFilter(owner=user, channels=channels), "Your findings"
        else:
            which, what = FindingFilter(scenario=word, channels=channels), f"Findings of {word}"
        found = self.store.list(which, self.s.clock.now())
        where = "every channel" if channels is None else "this channel"
        return render("findings", what=what, where=where, findings=found[:SHOWN], more=len(found) - SHOWN)

    def fixed(self, command: Command, user: str, channel: str) -> str:
        """Mark a finding of this channel's game days fixed, with the note typed after its id."""
        if not command.args:
            return f"Which finding? Usage: `{literal(USAGE['fixed'])}`; `/sce findings` lists them."
        typed = command.args[0]
        try:
            number = parse_finding_id(typed)
        except BadFindingId as exc:
            return literal(str(exc))
        parts = command.rest.split(maxsplit=1)
        note = parts[1] if len(parts) > 1 else ""

        def here(finding: Finding) -> bool:
            return finding.channel == channel

        try:
            changed = change_finding(
                self.store, number, FindingState.FIXED, self.s.clock.now(), user, note, visible=here
            )
        except (NoSuchFinding, Refused, FindingChanged) as exc:
            return literal(str(exc))
        return render("finding_fixed", f=changed, note=changed.notes[-1].text if changed.notes else "")

    def ticket(self, command: Command, user: str, channel: str) -> str | AnswerThen:
        """Open the ticket of a finding of this channel's game days: answered at once, the tracker asked
        after the ack (it may take seconds), and what came of it posted through the outbox (ticket_links)."""
        from bot.slack.command_desk import AnswerThen

        if not command.args:
            return f"Which finding? Usage: `{literal(USAGE['ticket'])}`; `/sce findings` lists them."
        try:
            number = parse_finding_id(command.args[0])
        except BadFindingId as exc:
            return literal(str(exc))
        found = self.store.get(number)
        if found is None or found.channel != channel:
            return literal(str(NoSuchFinding(f"There is no finding {finding_id(number)} here.")))
        existing = self.store.ticket_of(number)
        if existing:
            return render("finding_ticket", f=found, url=existing, already=True)
        try:
            tracker = tracker_from(self.s.settings)
        except TicketError as exc:
            return literal(str(exc))

        def here(finding: Finding) -> bool:
            return finding.channel == channel

        def open_it() -> None:
            key = f"ticket:{number}"  # a finding's ticket is told once
            try:
                opened = open_ticket(self.store, tracker, number, visible=here)
                text = render("finding_ticket", f=found, url=opened.url, already=False)
            except (NoSuchFinding, AlreadyTicketed, TicketError) as exc:
                text = literal(str(exc))
                key = f"ticket:{number}:failed:{self.s.clock.now():.6f}"  # each try's failure is its own
            # through the outbox of the finding's game day: retried when Slack fails, never doubled
            post_ticket_link(self.s.engine, found.gameday, key, text)

        return AnswerThen(f"Opening a ticket for `{found.id}`...", open_it)

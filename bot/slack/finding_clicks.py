"""What a click on a finding's button does, and who may click (SECURITY.md: a game day is visible only in
its channel, to its members and to admins).

A click counts only when the person is in the channel the click came from (or an admin: Slack shows a
public channel's messages to people outside it, buttons and all), and the finding it names belongs to a
game day of that same channel. A button's value is whatever reached us: one longer than a finding id, or
not one, names no finding; one of another channel is answered exactly like one that does not exist. Every
refusal is one sentence and echoes nothing the payload carried. The changes are the commands' own:
``assign_owner`` and ``change_finding`` (the finding rules), ``open_ticket`` (the same call as `/sce
ticket`, made after the click's ack, outside every lock, at most once at a time per finding here).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from bot.gameday.findings.model import BadFindingId, Finding, FindingState, finding_id, parse_finding_id
from bot.gameday.findings.recording import (
    FindingChanged,
    NoSuchFinding,
    Refused,
    assign_owner,
    change_finding,
)
from bot.gameday.findings.transitions import NOTE_LIMIT, move
from bot.gameday.people.mentions import literal
from bot.gameday.people.participants import is_user_id
from bot.integrations.tickets.base import TicketError
from bot.integrations.tickets.desk import AlreadyTicketed, open_ticket, tracker_from
from bot.runtime.service import Services
from bot.slack import blocks
from bot.slack.finding_buttons import FindingButtons, fix_note_view
from bot.slack.render import render

NOT_A_FINDING = "That button names no finding of this channel; `/sce findings` lists them."
NOT_A_MEMBER = "Only the people in this channel (and admins) can change its findings."
NOT_A_PERSON = "Pick a person from the list to own it."
NO_NOTE = "Say in a few words what fixed it."
TOO_LONG = f"A note is at most {NOTE_LIMIT:,} characters."
VALUE_CHARS = 40
"""A finding id is ``F-`` and at most 19 digits: a longer value is no button of ours, and is not read."""


@dataclass(frozen=True)
class Click:
    """Who clicked, in which channel (the payload's), on the button of which finding (as it came)."""

    user: str
    channel: str
    typed: str


@dataclass(frozen=True)
class Answer:
    """The sentence for the person; ``changed``: the game day whose findings message is to be drawn again."""

    text: str
    changed: str | None = None

    @property
    def ok(self) -> bool:
        return self.changed is not None


class FindingClicks:
    def __init__(self, services: Services, buttons: FindingButtons):
        self.s = services
        self.buttons = buttons
        self.store = buttons.findings
        self._lock = threading.Lock()
        self._ticketing: set[int] = set()  # findings whose ticket is being opened by this process

    def finding(self, click: Click) -> Finding | str:
        """The finding the click may act on, or the sentence why not."""
        if not click.user or not click.channel:
            return NOT_A_FINDING
        if not self.s.members.may_see(click.channel, click.user):
            return NOT_A_MEMBER
        if len(click.typed) > VALUE_CHARS:
            return NOT_A_FINDING
        try:
            number = parse_finding_id(click.typed)
        except BadFindingId:
            return NOT_A_FINDING
        found = self.store.get(number)
        if found is None or found.channel != click.channel:
            return f"There is no finding {finding_id(number)} here."
        return found

    def assign(self, click: Click, selected: str) -> Answer:
        """Assign owner: the person picked owns the finding; its state stays (transitions.assign)."""
        found = self.finding(click)
        if isinstance(found, str):
            return Answer(found)
        if not is_user_id(selected):
            return Answer(NOT_A_PERSON)
        try:
            changed = assign_owner(
                self.store, found.number, selected, self.s.clock.now(), click.user, self._here(click)
            )
        except (NoSuchFinding, Refused, FindingChanged) as exc:
            return Answer(literal(str(exc)))
        return Answer(render("finding_owner", f=changed), changed.gameday)

    def fix_form(self, click: Click) -> blocks.Block | Answer:
        """Mark fixed: the modal asking for the note, or why there is none (a finding that moved on)."""
        found = self.finding(click)
        if isinstance(found, str):
            return Answer(found)
        try:
            move(found, FindingState.FIXED, self.s.clock.now(), click.user)  # only asked: may it move?
        except Refused as exc:
            return Answer(literal(str(exc)))
        return fix_note_view(found, click.channel)

    def fixed(self, click: Click, note: str) -> Answer:
        """The modal sent: the finding moves to fixed with its note, as `/sce fixed` moves it."""
        found = self.finding(click)
        if isinstance(found, str):
            return Answer(found)
        if len(note) > NOTE_LIMIT:
            return Answer(TOO_LONG)
        if not note.strip():
            return Answer(NO_NOTE)
        try:
            changed = change_finding(
                self.store,
                found.number,
                FindingState.FIXED,
                self.s.clock.now(),
                click.user,
                note,
                visible=self._here(click),
            )
        except (NoSuchFinding, Refused, FindingChanged) as exc:
            return Answer(literal(str(exc)))
        text = render("finding_fixed", f=changed, note=changed.notes[-1].text if changed.notes else "")
        return Answer(text, changed.gameday)

    def ticket(self, click: Click) -> Answer:
        """Open ticket: the tracker asked once per finding; a second click names the first ticket."""
        found = self.finding(click)
        if isinstance(found, str):
            return Answer(found)
        existing = self.store.ticket_of(found.number)
        if existing:
            return Answer(render("finding_ticket", f=found, url=existing, already=True))
        try:
            tracker = tracker_from(self.s.settings)
        except TicketError as exc:
            return Answer(literal(str(exc)))
        with self._lock:
            if found.number in self._ticketing:
                return Answer(f"A ticket for `{found.id}` is being opened right now.")
            self._ticketing.add(found.number)
        try:
            opened = open_ticket(self.store, tracker, found.number, visible=self._here(click))
        except (NoSuchFinding, AlreadyTicketed, TicketError) as exc:
            return Answer(literal(str(exc)))
        finally:
            with self._lock:
                self._ticketing.discard(found.number)
        return Answer(render("finding_ticket", f=found, url=opened.url, already=False), found.gameday)

    @staticmethod
    def _here(click: Click) -> HereOnly:
        return HereOnly(click.channel)


@dataclass(frozen=True)
class HereOnly:
    """A finding is visible to a click only in the channel the click came from."""

    channel: str

    def __call__(self, finding: Finding) -> bool:
        return finding.channel == self.channel

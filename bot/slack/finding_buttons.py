"""The findings of a game day under its debrief, each with its buttons: Assign owner (a user picker),
Open ticket (only when SCE_TICKETS is set) and Mark fixed (a modal asks for the note).

One message in the game day's thread, after the debrief: ``Finishing.after_publish`` asks ``wanted`` and
the post goes through the outbox (kind and key ``findings``, the key in its Slack metadata), so a retry
finds it instead of posting it twice. After each change it is drawn again from the store
(``refresh``): the message found by that key, never one a payload names, so a forged click cannot make
the bot rewrite another of its messages. Who may click what: bot/slack/finding_clicks.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.gameday.findings.model import Finding, FindingState
from bot.gameday.findings.recording import FindingFilter
from bot.gameday.findings.transitions import NOTE_LIMIT
from bot.gameday.people.participants import is_user_id
from bot.gameday.ports import GameDayRecord
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState
from bot.slack import blocks
from bot.slack.announcer import SlackAnnouncer
from bot.slack.fit import MESSAGE_BLOCKS, cut, fallback, section
from bot.slack.render import render
from storage.finding_store import FindingStore
from storage.sql_store import SqlStore

log = logging.getLogger(__name__)
POST = "findings"
"""The outbox post kind, and the key (after the game day's id) of its message."""
SHOWN = 10
"""Findings shown with their controls; the rest are counted, with the command that lists them."""
OPEN_STATES = frozenset({FindingState.OPEN, FindingState.FIXING})
"""States whose findings still have controls: the others have moved on, and say so."""
FIX_BLOCK, FIX_ACTION = "fix_note", "note"
# a header, two blocks a finding, the count of the rest: within a message's limit with room to spare
assert 1 + 2 * SHOWN + 1 <= MESSAGE_BLOCKS


class FindingButtons:
    def __init__(
        self,
        findings: FindingStore,
        gamedays: SqlStore,
        announcer: SlackAnnouncer,
        client: WebClient,
        now: Callable[[], float],
        tickets: bool,
    ):
        """``tickets``: SCE_TICKETS is set, so findings get an Open ticket button."""
        self.findings = findings
        self.gamedays = gamedays
        self.announcer = announcer
        self.client = client
        self.now = now
        self.tickets = tickets

    def wanted(self, record: GameDayRecord) -> str | None:
        """The ``after_publish`` hook: the follow-up's post kind when the game day left findings."""
        return POST if self._of(record.id) else None

    def send(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, payload: Any, key: str
    ) -> str:
        """The outbox's sender: the message as the store has it now, posted into the thread."""
        text, shown = self.message(record)
        return self.announcer.thread_post(record, text, shown, key)

    def message(self, record: GameDayRecord) -> tuple[str, list[blocks.Block]]:
        """The follow-up's fallback text and blocks for the game day's findings as they stand now."""
        found = self._of(record.id)
        header = render(
            "findings_follow_up",
            gameday=record.id,
            total=len(found),
            tickets=self.tickets,
            scenario=record.scenario_id,
        )
        shown: list[blocks.Block] = [section(header)]
        for finding in found[:SHOWN]:
            shown += self.finding_blocks(finding, self.findings.ticket_of(finding.number))
        if len(found) > SHOWN:
            more = render("findings_more", more=len(found) - SHOWN, scenario=record.scenario_id)
            shown.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(more, 3000)}]})
        return fallback(header), shown

    def finding_blocks(self, finding: Finding, ticket: str | None) -> list[blocks.Block]:
        """A finding's section, and its controls while it is open or being fixed."""
        card = section(render("finding_card", f=finding, ticket=ticket))
        if finding.state not in OPEN_STATES:
            return [{**card, "block_id": f"finding:{finding.id}"}]
        picker = blocks.user_picker(blocks.FINDING_OWNER, "Assign owner")
        if finding.owner and is_user_id(finding.owner):
            picker["initial_user"] = finding.owner
        controls = [picker]
        if self.tickets and ticket is None:
            controls.append(blocks.button("Open ticket", blocks.FINDING_TICKET, finding.id))
        controls.append(blocks.button("Mark fixed", blocks.FINDING_FIXED, finding.id, "primary"))
        return [card, blocks.actions(f"finding:{finding.id}", *controls)]

    def refresh(self, gameday_id: str) -> None:
        """Draw the game day's follow-up again (best-effort: the store has the change whatever Slack says)."""
        try:
            record = self.gamedays.get(gameday_id)
            ts = self.announcer.find_posted(record, f"{gameday_id}:{POST}") if record else None
            if record is None or ts is None:
                return
            text, shown = self.message(record)
            self.client.chat_update(channel=record.channel, ts=ts, text=text, blocks=shown)
        except Exception:
            log.warning("could not show the findings of %s as they are now", gameday_id, exc_info=True)

    def _of(self, gameday_id: str) -> list[Finding]:
        return self.findings.list(FindingFilter(gameday=gameday_id), self.now())


def fix_note_view(finding: Finding, channel: str) -> blocks.Block:
    """The modal Mark fixed opens: the finding, and the note (2,000 characters at most, as a note is
    kept). ``private_metadata`` says which finding in which channel; it is checked again on submit."""
    return {
        "type": "modal",
        "callback_id": blocks.FIX_NOTE,
        "private_metadata": f"{finding.id} {channel}",
        "title": {"type": "plain_text", "text": "Mark fixed"},
        "submit": {"type": "plain_text", "text": "Mark fixed"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(render("finding_fix_form", f=finding)),
            {
                "type": "input",
                "block_id": FIX_BLOCK,
                "label": {"type": "plain_text", "text": "What fixed it?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": FIX_ACTION,
                    "multiline": True,
                    "max_length": NOTE_LIMIT,
                },
            },
        ],
    }

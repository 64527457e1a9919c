"""The "acknowledged" confirmation is posted after the acknowledgement is committed and its game day
unlocked: while Slack takes its time with that post, other input of the same game day goes through.
On every store; the slow Slack is an announcer call that waits for another transaction to finish."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from core_harness import CoreHarness, scenario_text
from databases import STORES, make_store

from bot.gameday.ports import GameDayRecord
from bot.gameday.state import PageState
from bot.gameday.timeline import Kind

ROSTER = {"primary": "U1", "secondary": "U2"}


@pytest.fixture(params=STORES)
def h(request: pytest.FixtureRequest, tmp_path: Path) -> CoreHarness:
    return CoreHarness(make_store(request.param, tmp_path))


def test_a_slow_confirmation_post_holds_no_lock(h: CoreHarness) -> None:
    outcome = h.engine.start(scenario_text(), "C1", "UFAC", ROSTER)
    gameday = outcome.gameday_id
    assert outcome.ok and gameday
    h.advance_to(h.clock.now() + 1)  # the first page is out
    others_went_through: list[bool] = []
    acknowledged = h.announcer.acknowledged

    def slow_slack(record: GameDayRecord, who: str, what: str, seconds: float | None) -> None:
        # while this post is "in flight", a note from someone else must be able to commit
        note = threading.Thread(
            target=lambda: h.engine.add_note(gameday, "note", "meanwhile", "U2", h.clock.now(), "d-note")
        )
        note.start()
        note.join(3)
        others_went_through.append(not note.is_alive())
        acknowledged(record, who, what, seconds)

    h.announcer.acknowledged = slow_slack  # type: ignore[method-assign]  # a test double for this one call
    assert h.engine.acknowledge(gameday, "U1", h.clock.now(), "d-ack").ok
    assert others_went_through == [True]
    kinds = [e.kind for e in h.store.events(gameday)]
    assert Kind.ACKNOWLEDGED in kinds and kinds.index(Kind.ACKNOWLEDGED) < kinds.index(Kind.NOTE)
    assert any(kind == "ack" for kind, _ in h.announcer.posts)


def test_the_page_shown_as_taken_and_a_notes_reaction_hold_no_lock_and_go_once(h: CoreHarness) -> None:
    outcome = h.engine.start(scenario_text(), "C1", "UFAC", ROSTER)
    gameday = outcome.gameday_id
    assert outcome.ok and gameday
    h.advance_to(h.clock.now() + 1)
    went_through: list[bool] = []

    def meanwhile(delivery: str) -> None:
        """Another input of the same game day while this Slack call is in flight: it must commit."""
        note = threading.Thread(
            target=lambda: h.engine.add_note(gameday, "note", "meanwhile", "U2", h.clock.now(), delivery)
        )
        note.start()
        note.join(3)
        went_through.append(not note.is_alive())

    taken, noted = h.announcer.page_taken, h.announcer.noted

    def page_taken(record: GameDayRecord, page: PageState, by: str, seconds: float) -> None:
        meanwhile("d-1")
        taken(record, page, by, seconds)

    def note_taken(record: GameDayRecord, message_ts: str, kind: str) -> None:
        meanwhile("d-2")
        noted(record, message_ts, kind)

    h.announcer.page_taken = page_taken  # type: ignore[method-assign]  # the recording announcer, wrapped
    h.announcer.noted = note_taken  # type: ignore[method-assign]  # likewise
    page_ts = h.page_ts(gameday, "p0")
    for _ in range(2):  # the second is Slack delivering the same click again
        assert h.engine.acknowledge(gameday, "U1", page_ts + 42, "d-ack").ok
        assert h.engine.add_note(gameday, "gap", "no runbook", "U1", page_ts + 50, "d-gap", "123.4").ok
    assert went_through == [True, True]
    assert [ts for ts, _ in h.announcer.updated] == [f"{page_ts:.6f}"]
    assert h.announcer.updated[0][1] == "p0 taken by U1 after 42.0"
    assert h.announcer.reactions == [("123.4", "gap")]

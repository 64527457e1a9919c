"""The "acknowledged" confirmation is posted after the acknowledgement is committed and its game day
unlocked: while Slack takes its time with that post, other input of the same game day goes through.
On every store; the slow Slack is an announcer call that waits for another transaction to finish."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from core_harness import CoreHarness, scenario_text
from databases import STORES, make_store

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

    def slow_slack(record, who, what, seconds):  # type: ignore[no-untyped-def]
        # while this post is "in flight", a note from someone else must be able to commit
        note = threading.Thread(
            target=lambda: h.engine.add_note(gameday, "note", "meanwhile", "U2", h.clock.now(), "d-note")
        )
        note.start()
        note.join(3)
        others_went_through.append(not note.is_alive())
        acknowledged(record, who, what, seconds)

    h.announcer.acknowledged = slow_slack  # type: ignore[method-assign]
    assert h.engine.acknowledge(gameday, "U1", h.clock.now(), "d-ack").ok
    assert others_went_through == [True]
    kinds = [e.kind for e in h.store.events(gameday)]
    assert Kind.ACKNOWLEDGED in kinds and kinds.index(Kind.ACKNOWLEDGED) < kinds.index(Kind.NOTE)
    assert any(kind == "ack" for kind, _ in h.announcer.posts)

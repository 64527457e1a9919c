"""Approval before anything runs: the two-person rule, on the core with a virtual clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_harness import CoreHarness, scenario_text
from databases import STORES, make_store

from bot.gameday.state import Status, fold
from bot.gameday.timeline import Kind

ROSTER = {"primary": "U1", "secondary": "U2"}


def approval_scenario() -> str:
    return scenario_text().replace(
        "approval: {required: false, approvers: []}",
        'approval: {required: true, approvers: ["<@UAPP>"]}\nchange: {ticket: CAB-1}',
    )


@pytest.fixture(params=STORES)
def h(request: pytest.FixtureRequest, tmp_path: Path) -> CoreHarness:
    return CoreHarness(make_store(request.param, tmp_path))


def test_only_an_approver_other_than_the_starter_can_release_the_steps(h: CoreHarness) -> None:
    outcome = h.engine.start(approval_scenario(), "C1", "UFAC", ROSTER)
    assert outcome.ok and outcome.gameday_id
    gd = outcome.gameday_id
    h.advance_to(h.clock.now() + 120, step=10)
    assert fold(h.store.events(gd)).status is Status.AWAITING_APPROVAL
    assert not [e for e in h.store.events(gd) if e.kind is Kind.PAGE_SENT]

    starter = h.engine.approve(gd, "UFAC", h.clock.now(), h.delivery())
    assert not starter.ok and "Two-person rule" in starter.message
    stranger = h.engine.approve(gd, "U9", h.clock.now(), h.delivery())
    assert not stranger.ok and "<@UAPP>" in stranger.message

    approved_at = h.clock.now()
    assert h.engine.approve(gd, "UAPP", approved_at, h.delivery()).ok
    h.advance_to(approved_at + 2)
    events = h.store.events(gd)
    kinds = [e.kind for e in events]
    assert kinds.index(Kind.APPROVED) < kinds.index(Kind.PAGE_SENT)
    approval = next(e for e in events if e.kind is Kind.APPROVED)
    # the game day exists:
    assert approval.actor == "UAPP" and approval.data["scenario_hash"] == h.store.get(gd).scenario_hash  # type: ignore[union-attr]
    page = next(e for e in events if e.kind is Kind.PAGE_SENT)
    assert page.at >= approved_at


def test_a_game_day_nobody_approves_ends_with_its_time_box(h: CoreHarness) -> None:
    gd = h.engine.start(approval_scenario(), "C1", "UFAC", ROSTER).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 31 * 60, step=60)
    state = fold(h.store.events(gd))
    assert state.status is Status.ABORTED and state.end_reason == "never approved"
    assert not state.pages and not state.steps_ran

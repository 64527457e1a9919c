"""Pause, resume, tabletop steps and roles on the core, with a virtual clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_harness import CoreHarness, scenario_text
from databases import STORES, make_store

from bot.gameday.state import Status, fold
from bot.gameday.timeline import Kind

ROSTER = {"primary": "U1", "secondary": "U2"}

TABLETOP = """
id: tabletop-drill
title: Tabletop drill
mode: tabletop
charter: {objective: Practise decisions., hypothesis: The team escalates within 5 minutes.}
guardrails: {max_duration: 1h}
steps:
  - {at: 0s, say: "Inject 1: the SIEM shows an odd login", facilitator_note: "Wait for a question on MFA"}
  - {at: 5m, say: "Inject 2: the same account creates a token"}
  - {at: 10m, say: "Inject 3: egress to an unknown ASN", facilitator_note: "Ask who owns the firewall"}
"""


@pytest.fixture(params=STORES)
def h(request: pytest.FixtureRequest, tmp_path: Path) -> CoreHarness:
    return CoreHarness(make_store(request.param, tmp_path))


def step_times(h: CoreHarness, gd: str) -> dict[int, float]:
    return {e.data["step"]: e.at for e in h.store.events(gd) if e.kind is Kind.STEP_RAN}


def test_pause_shifts_every_later_step_by_the_paused_time(h: CoreHarness) -> None:
    gd = h.engine.start(scenario_text(), "C1", "UFAC", ROSTER).gameday_id
    assert gd
    start = h.clock.now()
    h.advance_to(start + 30)
    assert h.engine.pause(gd, "UFAC").ok
    assert fold(h.store.events(gd)).status is Status.PAUSED
    h.advance_to(start + 30 + 200, step=10)  # the 1m step would have run during the pause
    assert set(step_times(h, gd)) == {0}
    resumed = h.engine.resume(gd, "UFAC")
    assert resumed.ok
    h.advance_to(start + 30 + 200 + 5 * 60, step=1)
    times = step_times(h, gd)
    assert times[1] - start == pytest.approx(60 + 200, abs=1.5)
    assert times[2] - start == pytest.approx(4 * 60 + 200, abs=1.5)
    assert not h.engine.resume(gd, "UFAC").ok  # not paused any more


def test_tabletop_steps_advance_only_with_next(h: CoreHarness) -> None:
    gd = h.engine.start(TABLETOP, "C1", "UFAC", ROSTER).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 15 * 60, step=30)
    assert set(step_times(h, gd)) == {0}  # only the opening inject ran by itself
    second = h.engine.next_step(gd, "UFAC")
    assert second.ok and "Step 2 of 3" in second.message and "Facilitator note" not in second.message
    third = h.engine.next_step(gd, "UFAC")
    assert "Ask who owns the firewall" in third.message
    assert set(step_times(h, gd)) == {0, 1, 2}
    assert not h.engine.next_step(gd, "UFAC").ok or fold(h.store.events(gd)).status.is_over


def test_next_is_refused_for_live_scenarios(h: CoreHarness) -> None:
    gd = h.engine.start(scenario_text(), "C1", "UFAC", ROSTER).gameday_id
    assert gd
    outcome = h.engine.next_step(gd, "UFAC")
    assert not outcome.ok and "live scenario" in outcome.message


def test_roles_go_on_the_timeline(h: CoreHarness) -> None:
    gd = h.engine.start(scenario_text(), "C1", "UFAC", ROSTER).gameday_id
    assert gd
    at = h.clock.now() + 12.5
    assert h.engine.assign_role(gd, "commander", "U2", "UFAC", at, h.delivery()).ok
    state = fold(h.store.events(gd))
    assert state.roles == {"commander": "U2"}
    role = next(e for e in h.store.events(gd) if e.kind is Kind.ROLE_ASSIGNED)
    assert role.at == at and role.actor == "UFAC"


def test_escalate_now_pages_the_secondary_at_once(h: CoreHarness) -> None:
    gd = h.engine.start(scenario_text(), "C1", "UFAC", ROSTER).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 5)
    assert h.engine.escalate_now(gd, "p0", "U1", h.delivery()).ok
    page = fold(h.store.events(gd)).pages["p0"]
    assert page.escalated_to == "U2"
    assert not h.engine.escalate_now(gd, "p0", "U1", h.delivery()).ok

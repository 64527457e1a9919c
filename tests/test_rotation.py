"""On-call rotations: who is on call at a moment, and a handover in the middle of a drill."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from core_harness import CoreHarness, scenario_text

from bot.gameday.people.roster import RosterError, resolve_roster
from bot.gameday.people.rotation import RotationError, on_call, parse_rotation
from bot.gameday.scenario.loading import parse_scenario
from bot.gameday.state import fold

ROOT = Path(__file__).resolve().parents[1]
BERLIN = ZoneInfo("Europe/Berlin")
WEEKLY = """
id: secops
members: [U1, U2, U3]
handoff: {every: week, weekday: monday, time: "09:00"}
timezone: Europe/Berlin
start: 2026-01-05
"""


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def test_weekly_rotation_turns_on_the_handoff_minute() -> None:
    rotation = parse_rotation(WEEKLY)
    # 2026-01-05 is a Monday: U1 from 09:00 that day, U2 a week later, U3 after that, then U1 again.
    assert on_call(rotation, at("2026-01-05T09:00:00")).primary == "U1"
    assert on_call(rotation, at("2026-01-12T08:59:59")).primary == "U1"
    assert on_call(rotation, at("2026-01-12T09:00:00")).primary == "U2"
    assert on_call(rotation, at("2026-01-19T10:00:00")).primary == "U3"
    assert on_call(rotation, at("2026-01-26T09:00:00")).primary == "U1"
    now = on_call(rotation, at("2026-01-14T12:00:00"))
    assert (now.primary, now.secondary, now.next_primary) == ("U2", "U3", "U3")
    assert now.next_handoff_at == at("2026-01-19T09:00:00")


def test_handoff_keeps_its_wall_clock_time_across_daylight_saving() -> None:
    rotation = parse_rotation(WEEKLY)
    # Berlin moves to summer time on 2026-03-29; the handoff stays at 09:00 local time.
    before = on_call(rotation, at("2026-03-30T08:59:00"))
    after = on_call(rotation, at("2026-03-30T09:00:00"))
    assert before.primary != after.primary
    assert before.next_handoff_at == at("2026-03-30T09:00:00")


def test_daily_rotation_and_bad_files() -> None:
    daily = parse_rotation(WEEKLY.replace("every: week", "every: day"))
    assert on_call(daily, at("2026-01-06T09:00:00")).primary == "U2"
    with pytest.raises(RotationError, match="timezone"):
        parse_rotation(WEEKLY.replace("Europe/Berlin", "Mars/Olympus"))
    with pytest.raises(RotationError, match="members"):
        parse_rotation(WEEKLY.replace("[U1, U2, U3]", "[alice, bob]"))


def test_the_shipped_rotation_file_loads() -> None:
    rotation = parse_rotation((ROOT / "rotations" / "secops.yaml").read_text())
    assert len(rotation.members) >= 2


def test_a_handover_mid_drill_pages_the_new_primary() -> None:
    h = CoreHarness()
    h.clock.advance(at("2026-01-12T08:57:00") - h.clock.now())  # three minutes before U1 hands to U2
    scenario = parse_scenario(scenario_text())
    roster = resolve_roster(scenario, {}, rotation_text=WEEKLY, now=h.clock.now())
    assert (roster["primary"], roster["secondary"]) == ("U1", "U2")
    gd = h.engine.start(scenario_text(), "C1", "UFAC", roster).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 5 * 60)  # p0 at 0s goes to U1; p2 at 4m is after the handoff
    pages = fold(h.store.events(gd)).pages
    assert pages["p0"].responder == "U1"
    assert pages["p2"].responder == "U2"


def test_explicit_people_override_the_rotation_and_nothing_at_all_is_a_sentence() -> None:
    scenario = parse_scenario(scenario_text())
    roster = resolve_roster(scenario, {"oncall": "<@U7>", "secondary": "<@U8>"}, rotation_text=WEEKLY)
    assert roster == {"primary": "U7", "secondary": "U8"}
    with pytest.raises(RosterError, match="oncall.group or oncall.rotation"):
        resolve_roster(scenario, {})
    from_group = resolve_roster(scenario, {}, group_members=["U5", "U6", "U9"])
    assert (from_group["primary"], from_group["secondary"]) == ("U5", "U6")


def test_an_unknown_rotation_names_the_known_ones_and_not_the_servers_folder(tmp_path: Path) -> None:
    from bot.gameday.scenario.catalog import RotationCatalog, UnknownScenario

    folder = tmp_path / "rotations"
    folder.mkdir()
    (folder / "secops.yaml").write_text(WEEKLY)
    (folder / "sre.yml").write_text(WEEKLY.replace("secops", "sre"))
    with pytest.raises(UnknownScenario) as unknown:
        RotationCatalog(folder).text_for("netops")
    assert str(unknown.value) == "There is no rotation `netops` (known: secops, sre)."
    assert str(tmp_path) not in str(unknown.value)

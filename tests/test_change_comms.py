"""Change windows, change tickets and "no surprise chaos" through the Slack surface: a local workspace
reaching `sce serve`'s app over signed HTTP, SQLite, a virtual clock.

The clock starts on Tue 2026-12-01 09:00 UTC (10:00 in Berlin, CET). The drill's window is Mondays
10:00-16:00 Europe/Berlin, so its next opening is Mon 2026-12-07 10:00 CET = 09:00 UTC.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sce_inline import sce_here
from served_app import local_settings, served_app

from bot.debrief.bundle import write_bundle
from bot.debrief.render import render_redacted
from bot.gameday.clock import VirtualClock
from bot.gameday.running.schedule import COMMS_REMIND_KEY, reminder_offsets, reminders_due
from bot.runtime.service import Services
from bot.slack.announcer import POST_EVENT
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace
from bot.workspace.state import BOT_USER_ID

DRILL = """\
id: cab-drill
title: CAB drill
charter: {objective: o, hypothesis: h}
change: {ticket: CAB-1234, url: "https://change.example.com/CAB-1234"}
window: {days: [mon], from: "10:00", to: "16:00", tz: Europe/Berlin}
comms: {announce: ["#sre", "C3HELP0001", "#app-team"], remind_before: 2h}
guardrails: {max_duration: 10m}
oncall: {escalate_after: null}
steps:
  - {at: 0s, say: hello}
  - {at: 5m, say: still here}
"""
CHANNELS = {"C1": "gameday", "C2SRE00001": "sre", "C3HELP0001": "helpdesk", "C4APPS0001": "app-team"}
SRE, HELPDESK, APPS = "C2SRE00001", "C3HELP0001", "C4APPS0001"
NEXT_OPENING = "the next opening is Mon 2026-12-07 10:00 CET (09:00 UTC)."
MONDAY_10_BERLIN = datetime(2026, 12, 7, 9, 0, tzinfo=UTC).timestamp()


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


Live = tuple[VirtualClock, Services, WorkspaceClient, LocalWorkspace, Path]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "cab-drill.yaml").write_text(DRILL)
    clock = VirtualClock(utc("2026-12-01T09:00:00"))
    members = {APPS: ["UFAC", "U1"]}  # the bot was never invited there
    workspace = LocalWorkspace(
        signing_secret="s", clock=clock.now, channels=CHANNELS, members=members
    ).start()
    settings = local_settings(workspace, tmp_path, scenarios)
    with served_app(workspace, settings, clock) as (services, people):
        yield clock, services, people, workspace, scenarios
    workspace.stop()


def top_level(people: WorkspaceClient, channel: str) -> list[str]:
    return [m.get("text") or "" for m in people.messages(channel) if m.get("thread_ts") in (None, m["ts"])]


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    """Posts that follow an answer or a commit go out on a thread of their own: wait for them."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_a_start_outside_the_window_is_refused_with_the_next_opening_and_a_dry_run_is_not(live: Live) -> None:
    clock, services, people, _, _ = live
    refused = people.slash("UFAC", "/sce", "start cab-drill oncall=<@U1> secondary=<@U2>")
    assert refused["text"] == (
        "Outside this scenario's change window (Mon 10:00-16:00 Europe/Berlin); " + NEXT_OPENING
    )
    assert services.store.active_in_channel("C1") == []
    assert top_level(people, SRE) == []  # nothing started, nothing announced
    # straight to the engine (what a scheduled start and `sce run` go through): the same refusal
    outcome = services.engine.start(DRILL, "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    assert not outcome.ok and outcome.message.endswith(NEXT_OPENING)
    rehearsal = people.slash("UFAC", "/sce", "start cab-drill dry-run oncall=<@U1> secondary=<@U2>")
    assert "Outside" not in rehearsal["text"]
    eventually(lambda: len(services.store.active_in_channel("C1")) == 1)
    (record,) = services.store.active_in_channel("C1")
    assert record.dry_run
    # a dry run changes nothing, so it announces nothing either
    clock.advance(1)
    services.timers.poll()
    assert top_level(people, SRE) == [] and top_level(people, HELPDESK) == []


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-12-02 10:00 tz=Europe/Berlin", NEXT_OPENING),  # a Wednesday
        ("2026-12-07 09:59 tz=Europe/Berlin", NEXT_OPENING),  # the Monday, a minute early
        ("2026-12-07 16:00 tz=Europe/Berlin", "the next opening is Mon 2026-12-14 10:00 CET (09:00 UTC)."),
        ("2026-12-07 15:30", "the next opening is Mon 2026-12-14 10:00 CET (09:00 UTC)."),  # UTC: 16:30 CET
    ],
)
def test_a_booking_outside_the_window_is_refused_when_it_is_made(
    live: Live, when: str, expected: str
) -> None:
    _, services, people, _, _ = live
    answer = people.slash("UFAC", "/sce", f"schedule cab-drill {when}")
    assert (
        answer["text"] == "Outside this scenario's change window (Mon 10:00-16:00 Europe/Berlin); " + expected
    )
    assert services.schedules.active() == []


def test_a_scheduled_start_is_refused_when_its_day_became_a_blackout(live: Live) -> None:
    clock, services, people, _, scenarios = live
    booked = people.slash(
        "UFAC", "/sce", "schedule cab-drill 2026-12-07 10:00 tz=Europe/Berlin oncall=<@U1> secondary=<@U2>"
    )
    assert "sch-" in booked["text"], booked
    # the change board freezes that Monday after the booking was made
    (scenarios / "cab-drill.yaml").write_text(
        DRILL.replace("tz: Europe/Berlin}", "tz: Europe/Berlin, blackout: [2026-12-07]}")
    )
    clock.advance(MONDAY_10_BERLIN + 1 - clock.now())
    services.timers.poll()
    eventually(lambda: any("could not start" in t for t in top_level(people, "C1")))
    said = [t for t in top_level(people, "C1") if "could not start" in t]
    assert len(said) == 1, top_level(people, "C1")
    assert (
        "Outside this scenario's change window (Mon 10:00-16:00 Europe/Berlin) (2026-12-07 is a blackout "
        "date); the next opening is Mon 2026-12-14 10:00 CET (09:00 UTC)."
    ) in said[0]
    assert services.store.active_in_channel("C1") == []


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [v or "" for k, v in attrs if k == "href"]


def test_announcements_go_out_once_at_each_of_the_four_moments(live: Live, tmp_path: Path) -> None:
    clock, services, people, workspace, _ = live
    start = MONDAY_10_BERLIN
    booked = people.slash(
        "UFAC", "/sce", "schedule cab-drill 2026-12-07 10:00 tz=Europe/Berlin oncall=<@U1> secondary=<@U2>"
    )
    assert "Announced to #sre, C3HELP0001, #app-team, reminded 2h before." in booked["text"], booked
    eventually(lambda: len(top_level(people, SRE)) == 1 and len(top_level(people, HELPDESK)) == 1)
    # the booking's own answer names #app-team too: wait for the warning itself, sent after the posts
    eventually(lambda: any("cannot reach" in e["text"] for e in people.ephemerals("UFAC")))
    warnings = [e for e in people.ephemerals("UFAC") if "cannot reach" in e["text"]]
    assert len(warnings) == 1, warnings
    (warning,) = warnings
    assert "cannot reach #app-team (not_in_channel)" in warning["text"]
    for channel in (SRE, HELPDESK):
        (text,) = top_level(people, channel)
        assert "[GAME DAY] Exercise, not an incident" in text and "is scheduled in <#C1>" in text
        assert f"<!date^{int(start)}^" in text and "`CAB-1234` <https://change.example.com/CAB-1234>" in text
    assert top_level(people, APPS) == []
    (schedule,) = services.schedules.active()

    def run_until(moment: float) -> None:
        while clock.now() < moment:
            clock.advance(min(600.0, moment - clock.now()))
            services.timers.poll()

    run_until(start - 2 * 3600 - 1)
    eventually(lambda: sum("Reminder" in t for t in top_level(people, "C1")) == 1)
    assert len(top_level(people, HELPDESK)) == 1  # the 24 h reminder is the game day channel's only
    # Slack took the sre reminder but its answer was lost: the bot must find it, not post it again
    key = f"{schedule.id}:{int(start)}:remind:#sre"
    lost = {"event_type": POST_EVENT, "event_payload": {"key": key}}
    workspace.state.add_message(SRE, BOT_USER_ID, "reminder (answer lost)", metadata=lost)
    people.fail_api("chat.postMessage", status=500, times=1)  # and Slack fails the first try
    run_until(start - 2 * 3600 + 1)
    clock.advance(10)  # the reminder's retry after its backoff
    services.timers.poll()
    eventually(lambda: len(top_level(people, HELPDESK)) == 2)
    assert len(top_level(people, SRE)) == 2 and top_level(people, SRE)[1] == "reminder (answer lost)"
    assert len(top_level(people, HELPDESK)) == 2 and "starts in 1h59m" in top_level(people, HELPDESK)[1]
    assert sum("Reminder" in t for t in top_level(people, "C1")) == 1  # the comms' reminder is not C1's

    run_until(start + 1)
    eventually(lambda: len(top_level(people, HELPDESK)) == 3)
    assert "starts now in <#C1>" in top_level(people, HELPDESK)[2]
    assert "starts now in <#C1>" in top_level(people, SRE)[2]
    (record,) = services.store.active_in_channel("C1")
    kickoff = next(m for m in people.messages("C1") if m["ts"] == record.thread_ts)["text"]
    assert "*Change* `CAB-1234` <https://change.example.com/CAB-1234>" in kickoff
    assert "*window* Mon 10:00-16:00 Europe/Berlin" in kickoff

    def unreachable_notes() -> list[str]:
        thread = people.messages("C1", thread_ts=record.thread_ts)
        return [m["text"] for m in thread if "cannot reach #app-team" in (m.get("text") or "")]

    eventually(lambda: len(unreachable_notes()) == 1)
    clock.advance(60)
    assert people.slash("UFAC", "/sce", "end")["status"] == 200
    eventually(lambda: len(top_level(people, SRE)) == 4 and len(top_level(people, HELPDESK)) == 4)
    for channel in (SRE, HELPDESK):
        ended = top_level(people, channel)[3]
        # no expectation is set, so by the verdict's rule nothing is measured: inconclusive
        assert "has ended: completed, verdict *inconclusive*" in ended, ended
    for _ in range(3):  # whatever else is owed, nothing is announced twice
        clock.advance(30)
        services.timers.poll()
    assert len(top_level(people, SRE)) == 4 and len(top_level(people, HELPDESK)) == 4
    assert top_level(people, APPS) == []
    assert len(unreachable_notes()) == 1  # said once, at the start; the end found it

    # the debrief in every format, and the evidence bundle, show the ticket and the window
    debrief = services.engine.finishing.debrief_from(record, services.store.events(record.id))
    expected = {
        "ticket": "CAB-1234",
        "url": "https://change.example.com/CAB-1234",
        "window": "Mon 10:00-16:00 Europe/Berlin",
        "started_in_window": True,
        "announce": ["#sre", "C3HELP0001", "#app-team"],
    }
    assert json.loads(render_redacted(debrief, "json"))["change_control"] == expected
    markdown = render_redacted(debrief, "md")
    assert "(<https://change.example.com/CAB-1234>)" in markdown and "started inside it" in markdown
    links = Links()
    links.feed(render_redacted(debrief, "html"))
    assert "https://change.example.com/CAB-1234" in links.hrefs
    junit = render_redacted(debrief, "junit")
    assert '<property name="change_ticket" value="CAB-1234"/>' in junit
    assert '<property name="change_window" value="Mon 10:00-16:00 Europe/Berlin"/>' in junit
    bundle = write_bundle(debrief, record.scenario_text, tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as archive:
        manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
    assert manifest["change_control"] == expected


def test_sce_run_is_refused_outside_the_window(tmp_path: Path) -> None:
    """`sce run` runs on the wall clock: a window whose every Monday for a year is a blackout never opens,
    whatever day the test runs."""
    today = date.today()
    first_monday = today - timedelta(days=today.weekday())
    mondays = [(first_monday + timedelta(weeks=n)).isoformat() for n in range(55)]
    frozen = DRILL.replace("tz: Europe/Berlin}", f"tz: Europe/Berlin, blackout: [{', '.join(mondays)}]}}")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "cab-drill.yaml").write_text(frozen)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAGERDUTY_", "SCE_"))}
    env.pop("KUBECONFIG", None)
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'sce.db'}", SCE_SCENARIOS_DIR=str(tmp_path / "scenarios"))
    run = sce_here(env, "run", "cab-drill")
    assert run.returncode == 3, run.stderr
    assert (
        "Outside this scenario's change window (Mon 10:00-16:00 Europe/Berlin); it does not open within the "
        "next year."
    ) in run.stderr
    assert "Traceback" not in run.stderr


def test_a_booking_carries_its_comms_reminder_beside_the_channel_ones() -> None:
    """By hand: the channel's reminders are 24 h and 1 h ahead; a 2 h comms reminder slots between."""
    options = {COMMS_REMIND_KEY: "7200.0"}
    assert reminder_offsets(options) == (86400.0, 7200.0, 3600.0)
    assert reminder_offsets({}) == (86400.0, 3600.0) == reminder_offsets({COMMS_REMIND_KEY: "nan"})
    assert reminder_offsets({COMMS_REMIND_KEY: "86400.0"}) == (86400.0, 3600.0)  # the same moment, once
    start = 1_000_000.0
    offsets = reminder_offsets(options)
    assert reminders_due(start, 0, start - 86400, offsets) == (86400.0,)
    assert reminders_due(start, 1, start - 7200, offsets) == (7200.0,)
    assert reminders_due(start, 1, start - 600, offsets) == (7200.0, 3600.0)  # both passed unseen: one go

"""Scheduled game days: parsing, reminders 24 h and 1 h before, the start on time, repeats, cancel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bot_process import TEST_POSTS_PER_SECOND
from served_app import local_settings, served_app
from sqlalchemy import update
from sqlmodel import Session, col

from bot.gameday.clock import VirtualClock
from bot.gameday.running.schedule import ScheduleError, due_action, parse_schedule
from bot.runtime.service import Services
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace
from storage.sql_store import SqlStore
from storage.tables import ScheduleRow

ROOT = Path(__file__).resolve().parents[1]


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_parse_schedule_reads_date_time_channel_repeat_and_people() -> None:
    now = ts("2026-12-01T10:00:00")
    request = parse_schedule(
        ["pager-stress", "2026-12-03", "14:00", "<#C9|drills>", "every", "90d"],
        {"oncall": "<@U1>", "tz": "UTC"},
        now,
    )
    assert request.first_at == ts("2026-12-03T14:00:00")
    assert request.channel == "C9" and request.every_seconds == 90 * 86400
    assert request.options == {"oncall": "<@U1>"}
    berlin = parse_schedule(["x", "2026-12-03", "14:00"], {"tz": "Europe/Berlin"}, now)
    assert berlin.first_at == ts("2026-12-03T13:00:00")
    for bad, words in [
        (["x", "2026-12-03"], "Usage"),
        (["x", "2026-13-03", "14:00"], "not a date"),
        (["x", "2026-11-03", "14:00"], "in the past"),
        (["x", "2026-12-03", "14:00", "every", "sometimes"], "not a period"),
        (["x", "2026-12-03", "14:00", "banana"], "not understood"),
    ]:
        with pytest.raises(ScheduleError, match=words):
            parse_schedule(bad, {}, now)


def test_due_action_orders_reminders_before_the_start() -> None:
    start = 100_000.0
    assert due_action(start, 0, start - 2 * 86400) is None
    assert due_action(start, 0, start - 86400) == "remind"
    assert due_action(start, 1, start - 7200) is None
    assert due_action(start, 1, start - 3600) == "remind"
    assert due_action(start, 2, start - 1) is None
    assert due_action(start, 2, start) == "start"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[VirtualClock, Services, WorkspaceClient]]:
    clock = VirtualClock(ts("2026-12-01T09:00:00"))
    workspace = LocalWorkspace(signing_secret="s", clock=clock.now).start()
    pace = float(TEST_POSTS_PER_SECOND)  # the pace is test_slack_etiquette's
    settings = local_settings(workspace, tmp_path, ROOT / "scenarios", slack_posts_per_second=pace)
    with served_app(workspace, settings, clock) as (services, people):
        yield clock, services, people
    workspace.stop()


def test_a_scheduled_game_day_starts_on_time_after_both_reminders(
    live: tuple[VirtualClock, Services, WorkspaceClient],
) -> None:
    clock, services, people = live
    booked = people.slash(
        "UFAC", "/sce", "schedule pager-stress 2026-12-03 14:00 every 7d oncall=<@U1> secondary=<@U2>"
    )
    assert "sch-" in booked["text"]
    start = ts("2026-12-03T14:00:00")

    def run_until(moment: float) -> list[str]:
        while clock.now() < moment:
            clock.advance(min(600.0, moment - clock.now()))
            services.timers.poll()
        return [m.get("text") or "" for m in people.messages("C1") if m.get("thread_ts") in (None, m["ts"])]

    assert run_until(start - 86400 - 1) == []
    first = run_until(start - 86400 + 1)
    assert len(first) == 1 and "Reminder" in first[0] and "starts in 23h59m59s" in first[0]
    assert len(run_until(start - 3600 - 1)) == 1
    second = run_until(start - 3600 + 1)
    assert len(second) == 2 and "Reminder" in second[1] and "starts in 59m59s" in second[1]
    assert len(run_until(start - 1)) == 2
    after = run_until(start + 1)
    assert len(after) == 3 and "Pager rotation stress" in after[2]
    kickoff_ts = float(
        next(m for m in people.messages("C1") if "Pager rotation stress" in (m.get("text") or ""))["ts"]
    )
    assert start <= kickoff_ts < start + 601
    upcoming = services.schedules.active()
    assert len(upcoming) == 1 and upcoming[0].next_at == start + 7 * 86400
    cancelled = people.slash("UFAC", "/sce", f"schedule cancel {upcoming[0].id}")
    assert "cancelled" in cancelled["text"]
    assert services.schedules.active() == []


def test_a_reminder_slack_fails_to_take_is_sent_at_the_next_look(
    live: tuple[VirtualClock, Services, WorkspaceClient],
) -> None:
    clock, services, people = live
    assert "sch-" in people.slash("UFAC", "/sce", "schedule pager-stress 2026-12-03 14:00")["text"]
    start = ts("2026-12-03T14:00:00")

    def reminders() -> list[str]:
        return [m.get("text") or "" for m in people.messages("C1") if "Reminder" in (m.get("text") or "")]

    clock.advance(start - 86400 + 1 - clock.now())
    people.fail_api("chat.postMessage", status=500, times=1)
    services.timers.poll()
    assert reminders() == []  # Slack failed it
    clock.advance(5)  # its retry waits 5 s, as a failed timer does
    services.timers.poll()
    assert len(reminders()) == 1 and "starts in 23h59m54s" in reminders()[0]
    clock.advance(600)
    services.timers.poll()
    assert len(reminders()) == 1  # once: the next one is owed an hour before


@pytest.mark.parametrize("action", ["remind", "start"])
def test_a_claim_left_by_a_process_that_died_is_owed_again_after_a_restart(
    live: tuple[VirtualClock, Services, WorkspaceClient], action: str
) -> None:
    clock, services, people = live
    booking = "schedule pager-stress 2026-12-03 14:00 oncall=<@U1> secondary=<@U2>"
    assert "sch-" in people.slash("UFAC", "/sce", booking)["text"]
    start = ts("2026-12-03T14:00:00")
    moment = start - 86400 + 1 if action == "remind" else start + 1
    if action == "start":
        (booked,) = services.schedules.active()
        assert isinstance(services.store, SqlStore)
        with Session(services.store.engine) as session, session.begin():  # both reminders went out before
            session.execute(
                update(ScheduleRow).where(col(ScheduleRow.id) == booked.id).values(reminders_sent=2)
            )
    clock.advance(moment - clock.now())
    (claim,) = services.schedules.claim_due(clock.now())  # this process claims it, then "dies"
    assert claim.action == action
    assert services.schedules.claim_due(clock.now()) == []  # held: nobody else takes it meanwhile
    assert services.schedules.reset_stale_starts(min_age=60.0) == 0  # a live claim is not stale
    assert services.schedules.reset_stale_starts(min_age=-1.0) == 1  # its lease ran out
    services.timers.poll()  # the next process takes it
    said = [m.get("text") or "" for m in people.messages("C1")]
    if action == "remind":
        assert sum("Reminder" in t for t in said) == 1
    else:
        assert sum("Pager rotation stress" in t for t in said) == 1


def test_a_scheduled_start_runs_the_preflight_and_starts_nothing_when_it_fails(tmp_path: Path) -> None:
    """The checks of `/sce start`: here the steady state, against a Prometheus that is gone."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "steady.yaml").write_text(
        "id: steady\ntitle: Steady drill\ncharter: {objective: o, hypothesis: h}\n"
        "steady_state:\n  - {name: up, promql: 'up', expect: '== 1'}\n"
        "steps:\n  - {at: 0s, say: hello}\n"
    )
    clock = VirtualClock(ts("2026-12-01T09:00:00"))
    workspace = LocalWorkspace(signing_secret="s", clock=clock.now).start()
    gone = "http://127.0.0.1:9"  # nothing listens there
    settings = local_settings(workspace, tmp_path, tmp_path / "scenarios", prometheus_url=gone)
    with served_app(workspace, settings, clock) as (services, people):
        booking = "schedule steady 2026-12-01 10:00 oncall=<@U1> secondary=<@U2>"
        assert "sch-" in people.slash("UFAC", "/sce", booking)["text"]
        clock.advance(ts("2026-12-01T10:00:01") - clock.now())
        services.timers.poll()
        said = [m.get("text") or "" for m in people.messages("C1")]
        failed = [text for text in said if "Preflight failed" in text]
        assert len(failed) == 1 and "cannot reach Prometheus" in failed[0], said
        assert services.store.active_in_channel("C1") == []
        assert services.schedules.active() == []  # a one-off booking is spent, as a failed start is
    workspace.stop()

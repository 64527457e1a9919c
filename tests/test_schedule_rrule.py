"""`/sce schedule ... rrule=...`: hostile rules refused in one sentence, the starts following the rule in
the booking's zone, the clash check following it too. Expected times are computed here by hand."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bot_process import TEST_POSTS_PER_SECOND
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.gameday.clock import VirtualClock
from bot.gameday.running.commands import parse_command
from bot.gameday.running.recurrence import Recurrence
from bot.gameday.running.schedule import ScheduleError, parse_schedule, roster_options
from bot.runtime.server import HttpServer
from bot.runtime.service import Services, build_services
from bot.slack.app import create_app, slack_over_http
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2027, 3, 1, tzinfo=UTC).timestamp()
BOOKING = ["pager-stress", "2027-03-15", "10:00"]  # a Monday


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def test_a_rule_typed_in_slack_reaches_the_schedule_whole() -> None:
    command = parse_command(
        "schedule pager-stress 2027-03-15 10:00 rrule=FREQ=WEEKLY;INTERVAL=13;BYDAY=MO tz=UTC"
    )
    request = parse_schedule(command.args, command.options, NOW)
    assert request.recurrence is not None and request.recurrence.rule == "FREQ=WEEKLY;INTERVAL=13;BYDAY=MO"
    assert request.options == {}  # the people only; the rule travels beside them
    quoted = parse_command('schedule pager-stress 2027-03-15 10:00 rrule="RRULE:freq=weekly; until=20271231"')
    again = parse_schedule(quoted.args, quoted.options, NOW)
    assert again.recurrence is not None
    assert again.recurrence.rule == "FREQ=WEEKLY;UNTIL=20271231T235959Z"  # a bare date: that day's end, UTC


HOSTILE_RULES = [
    ("FREQ=SECONDLY", "at most once a day"),
    ("FREQ=MINUTELY;INTERVAL=1", "at most once a day"),
    ("FREQ=HOURLY;INTERVAL=24", "at most once a day"),
    ("FREQ=DAILY;COUNT=100000", "from 1 to 1,000"),
    ("FREQ=DAILY;COUNT=0", "from 1 to 1,000"),
    ("FREQ=DAILY;COUNT=-5", "from 1 to 1,000"),
    ("FREQ=DAILY;BYHOUR=" + ",".join(str(h) for h in range(24)), "BYHOUR"),
    ("FREQ=DAILY;BYMINUTE=0,15,30,45", "BYMINUTE"),
    ("FREQ=WEEKLY;BYSECOND=1", "BYSECOND"),
    ("FREQ=DAILY;UNTIL=20200101", "has passed"),
    ("FREQ=DAILY;UNTIL=20270228T235959Z", "has passed"),
    ("FREQ=DAILY;UNTIL=yesterday", "not a date"),
    ("FREQ=DAILY;COUNT=3;UNTIL=20281231", "not both"),
    ("FREQ=WEEKLY;" + "BYDAY=MO;" * 50, "at most 200 characters"),
    ("A" * 500, "at most 200 characters"),
    ("garbage", "not a part"),
    ("FREQ=DAILY\r\nDTSTART:19700101T000000Z", "only letters, digits"),
    ("FREQ=DAILY;X-NAME=1", "not a part"),
    ("FREQ=DAILY;FREQ=WEEKLY", "twice"),
    ("INTERVAL=2", "starts with FREQ"),
    ("FREQ=DAILY;INTERVAL=0", "from 1 to 1,000"),
    ("FREQ=WEEKLY;BYDAY=XX", "can be read"),
    ("FREQ=WEEKLY;WKST=ZZ", "can be read"),
    ("FREQ=WEEKLY;BYDAY=TU", "2027-03-16"),  # the booked Monday is not a day of the rule
    ("FREQ=WEEKLY;BYWEEKNO=10", "FREQ=YEARLY only"),
    ("FREQ=WEEKLY;BYDAY=1MO", "MONTHLY or YEARLY only"),
    ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "no date within a year"),  # never: bounded, not a hang
    ("FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31", "no date within a year"),
]


@pytest.mark.parametrize(("rule", "words"), HOSTILE_RULES, ids=[r[:30] for r, _ in HOSTILE_RULES])
def test_a_hostile_or_broken_rule_is_one_sentence_saying_what_would_work(rule: str, words: str) -> None:
    began = time.monotonic()
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(BOOKING, {"tz": "UTC", "rrule": rule}, NOW)
    message = str(caught.value)
    assert words in message, message
    assert message.rstrip().endswith((".", "`", ")")) and "\n" not in message and len(message) < 300
    assert "Traceback" not in message and "Error" not in message
    assert time.monotonic() - began < 2.0  # dateutil's search for a date that never comes is capped


def test_every_and_a_rule_together_are_refused() -> None:
    with pytest.raises(ScheduleError, match="not both"):
        parse_schedule([*BOOKING, "every", "7d"], {"rrule": "FREQ=WEEKLY"}, NOW)


def test_the_rule_keys_never_reach_the_roster() -> None:
    request = parse_schedule(BOOKING, {"rrule": "FREQ=WEEKLY", "oncall": "<@U1>"}, NOW)
    assert request.recurrence is not None
    stored = {**request.options, **request.recurrence.to_options()}
    assert roster_options(stored) == {"oncall": "<@U1>"}
    assert Recurrence.from_options(stored) == request.recurrence
    assert Recurrence.from_options({"_rrule": "FREQ=WEEKLY", "_tz": "Nowhere/Else", "_first": "x"}) is None


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[VirtualClock, Services, WorkspaceClient]]:
    clock = VirtualClock(utc(2027, 3, 21, 9))
    workspace = LocalWorkspace(signing_secret="s", clock=clock.now).start()
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret="s",
        slack_api_url=workspace.api_url,
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        scenarios_dir=ROOT / "scenarios",
        rotations_dir=tmp_path / "none",
        slack_posts_per_second=float(TEST_POSTS_PER_SECOND),
    )
    services = build_services(settings, clock)
    server = HttpServer(slack_over_http(create_app(services), services), "127.0.0.1", 0)
    server.start()
    workspace.request_url = f"http://127.0.0.1:{server.port}/slack/events"
    people = WorkspaceClient(workspace.base_url)
    yield clock, services, people
    people.close()
    server.stop()
    services.stop()
    workspace.stop()


def test_a_recurring_booking_starts_then_moves_to_the_rules_next_date_in_its_zone(
    live: tuple[VirtualClock, Services, WorkspaceClient],
) -> None:
    """Mondays 10:00 in Berlin: 09:00 UTC on 22 March, 08:00 UTC on 29 March (summer time from the 28th)."""
    clock, services, people = live
    booked = people.slash(
        "UFAC",
        "/sce",
        "schedule pager-stress 2027-03-22 10:00 rrule=FREQ=WEEKLY;BYDAY=MO;COUNT=2 tz=Europe/Berlin "
        "oncall=<@U1> secondary=<@U2>",
    )
    assert "sch-" in booked["text"] and "FREQ=WEEKLY;COUNT=2;BYDAY=MO" in booked["text"], booked["text"]
    (schedule,) = services.schedules.active()
    assert schedule.next_at == utc(2027, 3, 22, 9)
    clock.advance(utc(2027, 3, 22, 9, 0, 1) - clock.now())
    services.timers.poll()
    kickoffs = [m for m in people.messages("C1") if "Pager rotation stress" in (m.get("text") or "")]
    assert len(kickoffs) == 1
    (moved,) = services.schedules.active()
    assert moved.next_at == utc(2027, 3, 29, 8) and moved.state == "active"
    services.schedules.started(moved.id, None, utc(2027, 3, 29, 8, 0, 1))  # the second and last (COUNT=2)
    assert services.schedules.active() == []


def test_a_booking_beside_one_of_the_rules_dates_is_refused_and_one_between_them_is_taken(
    live: tuple[VirtualClock, Services, WorkspaceClient],
) -> None:
    _, services, people = live
    rule = "rrule=FREQ=MONTHLY;BYDAY=1MO tz=Europe/Berlin"
    assert "sch-" in people.slash("UFAC", "/sce", f"schedule pager-stress 2027-04-05 10:00 {rule}")["text"]
    # the first Monday of November, seven months on, 10:00 Berlin (09:00 UTC, winter time again)
    clash = people.slash("UFAC", "/sce", "schedule pager-stress 2027-11-01 09:15 tz=UTC")["text"]
    assert "One game day at a time per channel" in clash
    assert f"<!date^{int(utc(2027, 11, 1, 9, 15))}^" in clash
    between = people.slash("UFAC", "/sce", "schedule pager-stress 2027-11-02 09:15 tz=UTC")["text"]
    assert "sch-" in between
    assert len(services.schedules.active()) == 2
    assert [s.next_at for s in services.schedules.active()][0] == utc(2027, 4, 5, 8)  # 10:00 CEST


RULE_WORDS = st.sampled_from(
    [
        "FREQ=",
        "DAILY",
        "WEEKLY",
        "MONTHLY",
        "YEARLY",
        "HOURLY",
        ";",
        ",",
        "=",
        "INTERVAL=",
        "COUNT=",
        "UNTIL=",
    ]
    + ["BYDAY=", "MO", "-1FR", "BYMONTHDAY=", "BYMONTH=", "BYSETPOS=", "BYWEEKNO=", "BYYEARDAY=", "WKST="]
    + [
        "0",
        "1",
        "2",
        "13",
        "31",
        "366",
        "-1",
        "99",
        "20271231",
        "20200101",
        "T000000Z",
        "\r\n",
        " ",
        "RRULE:",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(RULE_WORDS, max_size=14).map("".join) | st.text(max_size=60))
def test_any_rule_is_a_schedule_with_daily_or_rarer_starts_or_a_sentence(rule: str) -> None:
    try:
        request = parse_schedule(BOOKING, {"tz": "Europe/Berlin", "rrule": rule}, NOW)
    except ScheduleError as error:
        assert str(error).strip() and "Traceback" not in str(error)
        return
    assert request.recurrence is not None and len(request.recurrence.rule) <= 300
    starts = list(request.recurrence.occurrences(request.first_at, request.first_at + 400 * 86400))
    assert starts[0] == request.first_at
    assert all(b - a >= 23 * 3600 for a, b in zip(starts, starts[1:], strict=False))

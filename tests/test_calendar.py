"""`sce calendar` and `GET /calendar.ics`: RFC 5545 read back with maintained parsers, never by our code.

The feed is parsed with ``icalendar`` and its recurrences expanded with ``ical`` (the maintained
RFC 5545 library Home Assistant uses; ``recurring-ical-events`` pins python-dateutil below 3, which the
Kubernetes client we depend on cannot run with). Every expected start is computed here by datetime
arithmetic: the EU's daylight-saving rule (last Sunday of March and of October, 01:00 UTC) by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar
from typer.testing import CliRunner

from bot.cli import cli
from bot.config import Settings
from bot.gameday.clock import VirtualClock
from bot.gameday.running.schedule import parse_schedule
from bot.runtime.calendar_feed import services_calendar
from bot.runtime.server import HttpServer
from bot.runtime.service import Services, build_services, open_store
from storage.schedule_store import Schedule, ScheduleStore

DRILL = (
    "id: drill\ntitle: Quarterly pager drill\n"
    "charter: {objective: o, hypothesis: 'Pages reach the secondary; within 5 min, always'}\n"
    "guardrails: {max_duration: 90m}\nsteps:\n  - {at: 0s, say: hello}\n"
)
HOSTILE_TITLE = (
    "Evil\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil@attacker\r\nSUMMARY:owned;a,b\nDTSTART:19700101"
)
HOSTILE = (
    'id: hostile\ntitle: "Evil\\r\\nEND:VEVENT\\r\\nBEGIN:VEVENT\\r\\nUID:evil@attacker'
    '\\r\\nSUMMARY:owned;a,b\\nDTSTART:19700101"\ncharter: {objective: o, hypothesis: "x\\r\\nATTACH:http://evil.example/;a,b"}\n'
    "steps:\n  - {at: 0s, say: hello}\n"
)
TOKEN = "cal-token-0123456789abcdef0123456789abcdef"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def last_sunday(year: int, month: int) -> datetime:
    """The last Sunday of a month at 01:00 UTC: when the EU's clocks change."""
    day = datetime(year, month + 1, 1, 1, tzinfo=UTC) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def berlin_to_utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Berlin wall-clock time as UTC, by the EU rule: UTC+2 between the two changes, else UTC+1."""
    naive_utc_plus_1 = datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=1)
    summer = last_sunday(year, 3) <= naive_utc_plus_1 < last_sunday(year, 10)
    return naive_utc_plus_1 - timedelta(hours=1 if summer else 0)


def book(
    store: ScheduleStore, words: str, options: dict[str, str], now: float, channel: str = "C1"
) -> Schedule:
    request = parse_schedule(words.split(), options, now)
    return store.create(request, request.channel or channel, "UFAC", now)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "drill.yaml").write_text(DRILL)
    (tmp_path / "scenarios" / "hostile.yaml").write_text(HOSTILE)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setenv("SCE_SCENARIOS_DIR", str(tmp_path / "scenarios"))
    return tmp_path


def schedules(folder: Path) -> ScheduleStore:
    return ScheduleStore(open_store(Settings(database_url=f"sqlite:///{folder / 'c.db'}")).engine)


def sce_calendar(*args: str) -> bytes:
    result = CliRunner().invoke(cli, ["calendar", *args])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def expanded(ics: bytes, uid: str, until: datetime) -> list[datetime]:
    """Starts of one event up to ``until``, as the ``ical`` library expands its RRULE, in UTC."""
    calendar = IcsCalendarStream.calendar_from_ics(ics.decode())
    starts = []
    for event in calendar.timeline_tz(UTC):
        start = event.dtstart
        assert isinstance(start, datetime)
        if start.astimezone(UTC) >= until:
            break
        if event.uid == uid:
            starts.append(start.astimezone(UTC))
    return starts


def test_a_rule_and_an_every_booking_expand_to_the_starts_computed_by_hand(folder: Path) -> None:
    """A weekly rule in Berlin across the end of March keeps 10:00 local (09:00, then 08:00 UTC); `every
    90d` is 90 × 24 h in UTC, as the bot runs it."""
    now = utc(2027, 3, 1).timestamp()
    store = schedules(folder)
    weekly = book(
        store, "drill 2027-03-15 10:00", {"tz": "Europe/Berlin", "rrule": "FREQ=WEEKLY;BYDAY=MO"}, now
    )
    every = book(store, "drill 2027-03-20 12:30 every 90d", {"tz": "Europe/Berlin"}, now, channel="C2")
    counted = book(
        store,
        "drill 2027-03-31 09:00",
        {"tz": "Europe/Berlin", "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3"},
        now,
    )
    ics = sce_calendar()
    horizon = utc(2028, 1, 1)
    mondays = [datetime(2027, 3, 15) + timedelta(weeks=k) for k in range(42)]
    want_weekly = [berlin_to_utc(d.year, d.month, d.day, 10) for d in mondays]
    assert want_weekly[:3] == [
        utc(2027, 3, 15, 9),
        utc(2027, 3, 22, 9),
        utc(2027, 3, 29, 8),
    ]  # the arithmetic
    assert expanded(ics, f"{weekly.id}@sce.invalid", horizon) == [w for w in want_weekly if w < horizon]
    first = berlin_to_utc(2027, 3, 20, 12, 30)
    assert first == utc(2027, 3, 20, 11, 30)
    want_every = [first + timedelta(days=90 * k) for k in range(4)]  # 11:30 UTC: 13:30 Berlin in summer
    assert expanded(ics, f"{every.id}@sce.invalid", horizon) == want_every
    assert expanded(ics, f"{counted.id}@sce.invalid", horizon) == [
        berlin_to_utc(2027, 3, 31, 9),
        berlin_to_utc(2027, 4, 30, 9),
        berlin_to_utc(2027, 5, 31, 9),
    ]  # COUNT=3 from the booked date, as the bot counts


def test_each_event_carries_uid_start_time_box_summary_description_and_rule(folder: Path) -> None:
    now = datetime(2027, 3, 1, tzinfo=UTC).timestamp()
    store = schedules(folder)
    weekly = book(
        store, "drill 2027-03-15 10:00 <#C7|drills>", {"tz": "Europe/Berlin", "rrule": "FREQ=WEEKLY"}, now
    )
    once = book(store, "drill 2027-04-01 10:00", {}, now, channel="C8")
    parsed = Calendar.from_ical(sce_calendar())
    events = {str(e["UID"]): e for e in parsed.walk("VEVENT")}
    assert set(events) == {f"{weekly.id}@sce.invalid", f"{once.id}@sce.invalid"}
    rule = events[f"{weekly.id}@sce.invalid"]
    assert rule["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert rule.decoded("DTSTART") == datetime(2027, 3, 15, 10, 0, tzinfo=rule.decoded("DTSTART").tzinfo)
    assert rule.decoded("DURATION") == timedelta(minutes=90)
    assert str(rule["SUMMARY"]) == "[GAME DAY] Quarterly pager drill"
    description = str(rule["DESCRIPTION"])
    assert "drill" in description and "C7" in description
    assert "Pages reach the secondary; within 5 min, always" in description
    assert rule["RRULE"].to_ical() == b"FREQ=WEEKLY"
    one_off = events[f"{once.id}@sce.invalid"]
    assert one_off.decoded("DTSTART") == utc(2027, 4, 1, 10) and "RRULE" not in one_off
    assert [str(tz["TZID"]) for tz in parsed.walk("VTIMEZONE")] == ["Europe/Berlin"]
    only_c8 = Calendar.from_ical(sce_calendar("--channel", "C8"))
    assert [str(e["UID"]) for e in only_c8.walk("VEVENT")] == [f"{once.id}@sce.invalid"]
    refused = CliRunner().invoke(cli, ["calendar", "--channel", "#drills\r\nBEGIN:VEVENT"])
    assert refused.exit_code == 2 and "channel id" in refused.output


def test_a_hostile_title_adds_no_property_and_no_event(folder: Path) -> None:
    now = datetime(2027, 3, 1, tzinfo=UTC).timestamp()
    booked = book(schedules(folder), "hostile 2027-03-15 10:00", {}, now)
    ics = sce_calendar()
    parsed = Calendar.from_ical(ics)
    (event,) = parsed.walk("VEVENT")
    assert str(event["UID"]) == f"{booked.id}@sce.invalid"
    # the text, whole, as text (a CRLF inside TEXT is written as one escaped line break, \n)
    assert str(event["SUMMARY"]) == "[GAME DAY] " + HOSTILE_TITLE.replace("\r\n", "\n")
    assert "x\nATTACH:http://evil.example/;a,b" in str(event["DESCRIPTION"])
    assert sorted(event) == ["DESCRIPTION", "DTSTAMP", "DTSTART", "DURATION", "SUMMARY", "UID"]
    lines = ics.decode().split("\r\n")
    assert sum(line == "BEGIN:VEVENT" for line in lines) == 1
    assert not any(line.startswith(("UID:evil", "ATTACH", "SUMMARY:owned", "DTSTART:1970")) for line in lines)
    # the other maintained parser reads the same single event
    assert [e.uid for e in IcsCalendarStream.calendar_from_ics(ics.decode()).events] == [
        f"{booked.id}@sce.invalid"
    ]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Services, str]]:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "drill.yaml").write_text(DRILL)
    clock = VirtualClock(datetime(2027, 3, 1, tzinfo=UTC).timestamp())
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret="s",
        slack_api_url="http://127.0.0.1:9/api/",
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        scenarios_dir=tmp_path / "scenarios",
        rotations_dir=tmp_path / "none",
        calendar_token=TOKEN,
    )
    services = build_services(settings, clock)
    book(services.schedules, "drill 2027-03-15 10:00", {"rrule": "FREQ=DAILY;INTERVAL=7"}, clock.now())
    server = HttpServer(None, "127.0.0.1", 0, calendar=services_calendar(services))  # as in Socket Mode
    server.start()
    try:
        yield services, f"http://127.0.0.1:{server.port}/calendar.ics"
    finally:
        server.stop()
        services.stop()


def test_the_feed_answers_only_to_its_token(served: tuple[Services, str]) -> None:
    _, url = served
    refused: list[tuple[dict[str, str], dict[str, str | list[str]]]] = [
        ({}, {}),
        ({"Authorization": "Bearer wrong"}, {}),
        ({"Authorization": f"Bearer {TOKEN[:-1]}"}, {}),
        ({"Authorization": f"Basic {TOKEN}"}, {}),
        ({"Authorization": f"Bearer {TOKEN}x"}, {}),
        ({}, {"token": "wrong"}),
        ({}, {"token": ["wrong", TOKEN]}),
        ({"Authorization": "Bearer wrong"}, {"token": TOKEN}),  # a wrong header is not saved by the query
        ({}, {"token": TOKEN * 100}),
        ({}, {"token": TOKEN.upper()}),
    ]
    for headers, params in refused:
        answer = requests.get(url, headers=headers, params=params, timeout=5)
        assert answer.status_code == 401, (headers, params)
        assert "BEGIN:VCALENDAR" not in answer.text and "drill" not in answer.text
    for good_headers, good_params in [({"Authorization": f"Bearer {TOKEN}"}, {}), ({}, {"token": TOKEN})]:
        answer = requests.get(url, headers=good_headers, params=good_params, timeout=5)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
        (event,) = Calendar.from_ical(answer.content).walk("VEVENT")
        assert str(event["SUMMARY"]) == "[GAME DAY] Quarterly pager drill"
        assert event["RRULE"].to_ical() == b"FREQ=DAILY;INTERVAL=7"
    assert requests.post(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).status_code == 405


def test_the_feed_is_off_without_a_token(served: tuple[Services, str]) -> None:
    services, _ = served
    off = replace(services, settings=replace(services.settings, calendar_token=None))
    server = HttpServer(None, "127.0.0.1", 0, calendar=services_calendar(off))
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/calendar.ics"
        for headers, params in [({}, {}), ({"Authorization": "Bearer "}, {}), ({}, {"token": ""})]:
            answer = requests.get(url, headers=headers, params=params, timeout=5)
            assert answer.status_code == 404 and "VCALENDAR" not in answer.text
    finally:
        server.stop()
    assert Settings.from_env({"SCE_CALENDAR_TOKEN": ""}).calendar_token is None
    assert Settings.from_env({"SCE_CALENDAR_TOKEN": "t"}).calendar_token == "t"
    assert "secret-token-xyz" not in repr(Settings(calendar_token="secret-token-xyz"))

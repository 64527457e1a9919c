"""Change windows, change tickets and comms in the scenario file: every bad value is one sentence naming
file, line and field; the window's math is checked against instants worked out by hand (UTC offsets of
Europe/Berlin: CET +1 in winter, CEST +2 from 2026-03-29 01:00 UTC to 2026-10-25 01:00 UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import cli
from bot.gameday.scenario.loading import ScenarioError, parse_scenario
from bot.gameday.scenario.window import Window, in_window, next_opening, window_refusal

SOURCE = "scenarios/cab.yaml"
BASE = """\
id: cab
title: A drill under change control
charter: {objective: o, hypothesis: h}
window: {days: [mon, tue, wed, thu], from: "10:00", to: "16:00", tz: Europe/Berlin, blackout: [2026-12-24]}
change: {ticket: CAB-1234, url: "https://change.example.com/CAB-1234"}
comms: {announce: ["#sre", "#helpdesk"], remind_before: 24h}
steps:
  - {at: 0s, say: hello}
"""


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def problem(old: str, new: str) -> str:
    assert BASE.count(old) == 1
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(BASE.replace(old, new), SOURCE)
    assert len(caught.value.problems) == 1, caught.value
    (found,) = caught.value.problems
    assert "Traceback" not in str(found) and "\n" not in str(found)
    return str(found)


def test_the_contract_fields_are_read_as_written() -> None:
    scenario = parse_scenario(BASE, SOURCE)
    assert scenario.window is not None and scenario.window.days == ["mon", "tue", "wed", "thu"]
    assert (scenario.window.from_, scenario.window.to, scenario.window.tz) == (
        "10:00",
        "16:00",
        "Europe/Berlin",
    )
    assert scenario.window.blackout == [date(2026, 12, 24)]
    assert scenario.change is not None and scenario.change.ticket == "CAB-1234"
    assert scenario.comms is not None and scenario.comms.announce == ["#sre", "#helpdesk"]
    assert scenario.comms.remind_before == 24 * 3600
    unquoted = parse_scenario(BASE.replace('"10:00"', "9:30").replace("24h", "2d"), SOURCE)  # YAML: 570
    assert unquoted.window is not None and unquoted.window.from_ == "09:30"
    assert unquoted.comms is not None and unquoted.comms.remind_before == 2 * 86400


WINDOW_LINE = 4
ATTACKS = [
    ("tz: Europe/Berlin", "tz: Mars/Olympus", "window.tz: `Mars/Olympus` is not a time zone (IANA name"),
    ("tz: Europe/Berlin", "tz: ../../etc/passwd", "window.tz: `../../etc/passwd` is not a time zone"),
    ('from: "10:00"', 'from: "17:00"', "window: `from: 17:00` must be before `to: 16:00`"),
    ('from: "10:00"', 'from: "16:00"', "window: `from: 16:00` must be before `to: 16:00`"),
    ('from: "10:00"', 'from: "25:00"', "window.from: '25:00' is not a time of day"),
    ('from: "10:00"', "from: 25:00", "window.from: '25:00' is not a time of day"),  # YAML's base 60: 1500
    ('to: "16:00"', 'to: "16:60"', "window.to: '16:60' is not a time of day"),
    ('to: "16:00"', 'to: "4pm"', "window.to: '4pm' is not a time of day"),
    ("thu]", "funday]", "window.days[3]: 'funday' is not a weekday"),
    ("[mon, tue, wed, thu]", "[]", "window.days: List should have at least 1 item"),
    ("[2026-12-24]", "[tomorrow]", "window.blackout[0]: 'tomorrow' is not a date"),
    ("[2026-12-24]", '["2026-02-30"]', "window.blackout[0]: '2026-02-30' is not a date"),
    ("[2026-12-24]", "[1798761600]", "window.blackout[0]: 1798761600 is not a date"),
    ("[2026-12-24]", "[2026-12-24 10:00:00]", "window.blackout[0]: 2026-12-24 10:00:00 is a date and time"),
    ("blackout: [2026-12-24]", "blackout: [2026-12-24], weeks: [1]", "window.weeks: is not a field"),
]


@pytest.mark.parametrize(("old", "new", "said"), ATTACKS)
def test_a_bad_window_is_one_sentence_naming_file_line_and_field(old: str, new: str, said: str) -> None:
    assert problem(old, new).startswith(f"{SOURCE}:{WINDOW_LINE}: "), problem(old, new)
    assert said in problem(old, new)


def test_ten_thousand_blackout_dates_are_refused_by_their_count() -> None:
    days = ", ".join((date(2027, 1, 1) + timedelta(days=n)).isoformat() for n in range(10_000))
    said = problem("[2026-12-24]", f"[{days}]")
    assert said == (
        f"{SOURCE}:{WINDOW_LINE}: window.blackout: lists 10000 dates; a window has at most 366 blackout dates"
    )


CHANGE_LINE, COMMS_LINE = 5, 6


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ('"https://change.example.com/CAB-1234"', '"javascript:alert(1)"', "is not an https:// URL"),
        ('"https://change.example.com/CAB-1234"', '"http://change.example.com/x"', "is not an https:// URL"),
        ('"https://change.example.com/CAB-1234"', '"JavaScript://%0aalert(1)"', "is not an https:// URL"),
        ('"https://change.example.com/CAB-1234"', '"https:///path-only"', "names no host"),
        ('"https://change.example.com/CAB-1234"', '"https://u:p@change.example.com/"', "without credentials"),
        (
            '"https://change.example.com/CAB-1234"',
            '"https://x.example/a\\"><script>"',
            "holds a space, a quote",
        ),
        ('"https://change.example.com/CAB-1234"', '"https://x.example/' + "a" * 600 + '"', "at most 500"),
        ("ticket: CAB-1234", "ticket: " + "CAB-" + "1" * 60, "is not a change ticket"),
        ("ticket: CAB-1234", 'ticket: "CAB 1234 <!channel>"', "is not a change ticket"),
        ("ticket: CAB-1234", "ticket: ''", "is not a change ticket"),
    ],
)
def test_a_bad_change_is_one_sentence_naming_its_field(old: str, new: str, said: str) -> None:
    found = problem(old, new)
    field = "change.url" if "url" in found.split(": ")[1] else "change.ticket"
    assert found.startswith(f"{SOURCE}:{CHANGE_LINE}: {field}: "), found
    assert said in found


@pytest.mark.parametrize(
    ("old", "new", "field", "said"),
    [
        ('["#sre", "#helpdesk"]', str([f"#c{n}" for n in range(11)]), "comms.announce", "lists 11 channels"),
        ('["#sre", "#helpdesk"]', '["#sre", "#sre"]', "comms.announce", "lists a channel twice"),
        ('["#sre", "#helpdesk"]', '["sre"]', "comms.announce[0]", "'sre' is not a channel"),
        ('["#sre", "#helpdesk"]', '["<!channel>"]', "comms.announce[0]", "is not a channel"),
        ('["#sre", "#helpdesk"]', '["#SRE"]', "comms.announce[0]", "is not a channel"),
        ("24h", "0s", "comms.remind_before", "0s is not between 10m and 14d"),
        ("24h", "15d", "comms.remind_before", "360h is not between 10m and 14d"),
        ("24h", "soon", "comms.remind_before", "'soon' is not a duration"),
    ],
)
def test_bad_comms_are_one_sentence_naming_their_field(old: str, new: str, field: str, said: str) -> None:
    found = problem(old, new)
    assert found.startswith(f"{SOURCE}:{COMMS_LINE}: {field}: "), found
    assert said in found


APPROVED_NO_TICKET = BASE.replace(
    'change: {ticket: CAB-1234, url: "https://change.example.com/CAB-1234"}\n',
    "approval: {required: true, approvers: [UAPP]}\n",
)


def test_approval_required_without_a_change_ticket_fails_sce_validate(tmp_path: Path) -> None:
    (tmp_path / "cab.yaml").write_text(APPROVED_NO_TICKET)
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        f"{tmp_path / 'cab.yaml'}:5: approval.required: is true, so change.ticket is required: "
        "add `change: {ticket: CAB-1234}` (the change board's ticket for this game day)"
    ) in result.output
    (tmp_path / "cab.yaml").write_text(
        APPROVED_NO_TICKET.replace("title:", "change: {ticket: CAB-9}\ntitle:")
    )
    assert CliRunner().invoke(cli, ["validate", str(tmp_path)]).exit_code == 0


BERLIN = Window.model_validate(
    {"days": ["mon", "tue", "wed", "thu"], "from": "10:00", "to": "16:00", "tz": "Europe/Berlin"}
)


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        ("2026-03-26T08:59:59", False),  # Thu 09:59:59 CET
        ("2026-03-26T09:00:00", True),  # Thu 10:00 CET
        ("2026-03-26T14:59:59", True),  # Thu 15:59:59 CET
        ("2026-03-26T15:00:00", False),  # Thu 16:00 CET: `to` is not inside
        ("2026-03-27T12:00:00", False),  # Fri
        ("2026-03-30T07:59:59", False),  # Mon 09:59:59 CEST (after the spring change)
        ("2026-03-30T08:00:00", True),  # Mon 10:00 CEST
        ("2026-03-30T13:59:59", True),  # Mon 15:59:59 CEST
        ("2026-03-30T14:00:00", False),  # Mon 16:00 CEST
        ("2026-10-26T08:30:00", False),  # Mon 09:30 CET (after the autumn change)
        ("2026-10-26T09:00:00", True),  # Mon 10:00 CET
    ],
)
def test_in_window_reads_the_wall_clock_of_the_zone_across_daylight_saving(at: str, inside: bool) -> None:
    assert in_window(BERLIN, utc(at)) is inside


@pytest.mark.parametrize(
    ("at", "opening"),
    [
        ("2026-03-27T12:00:00", "2026-03-30T08:00:00"),  # Fri CET -> Mon 10:00 CEST
        ("2026-10-22T15:00:00", "2026-10-26T09:00:00"),  # Thu 17:00 CEST -> Mon 10:00 CET
        ("2026-12-01T07:00:00", "2026-12-01T09:00:00"),  # Tue 08:00 CET -> the same day's 10:00
        ("2026-12-01T10:00:00", "2026-12-01T10:00:00"),  # inside: now
    ],
)
def test_next_opening_across_daylight_saving(at: str, opening: str) -> None:
    assert next_opening(BERLIN, utc(at)) == utc(opening)


def test_a_blackout_date_is_a_whole_local_day() -> None:
    every_day = Window.model_validate(
        {"from": "00:00", "to": "23:59", "tz": "Europe/Berlin", "blackout": ["2026-12-24"]}
    )
    assert in_window(every_day, utc("2026-12-23T22:58:00"))  # 23:58 on the 23rd in Berlin
    assert not in_window(every_day, utc("2026-12-23T22:59:00"))  # 23:59: `to` itself is outside
    assert not in_window(every_day, utc("2026-12-23T23:30:00"))  # 00:30 on the 24th in Berlin
    assert not in_window(every_day, utc("2026-12-24T12:00:00"))
    assert next_opening(every_day, utc("2026-12-23T23:30:00")) == utc("2026-12-24T23:00:00")  # 25th 00:00
    cab = Window.model_validate({**BERLIN.model_dump(by_alias=True), "blackout": ["2026-12-24"]})
    refusal = window_refusal(cab, utc("2026-12-24T10:00:00"))  # Thu 11:00 CET, a blackout date
    assert refusal == (
        "Outside this scenario's change window (Mon-Thu 10:00-16:00 Europe/Berlin) (2026-12-24 is a blackout "
        "date); the next opening is Mon 2026-12-28 10:00 CET (09:00 UTC)."
    )


def test_a_window_inside_the_spring_gap_opens_the_next_day() -> None:
    gap = Window.model_validate({"from": "02:00", "to": "02:59", "tz": "Europe/Berlin"})
    # 2026-03-29 has no 02:00-03:00 in Berlin; the 30th's 02:00 CEST is 00:00 UTC
    assert next_opening(gap, utc("2026-03-28T12:00:00")) == utc("2026-03-30T00:00:00")
    assert not any(in_window(gap, utc("2026-03-29T00:00:00") + m * 60) for m in range(180))


def test_a_window_that_never_opens_says_so() -> None:
    mondays = [date(2026, 1, 5) + timedelta(weeks=n) for n in range(53)]  # every Monday of a year and a day
    never = Window.model_validate(
        {
            "days": ["mon"],
            "from": "10:00",
            "to": "11:00",
            "tz": "UTC",
            "blackout": [d.isoformat() for d in mondays],
        }
    )
    assert next_opening(never, utc("2026-01-01T00:00:00")) is None
    assert window_refusal(never, utc("2026-01-01T00:00:00")) == (
        "Outside this scenario's change window (Mon 10:00-11:00 UTC); it does not open within the next year."
    )
    assert window_refusal(None, 0.0) is None and window_refusal(BERLIN, utc("2026-12-01T10:00:00")) is None


def test_the_refusal_names_the_window_and_the_next_opening_in_both_zones() -> None:
    monday_only = Window.model_validate(
        {"days": ["mon"], "from": "10:00", "to": "16:00", "tz": "Europe/Berlin"}
    )
    assert window_refusal(monday_only, utc("2026-12-01T09:00:00")) == (
        "Outside this scenario's change window (Mon 10:00-16:00 Europe/Berlin); the next opening is "
        "Mon 2026-12-07 10:00 CET (09:00 UTC)."
    )
    spread = Window.model_validate(
        {"days": ["fri", "mon", "wed"], "from": "00:30", "to": "02:00", "tz": "Asia/Tokyo"}
    )
    # Tokyo is +9 all year: Mon 00:30 JST is Sun 15:30 UTC, the day before
    assert window_refusal(spread, utc("2026-12-01T09:00:00")) == (
        "Outside this scenario's change window (Mon, Wed, Fri 00:30-02:00 Asia/Tokyo); the next opening is "
        "Wed 2026-12-02 00:30 JST (Tue 2026-12-01 15:30 UTC)."
    )

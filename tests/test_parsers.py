"""What people type: durations, thread replies, `/sce` commands and the on-call roster."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.gameday.people.roster import RosterError, resolve_roster
from bot.gameday.running.commands import USAGE, Command, CommandError, parse_command
from bot.gameday.running.replies import NOTE_KINDS, Acknowledge, AddNote, HandOff, parse_reply
from bot.gameday.scenario.durations import DurationError, format_duration, parse_duration, parse_span
from bot.gameday.scenario.loading import load_scenario_file, parse_scenario
from bot.gameday.scenario.model import Scenario

ROOT = Path(__file__).resolve().parents[1]
FUZZ = settings(max_examples=200, deadline=None)

# --- durations ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("5m", 300),
        ("1h30m", 5400),
        ("1h", 3600),
        ("2m30s", 150),
        ("1h0m5s", 3605),
        ("1h5s", 3605),
        ("0", 0),
        ("0s", 0),
        ("0m", 0),
        ("1.5s", 1.5),
        (" 5m ", 300),
        ("1h 30m", 5400),
        (0, 0),
        (90, 90),
        (2.5, 2.5),
    ],
)
def test_parse_duration_reads_the_written_forms(text: object, seconds: float) -> None:
    result = parse_duration(text)
    assert result == seconds
    assert isinstance(result, float)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90d", 90 * 86400), (" 2W ", 14 * 86400), ("24h", 86400), ("1h30m", 5400), ("999999d", 999999 * 86400)],
)
def test_parse_span_reads_days_weeks_and_every_duration_form(text: str, seconds: float) -> None:
    assert parse_span(text) == seconds


@pytest.mark.parametrize("text", ["1000000d", "\uff19\uff10d", "2d12h", "d", "-3d", "1.5d", "3y", "3 d"])
def test_parse_span_refuses_what_is_no_span(text: str) -> None:
    with pytest.raises(DurationError):
        parse_span(text)


@pytest.mark.parametrize(
    "value",
    [
        "5x",
        "m5",
        "-5m",
        "",
        "   ",
        "1h1h",
        "30m1h",
        "5",
        "1.5h",
        "h",
        "5 m s",
        "٥m",
        True,
        False,
        None,
        [5],
        ["5m"],
        {},
    ],
)
def test_parse_duration_refuses_with_a_sentence_naming_the_valid_forms(value: object) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(value)
    message = str(caught.value)
    assert all(form in message for form in ("90s", "5m", "1h30m")), message
    assert "Traceback" not in message


@pytest.mark.parametrize("value", [-1, -0.5, -(10**30)])
def test_parse_duration_refuses_negative_numbers(value: float) -> None:
    with pytest.raises(DurationError, match="negative"):
        parse_duration(value)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), 10**400, "1" + "0" * 400 + "h", "9" * 400 + "s", "9" * 5000 + "m"]
)
def test_parse_duration_refuses_what_is_not_a_finite_number(value: object) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(value)
    assert len(str(caught.value)) < 200, "a huge value is shortened in the message"


def test_duration_error_is_a_value_error() -> None:
    # pydantic turns a ValueError from a validator into a field problem; anything else would escape
    assert issubclass(DurationError, ValueError)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0, "0s"),
        (90, "1m30s"),
        (300, "5m"),
        (3600, "1h"),
        (5400, "1h30m"),
        (3605, "1h5s"),
        (1.5, "1.5s"),
        (59.9996, "1m"),
        (3599.9999, "1h"),
        (0.0004, "0s"),
        (-90, "-1m30s"),
    ],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


@FUZZ
@given(
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.sampled_from(["", " "]),
)
def test_written_durations_parse_back(h: int | None, m: int | None, s: int | None, sep: str) -> None:
    parts = [f"{n}{unit}" for n, unit in ((h, "h"), (m, "m"), (s, "s")) if n is not None]
    if not parts:
        parts = ["0s"]
    assert parse_duration(sep.join(parts)) == (h or 0) * 3600 + (m or 0) * 60 + (s or 0)


@FUZZ
@given(st.floats(min_value=0, max_value=10**7, allow_nan=False))
def test_formatted_durations_parse_back(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(round(seconds, 3), abs=1e-6)


@FUZZ
@given(st.integers(0, 10**9))
def test_whole_seconds_format_and_parse_back_exactly(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


ANYTHING = st.one_of(
    st.text(),
    st.text(alphabet="0123456789hms. -", max_size=20),
    st.from_regex(r"\A[0-9]{1,600}[hms]\Z"),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.binary(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@FUZZ
@given(ANYTHING)
def test_parse_duration_returns_a_non_negative_float_or_raises_duration_error(value: object) -> None:
    try:
        result = parse_duration(value)
    except DurationError as error:
        assert "90s" in str(error) or "negative" in str(error)
    else:
        assert isinstance(result, float)
        assert result >= 0
        assert result == result and result != float("inf")


# --- thread replies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "ack",
        "ACK",
        "Ack.",
        "ack!",
        "  ack  ",
        "on it",
        "On it!",
        "taking it",
        "acked",
        "acknowledged",
        "I'm on it",
        "I’m on it",
        "i'll take it",
        "got it",
        "mine",
        "ack, looking",
        "ack - checking the logs",
        "on it :eyes:",
        "on it now",
        "ack thanks",
        "ack looking into it",
    ],
)
def test_acknowledgements(text: str) -> None:
    assert parse_reply(text) == Acknowledge()


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "what's the status",
        "",
        "   ",
        "backup is ready",
        "acknowledgement pending from legal",
        "I will not ack this",
        "please ack the page",
        "ack is not what we want here",
        "mine crashed too",
        "got it wrong again",
        "on it's way",
        "taking items off the list",
        "gap",
        "gap:",
        "note:   ",
        "gaps: several",
        "noted: thanks",
        "handing off to nobody",
        "handing off soon",
    ],
)
def test_ordinary_conversation_is_left_alone(text: str) -> None:
    assert parse_reply(text) is None


@pytest.mark.parametrize(
    ("text", "user"),
    [
        ("handing off to <@U2>", "U2"),
        ("handing over to <@U2|bob>", "U2"),
        ("Handing it over to <@W0AB12CD|carol> now", "W0AB12CD"),
        ("handoff to <@U2>", "U2"),
        ("hand-off to <@U2>", "U2"),
        ("HANDING OFF TO <@U7>", "U7"),
    ],
)
def test_handoffs_name_the_mentioned_user(text: str, user: str) -> None:
    assert parse_reply(text) == HandOff(user)


@pytest.mark.parametrize("kind", NOTE_KINDS)
def test_notes_of_every_kind(kind: str) -> None:
    assert parse_reply(f"{kind}: the runbook is stale") == AddNote(kind, "the runbook is stale")
    assert parse_reply(f"{kind.upper()}:the runbook is stale ") == AddNote(kind, "the runbook is stale")
    assert parse_reply(f"  {kind.title()} :  two\nlines ") == AddNote(kind, "two\nlines")


def test_a_note_wins_over_the_words_inside_it() -> None:
    assert parse_reply("gap: the runbook is stale") == AddNote("gap", "the runbook is stale")
    assert parse_reply("note: ack came late") == AddNote("note", "ack came late")
    assert parse_reply("decision: handing off to <@U2>") == AddNote("decision", "handing off to <@U2>")


@FUZZ
@given(st.text())
def test_any_reply_is_understood_or_ignored_never_an_error(text: str) -> None:
    assert parse_reply(text) in (None, Acknowledge()) or isinstance(parse_reply(text), HandOff | AddNote)


@FUZZ
@given(st.sampled_from(NOTE_KINDS), st.text().filter(lambda t: t.strip()))
def test_any_note_text_is_kept(kind: str, text: str) -> None:
    assert parse_reply(f"{kind}: {text}") == AddNote(kind, text.strip())


# --- /sce commands ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_no_text_is_help(text: str) -> None:
    assert parse_command(text).name == "help"


def test_start_with_roster_and_flag() -> None:
    command = parse_command("start pager-stress oncall=<@U1|alice> secondary=<@U2> dry-run")
    assert command.name == "start"
    assert command.args == ["pager-stress"]
    assert command.options == {"oncall": "<@U1|alice>", "secondary": "<@U2>"}
    assert command.flags == frozenset({"dry-run"})


def test_command_names_and_option_keys_are_case_insensitive() -> None:
    command = parse_command("START x Oncall=<@U1>")
    assert (command.name, command.args, command.options) == ("start", ["x"], {"oncall": "<@U1>"})


@pytest.mark.parametrize("flag", ["dry-run", "--dry-run", "DRY-RUN", "dryrun"])
def test_dry_run_spellings(flag: str) -> None:
    assert parse_command(f"start x {flag}").flags == frozenset({"dry-run"})


def test_start_without_a_scenario_says_how() -> None:
    for text in ("start", "start oncall=<@U1>", "start dry-run"):
        with pytest.raises(CommandError) as caught:
            parse_command(text)
        message = str(caught.value)
        assert USAGE["start"] in message and "/sce list" in message


def test_an_unknown_command_lists_the_known_ones() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("frobnicate now")
    message = str(caught.value)
    assert "frobnicate" in message
    assert all(name in message for name in USAGE)


@pytest.mark.parametrize("name", ["gap", "note", "GAP  "])
def test_a_note_without_text_is_refused(name: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(name)
    assert USAGE[name.strip().lower()] in str(caught.value)


def test_a_note_keeps_its_text_as_typed() -> None:
    command = parse_command("gap   the runbook has no step for revoking the token")
    assert command.rest == "the runbook has no step for revoking the token"
    assert parse_command("note it's broken, don't retry").rest == "it's broken, don't retry"


@pytest.mark.parametrize("text", ['abort "oops', "note it's late", "start 'pager-stress", 'gap "', "\\", '"'])
def test_unbalanced_quotes_do_not_crash(text: str) -> None:
    try:
        command = parse_command(text)
    except CommandError as error:
        assert str(error)
    else:
        assert command.name in USAGE


def test_every_usage_line_names_its_command() -> None:
    for name, usage in USAGE.items():
        assert usage.startswith(f"/sce {name}")
        if name not in {"start", "note", "gap", "role", "halt"}:
            assert parse_command(name).name == name


@FUZZ
@given(st.text())
def test_any_text_is_a_command_or_a_command_error(text: str) -> None:
    try:
        command = parse_command(text)
    except CommandError as error:
        assert str(error)
    else:
        assert isinstance(command, Command)
        assert command.name in USAGE


@FUZZ
@given(
    st.sampled_from(sorted(USAGE)),
    st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12), max_size=5),
)
def test_any_words_after_a_known_command_are_a_command_or_a_command_error(
    name: str, words: list[str]
) -> None:
    try:
        command = parse_command(" ".join([name, *words]))
    except CommandError:
        assert name in {"start", "note", "gap", "role", "halt"}
    else:
        assert command.name == name


# --- roster -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pager_stress() -> Scenario:
    return load_scenario_file(ROOT / "scenarios" / "pager-stress.yaml").scenario


@pytest.mark.parametrize("key", ["oncall", "primary", "OnCall"])
@pytest.mark.parametrize("reference", ["<@U1>", "<@U1|alice>", "U1", " <@U1> "])
def test_oncall_and_primary_both_fill_primary(pager_stress: Scenario, key: str, reference: str) -> None:
    options = parse_command(f"start pager-stress {key}={reference.strip()} secondary=<@U2|bob>").options
    assert resolve_roster(pager_stress, options) == {"primary": "U1", "secondary": "U2"}
    assert resolve_roster(pager_stress, {key.lower(): reference, "secondary": "U2"}) == {
        "primary": "U1",
        "secondary": "U2",
    }


@pytest.mark.parametrize(
    ("args", "role"),
    [({}, "primary"), ({"secondary": "<@U2>"}, "primary"), ({"oncall": "<@U1>"}, "secondary")],
)
def test_a_missing_person_is_a_roster_error_with_an_example(
    pager_stress: Scenario, args: dict[str, str], role: str
) -> None:
    with pytest.raises(RosterError) as caught:
        resolve_roster(pager_stress, args)
    message = str(caught.value)
    assert role in message
    assert "/sce start pager-stress oncall=" in message and "secondary=" in message


@pytest.mark.parametrize("value", ["alice", "@alice", "u1", "<@alice>", "<#C123>", "U", "<@U1"])
@pytest.mark.parametrize("role", ["oncall", "secondary"])
def test_a_value_that_is_not_a_user_is_named(pager_stress: Scenario, value: str, role: str) -> None:
    args = {"oncall": "<@U1>", "secondary": "<@U2>", role: value}
    with pytest.raises(RosterError) as caught:
        resolve_roster(pager_stress, args)
    assert f"`{value}`" in str(caught.value)


def test_people_fixed_in_the_scenario_are_used_as_they_are() -> None:
    text = (ROOT / "scenarios" / "pager-stress.yaml").read_text(encoding="utf-8")
    fixed = text.replace('secondary: "@secondary"', 'secondary: "U9"')
    assert fixed != text
    scenario = parse_scenario(fixed)
    assert resolve_roster(scenario, {"oncall": "<@U1>"}) == {"primary": "U1", "secondary": "U9"}
    assert resolve_roster(scenario, {"oncall": "<@U1>", "secondary": "<@U2>"})["secondary"] == "U2"


@FUZZ
@given(st.from_regex(r"\A[UW][A-Z0-9]{1,12}\Z"), st.from_regex(r"\A[UW][A-Z0-9]{1,12}\Z"), st.data())
def test_any_user_id_in_any_form_resolves(
    pager_stress: Scenario, primary: str, secondary: str, data: st.DataObject
) -> None:
    def written(user: str) -> str:
        return data.draw(st.sampled_from([f"<@{user}>", f"<@{user}|someone>", user]))

    key = data.draw(st.sampled_from(["oncall", "primary"]))
    assert resolve_roster(pager_stress, {key: written(primary), "secondary": written(secondary)}) == {
        "primary": primary,
        "secondary": secondary,
    }

"""Property-based fuzzing of what people and tools type at the bot: nothing but the documented error escapes.

Covers what tests/test_parsers.py, tests/test_scenario_file.py and tests/test_alerts.py do not: the
rotation parser, the schedule parser, every shipped scenario mutated (as text, as structure and as
bytes), the alert helpers the webhooks and the Slack alert channel lean on, and `/sce` with any text
delivered over real HTTP to one running bot. Every rejection must be a non-empty sentence without a
traceback. Inputs that crash a parser today are pinned as explicit examples in strict xfail tests, so the
bugs stay visible and the random properties above them keep guarding everything else.
"""

from __future__ import annotations

import copy
import re
import string
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from bot_process import ROOT, BotProcess
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from inprocess_bot import bot_on
from threads import start_gameday, wait_for_block

from bot.gameday.measuring.alerts import (
    AlertError,
    alert_from_slack_message,
    classify,
    matches_stop_condition,
    parse_simple_alert,
    stop_condition_problems,
)
from bot.gameday.people.rotation import WEEKDAYS, Rotation, RotationError, on_call, parse_rotation
from bot.gameday.running.commands import USAGE
from bot.gameday.running.schedule import ScheduleError, ScheduleRequest, parse_schedule
from bot.gameday.scenario.loading import ScenarioError, load_scenario_file, parse_scenario
from bot.gameday.scenario.model import Scenario
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

FUZZ = settings(max_examples=150, deadline=None)
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
SOURCE = "fuzzed.yaml"


def assert_sentence(message: str) -> None:
    """A rejection a person can read: words, no traceback, no Python internals."""
    assert message.strip(), "an empty message"
    for internal in ("Traceback", 'File "', "Errno", "Something went wrong"):
        assert internal not in message, message


# --- rotations (bot/gameday/people/rotation.py) ---

# tzdata's directories (Europe, America, US, ...) are capitalised: lower-case names never open one
SAFE_ZONE_TEXT = st.text(alphabet=string.ascii_lowercase + string.digits + "/_-+.", max_size=30)
ZONES = st.sampled_from(
    ["UTC", "Europe/Berlin", "America/New_York", "America/St_Johns", "Asia/Kolkata", "Australia/Lord_Howe"]
)
MEMBER = st.one_of(
    st.from_regex(r"\A[UW][A-Z0-9]{2,10}\Z"),
    st.from_regex(r"\A<@[UW][A-Z0-9]{2,10}(\|[a-z]{1,8})?>\Z"),
    st.text(max_size=10),
    st.integers(),
    st.none(),
)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
HANDOFF = st.fixed_dictionaries(
    {},
    optional={
        "every": st.sampled_from(["day", "week"]) | SCALAR,
        "weekday": st.sampled_from(WEEKDAYS) | SCALAR,
        "time": st.from_regex(r"\A[0-2][0-9]:[0-5][0-9]\Z") | SCALAR,
        "extra": SCALAR,
    },
)
ROTATION = st.fixed_dictionaries(
    {"id": st.text(max_size=12) | SCALAR},
    optional={
        "members": st.lists(MEMBER, max_size=5) | SCALAR,
        "handoff": HANDOFF | SCALAR,
        "timezone": ZONES | SAFE_ZONE_TEXT | SCALAR,
        "start": st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)) | SCALAR,
        "typo": SCALAR,
    },
)


def check_rotation(text: str) -> Rotation | None:
    try:
        rotation = parse_rotation(text, "rotations/fuzzed.yaml")
    except RotationError as error:
        assert_sentence(str(error))
        assert str(error).startswith("rotations/fuzzed.yaml: "), str(error)
        return None
    assert isinstance(rotation, Rotation)
    return rotation


@FUZZ
@given(ROTATION, st.floats(min_value=1e9, max_value=4e9))
def test_any_rotation_file_is_a_rotation_or_a_rotation_error_and_answers_who_is_on_call(
    data: dict[str, Any], at: float
) -> None:
    rotation = check_rotation(yaml.safe_dump(data, allow_unicode=True))
    if rotation is None:
        return
    now = on_call(rotation, at)
    assert {now.primary, now.secondary, now.next_primary} <= set(rotation.members)
    period = 86400 if rotation.handoff.every == "day" else 7 * 86400
    assert 0 < now.next_handoff_at - at <= period + 2 * 3600, (rotation, at, now)


ROTATION_CRASHES = [  # each once escaped parse_rotation as something other than RotationError
    "id: r\nmembers: [U1, U2]\ntimezone: Europe\n",  # IsADirectoryError from ZoneInfo
    "id: r\nmembers: [U1, U2]\ntimezone: " + "a" * 300 + "\n",  # OSError: file name too long
    "id: r\nmembers: [U1, U2]\nstart: 2026-02-30\n",  # ValueError from YAML's implicit timestamp
    "id: r\nmembers: [U1, U2]\nhandoff: {time: !!int nine}\n",  # ValueError from a tagged scalar
    "[" * 3000,  # RecursionError
]


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("aeimnrsty0123456789 :-[]{},'\"#&*!|>\n@._/")), max_size=120))
@example(ROTATION_CRASHES[0])
@example(ROTATION_CRASHES[1])
@example(ROTATION_CRASHES[2])
@example(ROTATION_CRASHES[3])
@example(ROTATION_CRASHES[4])
def test_any_text_is_a_rotation_or_a_rotation_error(text: str) -> None:
    check_rotation(text)


@pytest.mark.parametrize("text", ["just a sentence\n", "- U1\n- U2\n", "42\n"])
def test_a_rotation_that_is_not_a_mapping_is_refused_in_words(text: str) -> None:
    with pytest.raises(RotationError) as caught:
        parse_rotation(text, "rotations/fuzzed.yaml")
    message = str(caught.value)
    assert ": :" not in message and "instance of" not in message, message


@pytest.mark.parametrize("start", ["0001-01-01", "1970-01-01", "9000-01-01", "9999-12-31"])
@pytest.mark.parametrize("at", [0.0, 1.8e9, 4e9])
def test_a_rotation_the_parser_accepts_can_answer_who_is_on_call_at_any_time(start: str, at: float) -> None:
    """`start: 9999-12-31` once parsed and then raised OverflowError on every page (found by this file)."""
    rotation = check_rotation(f"id: r\nmembers: [U1, U2]\nstart: {start}\n")
    if rotation is not None:
        assert on_call(rotation, at).primary in rotation.members


# --- schedules (bot/gameday/running/schedule.py) ---

WORD = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
DAY = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat) | WORD
CLOCK = st.times().map(lambda t: t.strftime("%H:%M")) | WORD
REST = st.lists(
    st.one_of(
        st.sampled_from(["every", "every", "#general", "<#C0123ABC|gameday>", "C0123ABC", "C1"]),
        st.sampled_from(["9" * 400 + "d", "9" * 5000 + "d", "0d", "1d"]),
        st.text(alphabet="0123456789dhms. ", max_size=12),
        WORD,
    ),
    max_size=4,
)
OPTIONS = st.dictionaries(
    st.sampled_from(["tz", "oncall", "primary", "secondary", "other"]),
    ZONES | SAFE_ZONE_TEXT | WORD | st.sampled_from(["Europe", "America/Argentina", "US", "a" * 300]),
    max_size=3,
)


@FUZZ
@given(WORD, DAY, CLOCK, REST, OPTIONS, st.floats(min_value=0, max_value=4e9))
@example("pager-stress", "2099-01-01", "10:00", ["#general", "every", "90d"], {"tz": "Europe/Berlin"}, 1.8e9)
def test_any_schedule_request_is_a_schedule_or_a_schedule_error(
    scenario: str, day: str, clock: str, rest: list[str], options: dict[str, str], now: float
) -> None:
    try:
        request = parse_schedule([scenario, day, clock, *rest], options, now)
    except ScheduleError as error:
        assert_sentence(str(error))
        return
    assert isinstance(request, ScheduleRequest)
    assert request.first_at > now
    assert request.every_seconds is None or request.every_seconds >= 3600
    assert request.channel is None or request.channel.startswith("C")
    assert set(request.options) <= {"oncall", "primary", "secondary"}


@FUZZ
@given(st.lists(WORD, max_size=6), OPTIONS, st.floats(min_value=0, max_value=4e9))
def test_any_words_after_schedule_are_a_schedule_or_a_schedule_error(
    words: list[str], options: dict[str, str], now: float
) -> None:
    try:
        parse_schedule(words, options, now)
    except ScheduleError as error:
        assert_sentence(str(error))


@pytest.mark.parametrize(
    ("rest", "options"),
    [
        ([], {"tz": "Europe"}),
        ([], {"tz": "a" * 300}),
        (["every", "9" * 400 + "d"], {}),
        (["every", "9" * 5000 + "d"], {}),
    ],
    ids=["tz-directory", "tz-too-long", "every-huge", "every-too-many-digits"],
)
def test_a_schedule_with_an_unusable_zone_or_period_is_a_schedule_error(
    rest: list[str], options: dict[str, str]
) -> None:
    """Once IsADirectoryError, OSError, OverflowError and ValueError escaped here (found by this file)."""
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(["pager-stress", "2099-01-01", "10:00", *rest], options, 1.8e9)
    assert_sentence(str(caught.value))


# --- every shipped scenario, mutated (bot/gameday/scenario/loading.py) ---

TEXTS = {path.name: path.read_text(encoding="utf-8") for path in SHIPPED}
DATA = {name: yaml.safe_load(text) for name, text in TEXTS.items()}
LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what PyYAML counts when it numbers lines
VALUES = st.one_of(
    SCALAR,
    st.sampled_from(
        [
            "5m",
            "-1m",
            "1h30m",
            "0",
            "90s",
            "soon",
            "@primary",
            "@secondary",
            "kube-system",
            "T1078",
            "T1",
            ".",
        ]
    ),
    st.lists(SCALAR, max_size=3),
    st.dictionaries(st.text(max_size=8), SCALAR, max_size=3),
)


def check_scenario(text: str) -> None:
    try:
        scenario = parse_scenario(text, SOURCE)
    except ScenarioError as error:
        assert error.problems
        lines = len(LINE_BREAK.findall(text)) + 1
        for problem in error.problems:
            assert problem.file == SOURCE
            assert 1 <= problem.line <= lines, (problem, lines)
            assert_sentence(problem.message)
            assert "\n" not in str(problem)
        return
    assert isinstance(scenario, Scenario)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def structurally_mutated(draw: st.DrawFn, name: str) -> str:
    """The scenario's data with 1-3 nodes replaced, deleted or renamed, written back as YAML."""
    data = copy.deepcopy(DATA[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        operation = draw(st.sampled_from(["replace", "delete", "rename"]))
        if operation == "replace":
            parent[last] = draw(VALUES)
        elif operation == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = parent.pop(last)
        else:
            parent.insert(0, parent.pop(last))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def textually_mutated(draw: st.DrawFn, name: str) -> str:
    """The file's text with lines deleted or duplicated, characters swapped and YAML punctuation inserted."""
    lines = TEXTS[name].splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        if draw(st.booleans()) and len(lines) > 1:
            del lines[index]
        else:
            lines.insert(index, lines[index])
    chars = list("".join(lines))
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(chars) - 2))
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    for _ in range(draw(st.integers(0, 3))):
        chars.insert(
            draw(st.integers(0, len(chars))),
            draw(
                st.sampled_from(
                    [":", "-", " ", "\n", "\t", "[", "{", '"', "'", "&", "*", "!", "%", "\x00", "é"]
                )
            ),
        )
    return "".join(chars)


@pytest.mark.parametrize("name", sorted(TEXTS))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_shipped_scenario_mutated_is_a_scenario_or_a_scenario_error(
    name: str, data: st.DataObject
) -> None:
    check_scenario(TEXTS[name])  # as shipped: must load
    assert isinstance(parse_scenario(TEXTS[name], SOURCE), Scenario)
    check_scenario(data.draw(structurally_mutated(name), label="structure"))
    check_scenario(data.draw(textually_mutated(name), label="text"))


@st.composite
def mutated_bytes(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(TEXTS)))
    raw = bytearray(TEXTS[name].encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        raw[0:0] = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b""]))
    return name, bytes(raw)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated_bytes())
def test_a_shipped_scenario_file_with_bytes_flipped_is_a_scenario_or_a_scenario_error(
    tmp_path: Path, case: tuple[str, bytes]
) -> None:
    name, raw = case
    path = tmp_path / name
    path.write_bytes(raw)
    try:
        loaded = load_scenario_file(path)
    except ScenarioError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.file == str(path) and problem.line >= 1
            assert_sentence(problem.message)
        return
    assert loaded.scenario.id == path.stem


# --- alerts (bot/gameday/measuring/alerts.py): what parse_alertmanager / parse_simple_alert fuzzing leaves ou

JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
SLACK_TS = st.from_regex(r"\A[0-9]{10}\.[0-9]{6}\Z")


@FUZZ
@given(st.from_regex(r"\AC[A-Z0-9]{2,10}\Z"), st.text(), SLACK_TS)
def test_any_message_in_an_alerts_channel_is_an_alert(channel: str, text: str, ts: str) -> None:
    alert = alert_from_slack_message(channel, text, ts)
    assert alert.name.strip() and len(alert.name) <= 80 and "\n" not in alert.name
    assert alert.starts_at == float(ts) and alert.channel == channel and alert.text == text
    classify(alert, {"gd-1a2b3c4d": (["sce-gd-1a2b3c4d"], [{"channel": channel, "text": text or "x"}])})


@FUZZ
@given(JSON | st.lists(JSON, max_size=4))
def test_stop_condition_problems_are_sentences_for_anything(stop_on: Any) -> None:
    problems = stop_condition_problems(stop_on)
    assert isinstance(problems, list)
    for problem in problems:
        assert_sentence(problem)
        assert problem.startswith("guardrails.stop_on") and problem.endswith(".")


@FUZZ
@given(st.lists(JSON, max_size=4), st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3))
def test_any_stop_on_list_is_matched_without_raising(stop_on: list[Any], labels: dict[str, str]) -> None:
    alert = parse_simple_alert({"name": "fuzz", "labels": labels, "text": "x"}, 1.8e9)
    reason = matches_stop_condition(alert, stop_on)
    assert reason is None or reason.startswith("Stop condition met")
    classify(alert, {"gd-1a2b3c4d": (["sce-gd-1a2b3c4d"], stop_on, 0.0)})


@pytest.mark.parametrize("at", [1_795_818_042_000, 0, "9999-12-31T23:59:59Z"])
def test_an_alert_time_far_from_now_is_refused(at: object) -> None:
    with pytest.raises(AlertError):
        parse_simple_alert({"name": "DNS beacon", "at": at}, 1_795_818_042.0)


def test_the_timeline_chart_keeps_about_ten_ticks_for_any_span() -> None:
    from core_harness import CoreHarness, scenario_text

    from bot.debrief.chart import timeline_chart
    from bot.gameday.running.engine import build_debrief_for
    from bot.gameday.timeline import Kind

    h = CoreHarness()
    started = h.engine.start(scenario_text(), "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    assert started.gameday_id is not None
    h.advance_to(h.clock.now() + 5)
    h.engine.mark(started.gameday_id, Kind.DETECTED, "webhook:x", h.clock.now() + 30 * 86400, "d1")
    record = h.store.get(started.gameday_id)
    assert record is not None
    chart = timeline_chart(build_debrief_for(record, h.store.events(started.gameday_id), h.clock.now()))
    assert len(chart.ticks) <= 12, len(chart.ticks)


# --- `/sce` with any text, over real HTTP, against one running bot -----------------------------------------

COMMAND_TEXT = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60),
    st.builds(
        lambda name, words: " ".join([name, *words]),
        st.sampled_from(sorted(USAGE)),
        st.lists(
            st.one_of(
                WORD,
                st.sampled_from(
                    ["<@U1>", "<@U2|bob>", "commander", "comms", "list", "cancel", "every", "dry-run"]
                ),
                st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["oncall", "tz", "secondary", "x"]), WORD),
            ),
            max_size=5,
        ),
    ),
)


@pytest.mark.timeout(300)
def test_any_text_as_sce_arguments_over_http_gets_200_and_an_ephemeral_sentence(
    workspace: LocalWorkspace, people: WorkspaceClient, scenarios_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "fuzz.log"
    bot = BotProcess(
        workspace.api_url,
        f"sqlite:///{tmp_path / 'fuzz.db'}",
        scenarios_dir,
        log,
        extra_env={"SCE_FACILITATORS": "UFAC"},
    ).start()
    workspace.request_url = bot.url
    try:
        thread = start_gameday(people)  # a running game day, so commands about it have one to act on
        wait_for_block(people, thread, "page:p0")
        seen: dict[str, int] = {}

        @settings(max_examples=40, deadline=None, database=None)
        @given(st.sampled_from(["UFAC", "U1"]), COMMAND_TEXT)
        def check(user: str, text: str) -> None:
            result = people.slash(user, "/sce", text)
            assert result["status"] == 200, (text, result)
            reply = result["text"] or ""
            assert_sentence(reply)
            shown = [e.get("text") for e in people.ephemerals(user)]
            assert shown and shown[-1] == reply, (text, reply)  # shown to the person who typed it only
            seen[user] = seen.get(user, 0) + 1

        check()
        assert sum(seen.values()) >= 40
        bot.stop()  # flushes the log
        logged = log.read_text(errors="replace")
        assert "Traceback" not in logged and " ERROR " not in logged, logged[-3000:]
    finally:
        bot.stop()


@pytest.mark.timeout(120)
def test_a_schedule_with_a_zone_directory_gets_a_sentence_over_http(
    workspace: LocalWorkspace, people: WorkspaceClient, tmp_path: Path
) -> None:
    with bot_on(workspace, tmp_path):
        reply = people.slash("UFAC", "/sce", "schedule pager-stress 2099-01-01 10:00 tz=Europe")["text"] or ""
    assert_sentence(reply)
    assert "Europe" in reply

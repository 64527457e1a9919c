"""Scenario files (format v1): a bad file is reported as `file:line: field: sentence`, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.gameday.scenario.loading import (
    ScenarioError,
    ScenarioProblem,
    load_scenario_file,
    parse_scenario,
)
from bot.gameday.scenario.model import Scenario

ROOT = Path(__file__).resolve().parents[1]
PAGER_STRESS = ROOT / "scenarios" / "pager-stress.yaml"
SOURCE = "scenarios/drill.yaml"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A small, valid scenario owned by these tests, so the expected lines do not move when the shipped
# scenario is edited.
BASE = """\
# A drill used by the scenario-file tests.
id: drill
title: A small drill
mode: live
attack: [T1078]
charter:
  objective: Responders acknowledge a security page.
  hypothesis: A SEV-2 page is acknowledged within 5 minutes.
  scope: People and process only.
guardrails: {max_duration: 30m}
oncall: {primary: "@primary", secondary: "@secondary", escalate_after: 3m}
expect: {acknowledge_within: 5m}
steps:
  - at: 0s
    page:
      severity: SEV-2
      summary: "Simulated: impossible-travel login"
  - at: 1m
    say: "Log excerpt (simulated)"
  - at: 4m
    page:
      severity: SEV-3
      summary: "Simulated: API token created"
  - at: 8m
    handoff: {from: primary, to: secondary}
"""


def variant(old: str, new: str) -> str:
    assert BASE.count(old) == 1, f"the test scenario no longer contains {old!r} exactly once"
    return BASE.replace(old, new)


def line_of(text: str, needle: str, after: str | None = None) -> int:
    """1-based line of the first line containing ``needle`` (below the line containing ``after``)."""
    lines = text.splitlines()
    start = 0 if after is None else line_of(text, after)
    for number, line in enumerate(lines[start:], start=start + 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the text")


def problems_of(text: str, source: str = SOURCE) -> list[ScenarioProblem]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source)
    assert caught.value.problems, "a ScenarioError must carry at least one problem"
    return caught.value.problems


def problem_for(problems: list[ScenarioProblem], field: str) -> ScenarioProblem:
    matching = [p for p in problems if p.field == field]
    assert matching, f"no problem names {field!r}; got {[str(p) for p in problems]}"
    return matching[0]


def assert_one_line_per_problem(error: ScenarioError) -> None:
    text = str(error)
    assert "Traceback" not in text
    assert text.split("\n") == [str(p) for p in error.problems]
    for problem, line in zip(error.problems, text.split("\n"), strict=True):
        head = f"{problem.file}:{problem.line}: "
        assert line.startswith(head)
        expected = head + (f"{problem.field}: " if problem.field else "") + problem.message
        assert line == " ".join(expected.splitlines())  # a newline inside a key or value is flattened
        assert len(line.splitlines()) == 1


# --- files that load --------------------------------------------------------------------------------


def test_the_shipped_pager_stress_scenario_loads() -> None:
    loaded = load_scenario_file(PAGER_STRESS)
    scenario = loaded.scenario
    assert scenario.id == "pager-stress" == PAGER_STRESS.stem
    assert loaded.text == PAGER_STRESS.read_text(encoding="utf-8")
    assert loaded.path == str(PAGER_STRESS)
    assert [step.kind for step in scenario.steps] == ["page", "say", "page", "handoff", "logs"]
    assert [step.at for step in scenario.steps] == [0, 60, 240, 480, 480]
    assert [probe.name for probe in scenario.steady_state] == ["sign-in error ratio"]
    assert [panel.title for panel in scenario.panels] == ["Sign-ins by result", "Legacy-auth sign-ins"]
    assert scenario.guardrails.max_duration == 30 * 60
    assert scenario.oncall.escalate_after == 3 * 60
    assert scenario.expect.acknowledge_within == 5 * 60
    assert scenario.attack == ["T1078"]
    assert scenario.charter.hypothesis.startswith("A SEV-2 security page is acknowledged within 5 minutes")


def test_the_base_test_scenario_is_valid() -> None:
    scenario = parse_scenario(BASE, SOURCE)
    assert isinstance(scenario, Scenario)
    assert scenario.steps[3].handoff is not None and scenario.steps[3].handoff.from_ == "primary"


def test_a_file_whose_id_matches_its_name_loads(tmp_path: Path) -> None:
    path = tmp_path / "drill.yaml"
    path.write_text(BASE, encoding="utf-8")
    assert load_scenario_file(path).scenario.id == "drill"


# --- one mistake, one problem at the right place ----------------------------------------------------


def test_a_misspelled_field_is_named_with_its_line() -> None:
    text = variant(
        '      summary: "Simulated: API token created"', '      sumary: "Simulated: API token created"'
    )
    problems = problems_of(text)
    typo = problem_for(problems, "steps[2].page.sumary")
    assert typo.file == SOURCE
    assert typo.line == line_of(text, "sumary:") == 23
    assert "not a field" in typo.message and "spelling" in typo.message
    # the intended field is now missing: reported at the step's `page:` key
    missing = problem_for(problems, "steps[2].page.summary")
    assert missing.line == line_of(text, "page:", after="- at: 4m") == 21
    assert "required" in missing.message


@pytest.mark.parametrize(
    ("old", "new", "field", "key"),
    [
        # a second guardrails would silently replace the first, the one a reviewer read
        (
            "guardrails: {max_duration: 30m}",
            "guardrails: {max_duration: 30m}\nguardrails: {max_duration: 9h}",
            "guardrails",
            "guardrails: {max_duration: 9h}",
        ),
        (
            "expect: {acknowledge_within: 5m}",
            "expect: {acknowledge_within: 5m, acknowledge_within: 1h}",
            "expect.acknowledge_within",
            "expect:",
        ),
        (
            '    say: "Log excerpt (simulated)"',
            '    say: "Log excerpt (simulated)"\n    at: 2m',
            "steps[1].at",
            "    at: 2m",
        ),
    ],
)
def test_a_key_written_twice_in_one_mapping_is_named_not_silently_replaced(
    old: str, new: str, field: str, key: str
) -> None:
    text = variant(old, new)
    problems = problems_of(text)
    assert [p.field for p in problems] == [field]
    assert problems[0].line == line_of(text, key)
    assert "written twice in one mapping" in problems[0].message


def test_a_misspelled_top_level_section_is_named() -> None:
    text = variant("expect: {acknowledge_within: 5m}", "expects: {acknowledge_within: 5m}")
    problem = problem_for(problems_of(text), "expects")
    assert problem.line == line_of(text, "expects:") == 12


def test_a_missing_required_field_points_at_its_section() -> None:
    text = variant("  hypothesis: A SEV-2 page is acknowledged within 5 minutes.\n", "")
    problems = problems_of(text)
    assert [p.field for p in problems] == ["charter.hypothesis"]
    assert problems[0].line == line_of(text, "charter:") == 6
    assert "required" in problems[0].message


def test_a_bad_duration_names_the_field_and_the_valid_forms() -> None:
    text = variant("escalate_after: 3m", "escalate_after: 3x")
    problems = problems_of(text)
    assert [p.field for p in problems] == ["oncall.escalate_after"]
    assert problems[0].line == line_of(text, "escalate_after: 3x") == 11
    assert "'3x'" in problems[0].message
    assert all(form in problems[0].message for form in ("90s", "5m", "1h30m"))


def test_a_bad_duration_in_a_block_mapping_points_at_its_own_line() -> None:
    text = variant(
        "guardrails: {max_duration: 30m}", "guardrails:\n  dry_run: false\n  max_duration: half an hour"
    )
    problem = problem_for(problems_of(text), "guardrails.max_duration")
    assert problem.line == line_of(text, "max_duration: half an hour") == 12


def test_a_step_with_two_actions_is_reported_at_the_step() -> None:
    text = variant(
        '    say: "Log excerpt (simulated)"',
        '    page: {summary: "extra"}\n    say: "Log excerpt (simulated)"',
    )
    problems = problems_of(text)
    assert [p.field for p in problems] == ["steps[1]"]
    assert problems[0].line == line_of(text, "- at: 1m") == 18
    assert "exactly one of page, say, fault, handoff" in problems[0].message
    assert "page, say" in problems[0].message.split("found", 1)[1]


def test_a_step_with_no_action_is_reported_at_the_step() -> None:
    text = variant("    handoff: {from: primary, to: secondary}", "    facilitator_note: nothing happens")
    problems = problems_of(text)
    assert [p.field for p in problems] == ["steps[3]"]
    assert problems[0].line == line_of(text, "- at: 8m") == 24
    assert "exactly one of page, say, fault, handoff" in problems[0].message


def test_steps_out_of_order_name_the_step_that_is_early() -> None:
    text = variant("  - at: 4m", "  - at: 30s")
    problems = problems_of(text)
    assert [p.field for p in problems] == ["steps[2].at"]
    assert problems[0].line == line_of(text, "- at: 30s") == 20
    assert "order" in problems[0].message


def test_the_last_step_after_max_duration_names_that_step() -> None:
    text = variant("  - at: 8m", "  - at: 31m")
    problems = problems_of(text)
    assert [p.field for p in problems] == ["steps[3].at"]
    assert problems[0].line == line_of(text, "- at: 31m") == 24
    assert "max_duration" in problems[0].message and "1860s" in problems[0].message


def test_a_last_step_exactly_at_max_duration_is_refused() -> None:
    text = variant("  - at: 8m", "  - at: 30m")
    assert problem_for(problems_of(text), "steps[3].at").line == 24


def test_an_invalid_attack_id_is_named_by_position() -> None:
    text = variant("attack: [T1078]", "attack: [T1078, X1234]")
    problems = problems_of(text)
    assert [p.field for p in problems] == ["attack[1]"]
    assert problems[0].line == line_of(text, "attack:") == 5


def test_a_yaml_syntax_error_is_reported_on_its_line() -> None:
    text = variant("  scope: People and process only.", "  scope: People: and process only.")
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].line == line_of(text, "scope: People:") == 9
    assert problems[0].field == ""
    assert problems[0].message.startswith("YAML syntax:")


def test_an_unclosed_flow_sequence_is_a_yaml_error_not_a_crash() -> None:
    text = variant("attack: [T1078]", "attack: [T1078")
    (problem,) = problems_of(text)
    assert problem.message.startswith("YAML syntax:")
    assert line_of(text, "attack:") <= problem.line <= line_of(text, "charter:")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just words\n", "", "# only a comment\n", "42\n", "---\n"])
def test_a_document_that_is_not_a_mapping_is_one_problem_on_line_one(text: str) -> None:
    problems = problems_of(text)
    assert [(p.file, p.line, p.field) for p in problems] == [(SOURCE, 1, "")]
    assert "mapping" in problems[0].message


def test_an_id_that_does_not_match_the_file_name_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "pager-drill.yaml"
    path.write_text(BASE, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario_file(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), line_of(BASE, "id: drill"), "id")
    assert "'drill'" in problem.message and "'pager-drill'" in problem.message
    assert_one_line_per_problem(caught.value)


def test_a_problem_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "drill.yaml"
    path.write_text(variant("escalate_after: 3m", "escalate_after: 3x"), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario_file(path)
    assert str(caught.value) == f"{path}:11: oncall.escalate_after: " + caught.value.problems[0].message


def test_a_file_that_is_not_utf8_is_a_problem_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "drill.yaml"
    path.write_bytes(BASE.replace("A small drill", "A sm\xe4ll drill").encode("latin-1"))
    with pytest.raises(ScenarioError) as caught:
        load_scenario_file(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == (str(path), 3)
    assert "UTF-8" in problem.message


def test_a_missing_file_is_a_problem_not_an_oserror(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ScenarioError) as caught:
        load_scenario_file(path)
    assert caught.value.problems[0].file == str(path)
    assert "cannot be read" in caught.value.problems[0].message


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("title: A small drill", "title: !!int many", "!!int"),
        ("title: A small drill", "title: !!float lots", "!!float"),
        ("title: A small drill", "title: !!bool perhaps", "!!bool"),
        ("title: A small drill", "title: !!timestamp yesterday", "!!timestamp"),
        ("title: A small drill", "title: !!python/object:os.system x", "!!python"),
        ("title: A small drill", "title: !!binary 'a'", "!!binary"),
    ],
)
def test_a_value_yaml_cannot_construct_is_a_problem_on_its_line(old: str, new: str, needle: str) -> None:
    text = variant(old, new)
    (problem,) = problems_of(text)
    assert problem.line == line_of(text, needle) == 3
    assert problem.message.startswith("YAML")


def test_a_control_character_is_a_problem_on_its_line() -> None:
    text = variant("  scope: People and process only.", "  scope: People \x07 and process only.")
    (problem,) = problems_of(text)
    assert problem.line == 9
    assert "U+0007" in problem.message


def test_deeply_nested_yaml_is_a_problem_not_a_recursion_error() -> None:
    (problem,) = problems_of("title: " + "[" * 5000 + "]" * 5000 + "\n")
    assert problem.line == 1 and "nested" in problem.message


def test_several_mistakes_are_all_reported_one_line_each() -> None:
    text = variant("escalate_after: 3m", "escalate_after: 3x").replace("mode: live", "mode: rehearsal")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, SOURCE)
    fields = {p.field: p.line for p in caught.value.problems}
    assert fields == {"mode": 4, "oncall.escalate_after": 11}
    assert_one_line_per_problem(caught.value)


def test_a_key_with_a_newline_still_gives_one_line_per_problem() -> None:
    text = BASE + '"oops\\nsecond line": 1\n'
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, SOURCE)
    assert len(str(caught.value).split("\n")) == len(caught.value.problems) == 1
    assert_one_line_per_problem(caught.value)


def test_problem_text_format() -> None:
    assert str(ScenarioProblem("a.yaml", 3, "steps[2].page.summary", "is required")) == (
        "a.yaml:3: steps[2].page.summary: is required"
    )
    assert str(ScenarioProblem("a.yaml", 1, "", "YAML syntax: bad")) == "a.yaml:1: YAML syntax: bad"


# --- whatever the text, a Scenario or a ScenarioError --------------------------------------------------


# what PyYAML counts as a line break when it numbers lines
YAML_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def check_outcome(text: str) -> None:
    try:
        result = parse_scenario(text, SOURCE)
    except ScenarioError as error:
        assert error.problems
        last_line = len(YAML_LINE_BREAK.findall(text)) + 1
        for problem in error.problems:
            assert problem.file == SOURCE
            assert isinstance(problem.line, int) and 1 <= problem.line <= last_line, (problem, last_line)
            assert isinstance(problem.field, str) and problem.message
        assert_one_line_per_problem(error)
    else:
        assert isinstance(result, Scenario)


PAGER_TEXT = PAGER_STRESS.read_text(encoding="utf-8")
PAGER_LINES = PAGER_TEXT.splitlines(keepends=True)
PAGER_DATA = yaml.safe_load(PAGER_TEXT)


@st.composite
def mutated_pager_stress(draw: st.DrawFn) -> str:
    lines = list(PAGER_LINES)
    for _ in range(draw(st.integers(0, 3))):
        if len(lines) > 1:
            del lines[draw(st.integers(0, len(lines) - 1))]
    text = "".join(lines)
    chars = list(text)
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(chars) - 2))
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(chars)))
        chars.insert(
            i, draw(st.sampled_from([":", "-", " ", "\n", "\t", "[", "{", '"', "'", "&", "*", "!", "x"]))
        )
    return "".join(chars)


YAMLISH = st.text(
    alphabet=st.sampled_from(list("abcdehimst0123456789 :-[]{},\"'#&*!|>\n\t@.?%\x07\u2028é"))
    | st.characters(),
    max_size=200,
)


@FUZZ
@given(YAMLISH)
def test_random_text_is_a_scenario_or_a_scenario_error(text: str) -> None:
    check_outcome(text)


@FUZZ
@given(mutated_pager_stress())
def test_mutated_pager_stress_is_a_scenario_or_a_scenario_error(text: str) -> None:
    check_outcome(text)


@FUZZ
@given(
    st.sampled_from(["id", "title", "mode", "attack", "charter", "guardrails", "oncall", "expect", "steps"]),
    st.one_of(
        st.integers(-(10**30), 10**30).map(str),
        st.floats(allow_nan=True).map(repr),
        st.sampled_from(
            ["", "[]", "{}", "null", "~", "[1, [2]]", "{a: b}", "-1m", "1e999", ".nan", "!!str 5", "&a x"]
        ),
        st.text(alphabet="0123456789hms.", max_size=12),
    ),
)
def test_any_value_in_any_section_is_a_scenario_or_a_scenario_error(section: str, value: str) -> None:
    rest = {key: value for key, value in PAGER_DATA.items() if key != section}
    check_outcome(yaml.safe_dump(rest, sort_keys=False) + f"{section}: {value}\n")

"""Bounded input and ceilings: scenario files, attachments, thread text and SCE_MAX_TTL.

Each hostile input is refused with one sentence naming the file (and line and field where there is one),
in small memory; the time guards are pytest-timeout marks and ratios, never an absolute speed.
"""

from __future__ import annotations

import os
import socket
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from core_harness import CoreHarness
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.cli import cli
from bot.config import SettingError, Settings
from bot.gameday.people.mentions import MENTION_IN_TEXT
from bot.gameday.running.commands import parse_command
from bot.gameday.running.poller import fire_due_timers
from bot.gameday.running.replies import HandOff, parse_reply
from bot.gameday.scenario.attachments import with_attachments
from bot.gameday.scenario.file_reading import UnsafeFile, read_regular_file
from bot.gameday.scenario.limits import STORED_LIMITS
from bot.gameday.scenario.loading import ScenarioError, load_scenario_file, parse_scenario
from bot.gameday.timeline import Kind

HEAD = """\
id: {id}
title: Bounded
charter: {{objective: Stay bounded., hypothesis: Hostile files are refused.}}
guardrails: {{max_duration: 30m}}
"""
STEP = "steps:\n  - {at: 0s, say: hello}\n"
MEMORY_LIMIT = 50 * 1024 * 1024


def scenario(name: str, tail: str) -> str:
    return HEAD.format(id=name) + tail


def validate(path: Path, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """`sce validate PATH` in this process; its exit code and its stderr lines."""
    result = CliRunner().invoke(cli, ["validate", str(path)], env=env or {})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, [line for line in result.stderr.splitlines() if line.strip()]


def peak_memory(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- scenario files ---------------------------------------------------------------------------------
def billion_laughs() -> str:
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    return scenario("bomb", "debrief:\n  questions: *a9\n" + STEP).replace(
        "guardrails:", "x-lols:\n" + "\n".join("  " + line for line in levels) + "\nguardrails:"
    )


def merge_bomb() -> str:
    levels = ["m0: &m0 {k0: 1, k1: 2, k2: 3, k3: 4}"]
    levels += [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i + 3}: {i}}}" for i in range(1, 40)]
    body = "\n".join("  " + line for line in levels)
    return scenario(
        "bomb", "steps:\n  - at: 0s\n    webhook:\n      url: https://a.example/\n      payload: *m39\n"
    ).replace("guardrails:", f"x-merge:\n{body}\nguardrails:")


HOSTILE = {
    "billion laughs": (billion_laughs(), "aliases (here *a", None),
    "merge-key bomb": (merge_bomb(), "aliases (here *m", None),
    "recursive alias": (scenario("bomb", "debrief: &d {questions: [*d]}\n" + STEP), "inside the node", None),
    "deep flow lists": (scenario("bomb", "title2: " + "[" * 100_000 + "]" * 100_000 + "\n"), "nested", None),
    "deep flow mappings": (
        scenario("bomb", "x: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n"),
        "nested",
        None,
    ),
    "deep block mappings": (
        scenario("bomb", "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n"),
        "nested",
        None,
    ),
    "deep block lists": (
        scenario("bomb", "x:\n" + "".join("  " * i + "-\n" for i in range(200))),
        "nested",
        None,
    ),
    "ten megabytes": (scenario("bomb", STEP) + "#" * (10 * 1024 * 1024) + "\n", "larger than 256 KiB", None),
    "100k steps": (
        scenario("bomb", "steps:\n" + "  - {at: 0s, say: x}\n" * 100_000),
        "larger than 256",
        None,
    ),
    "600 steps": (scenario("bomb", "steps:\n" + "  - {at: 0s, say: x}\n" * 600), "at most 500", "steps"),
    "a huge string": (
        scenario("bomb", "steps:\n  - {at: 0s, say: " + "x" * 200_000 + "}\n"),
        "200,000",
        None,
    ),
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_sce_validate_refuses_a_hostile_scenario_in_one_sentence_and_small_memory(
    name: str, tmp_path: Path
) -> None:
    text, words, field = HOSTILE[name]
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    outcome: list[tuple[int, list[str]]] = []
    peak = peak_memory(lambda: outcome.append(validate(path)))
    code, lines = outcome[0]
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:") and words in lines[0], lines
    if field:
        assert f": {field}: " in lines[0], lines
    assert "Traceback" not in lines[0]
    assert peak < MEMORY_LIMIT, f"{name}: {peak / 1e6:.1f} MB"


def test_a_refusal_names_the_line_of_the_alias_or_the_nesting() -> None:
    text = scenario(
        "drill",
        "x:\n  - [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n" + STEP,
    )
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.yaml")
    (problem,) = caught.value.problems
    assert problem.line == 6 and "deeper than 32" in problem.message


def test_a_few_aliases_and_merges_people_really_write_still_load() -> None:
    text = scenario(
        "drill",
        "steps:\n  - &first {at: 0s, page: &page {severity: SEV-2, summary: Simulated}}\n"
        "  - {<<: *first, at: 1m}\n  - {at: 2m, page: *page}\n",
    )
    loaded = parse_scenario(text)
    assert [s.page.summary for s in loaded.steps if s.page] == ["Simulated"] * 3


def test_x_keys_are_still_unknown_fields() -> None:
    # the hostile files above fail on their limits first; that they would fail anyway must not hide it
    with pytest.raises(ScenarioError, match="x-lols"):
        parse_scenario(scenario("drill", "x-lols: 1\n" + STEP))


@settings(max_examples=60, deadline=None)
@given(depth=st.integers(33, 400), flow=st.booleans(), mapping=st.booleans())
def test_any_nesting_past_the_limit_is_one_problem(depth: int, flow: bool, mapping: bool) -> None:
    if flow:
        opener, closer = ("{a: ", "}") if mapping else ("[", "]")
        value = opener * depth + "1" + closer * depth
        text = scenario("drill", f"x: {value}\n" + STEP)
    else:
        lines = "".join("  " * i + ("k:\n" if mapping else "-\n") for i in range(1, depth + 1))
        text = scenario("drill", "x:\n" + lines + STEP)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.yaml")
    assert len(caught.value.problems) == 1 and "nested deeper than 32" in str(caught.value)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_sce_validate_of_a_device_is_refused_without_reading_it(device: str) -> None:
    code, lines = validate(Path(device))
    assert code == 1 and lines == [f"{device}:1: is a device, not a regular file"]


@pytest.mark.timeout(10)
def test_a_scenario_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "drill.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="is a named pipe, not a regular file"):
        load_scenario_file(fifo)


def test_stored_text_with_attachments_may_be_larger_than_a_file() -> None:
    lines = "".join(f"      - line {i} {'x' * 60}\n" for i in range(5000))  # about 350 kB
    text = scenario("drill", f"steps:\n  - at: 0s\n    logs:\n      every: 1s\n      lines:\n{lines}")
    with pytest.raises(ScenarioError, match="larger than 256 KiB"):
        parse_scenario(text)
    # the step is a logs step:
    assert len(parse_scenario(text, limits=STORED_LIMITS).steps[0].logs.lines) == 5000  # type: ignore[union-attr]


# -- attachments ----------------------------------------------------------------------------------------
def attaching(folder: Path, name: str, kind: str = "logs") -> Path:
    step = (
        f"  - at: 0s\n    logs: {{file: '{name}', every: 1s}}\n"
        if kind == "logs"
        else f"  - at: 0s\n    sbom: {{file: '{name}', package: log4j-core}}\n"
    )
    path = folder / "attached.yaml"
    path.write_text(scenario("attached", "steps:\n" + step))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    inside = tmp_path / "scenarios"
    inside.mkdir()
    (tmp_path / "secret.log").write_text("outside the scenarios folder\n")
    return inside


def make_socket(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    return server


def _made(name: str, make: Callable[[Path], object]) -> Callable[[Path], str]:
    """The attachment ``name``, once ``make`` has put it in the scenarios folder."""
    return lambda folder: (make(folder), name)[1]


ATTACHMENT_REFUSALS: dict[str, tuple[Callable[[Path], str], str]] = {
    "absolute path": (lambda f: "/etc/hostname", "must be a path relative to the scenarios folder"),
    "dot-dot": (lambda f: "../secret.log", "must stay inside the scenarios folder"),
    "dot-dot that comes back": (
        lambda f: "../scenarios/attached.yaml",
        "must stay inside the scenarios folder",
    ),
    "symlink out": (
        _made("out.log", lambda f: (f / "out.log").symlink_to(f.parent / "secret.log")),
        "must stay inside the scenarios folder",
    ),
    "symlink to /dev/zero": (
        _made("zero.log", lambda f: (f / "zero.log").symlink_to("/dev/zero")),
        "must stay inside the scenarios folder",
    ),
    "directory": (_made("logs", lambda f: (f / "logs").mkdir()), "is a directory, not a regular file"),
    "fifo": (_made("pipe.log", lambda f: os.mkfifo(f / "pipe.log")), "is a named pipe, not a regular file"),
    "missing": (lambda f: "nothing.log", "cannot be read (No such file or directory)"),
    "too large": (
        _made("big.log", lambda f: os.truncate(_touch(f / "big.log"), 5 * 1024 * 1024 + 1)),
        "is larger than 5 MiB",
    ),
    "not utf-8": (
        _made("bin.log", lambda f: (f / "bin.log").write_bytes(b"ok\xff\xfe\x00")),
        "is not UTF-8 text",
    ),
    "a byte-order mark, then not its encoding": (
        _made("bom.log", lambda f: (f / "bom.log").write_bytes(b"\xff\xfe\x00")),
        "is not UTF-16 LE text",
    ),
}


def _touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", ["logs", "sbom"])
@pytest.mark.parametrize("name", list(ATTACHMENT_REFUSALS))
def test_sce_validate_refuses_an_attachment_that_is_not_a_small_regular_file_inside_the_folder(
    name: str, kind: str, folder: Path
) -> None:
    make, words = ATTACHMENT_REFUSALS[name]
    attachment = make(folder)
    path = attaching(folder, attachment, kind)
    code, lines = validate(path)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:7: steps[0].{kind}.file: {attachment} {words}"), lines


@pytest.mark.timeout(10)
def test_a_socket_is_refused_as_an_attachment(folder: Path) -> None:
    server = make_socket(folder / "s.log")
    try:
        code, lines = validate(attaching(folder, "s.log"))
    finally:
        server.close()
    assert code == 1 and lines[0].endswith("steps[0].logs.file: s.log is a socket, not a regular file")


def test_attachments_together_are_capped(folder: Path) -> None:
    for name in ("a.log", "b.log"):
        (folder / name).write_text("line\n" * 700_000)  # 3.5 MB each
    path = folder / "attached.yaml"
    path.write_text(
        scenario(
            "attached",
            "steps:\n  - {at: 0s, logs: {file: a.log, every: 1s}}\n"
            "  - {at: 1s, logs: {file: b.log, every: 1s}}\n",
        )
    )
    with pytest.raises(ScenarioError) as caught:
        with_attachments(load_scenario_file(path), folder)
    assert str(caught.value) == (
        f"{path}:7: steps[1].logs.file: b.log brings the scenario's attachments over 5 MiB"
    )


def test_an_attachment_through_a_symlink_inside_the_folder_is_read(folder: Path) -> None:
    (folder / "real.log").write_text("first\nsecond\n")
    (folder / "alias.log").symlink_to(folder / "real.log")
    loaded = with_attachments(load_scenario_file(attaching(folder, "alias.log")), folder)
    # the step is a logs step:
    assert loaded.scenario.steps[0].logs.lines == ["first", "second"]  # type: ignore[union-attr]


def test_a_file_read_stops_one_byte_past_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 11)
    assert read_regular_file(path, 11) == b"x" * 11
    with pytest.raises(UnsafeFile, match="larger than 0 KiB"):
        read_regular_file(path, 10)


# -- thread text ------------------------------------------------------------------------------------------
ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "handing off to <@U1| without >": lambda n: "handing off to " + "<@U1|" * n,
    "repeated <@": lambda n: "handing off to " + "<@" * n,
    "handing off to x10k": lambda n: "handing off to " * n,
    "one long id": lambda n: "handing off to <@U" + "A" * n,
    "spaces after ack": lambda n: "ack" + " " * n + "x",
    "ack now now": lambda n: "ack" + " now" * n + " x",
    "a note of one character": lambda n: "gap:" + ":" * n,
    "one character": lambda n: "a" * n,
}


def _cost(text: str, parse: Callable[[str], object]) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        parse(text)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_thread_replies_parse_in_linear_time(name: str) -> None:
    make = ADVERSARIAL[name]
    small, large = _cost(make(800), parse_reply), _cost(make(8000), parse_reply)
    # ten times the input: linear is about 10x; the quadratic mention pattern this replaced was ~70-100x
    assert large <= 30 * small + 0.005, (name, small, large)


@pytest.mark.timeout(30)
def test_commands_parse_in_linear_time() -> None:
    # shlex grows a word one character at a time (a little worse than linear); TEXT_LIMIT bounds it
    makers: list[Callable[[int], str]] = [
        lambda n: "note " + '"' * n,
        lambda n: "start x " + "a=b " * n,
        lambda n: "abort " + "<@U1|" * n,
    ]
    for make in makers:
        small, large = _cost(make(800), parse_command), _cost(make(8000), parse_command)
        assert large <= 40 * small + 0.02, (small, large)


def test_a_reply_longer_than_slack_allows_is_read_to_the_limit_only() -> None:
    assert parse_reply("handing off to <@U2>" + " x" * 30_000) == HandOff("U2")
    assert parse_reply("handing off to " + "x" * 40_000 + " <@U2>") is None
    assert parse_command("note " + "y" * 100_000).rest == "y" * (40_000 - 5)
    from bot.gameday.measuring.alerts import alert_from_slack_message

    assert len(alert_from_slack_message("C1", "incident " * 10_000, "1.5").text) == 40_000


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["<@", "U1", "|", ">", "W", "<", "handing off to ", " ", "ack", "a"]), max_size=300
    )
)
def test_any_mention_soup_is_found_like_a_reference_scan(parts: list[str]) -> None:
    text = "".join(parts)
    found = MENTION_IN_TEXT.search(text)
    reply = parse_reply(text)
    if isinstance(reply, HandOff):
        assert found is not None and reply.to_user == found["id"]
    if found:  # what was found is a whole mention without a "<" or ">" inside its label
        assert text[found.start() : found.end()].count("<") == 1 and text[found.end() - 1] == ">"


# -- SCE_MAX_TTL ----------------------------------------------------------------------------------------
FAULTY = scenario(
    "faulty", "steps:\n  - at: 0s\n    fault: {type: simulated.pod-delete, ttl: 30h}\n"
).replace("max_duration: 30m", "max_duration: 36h")


def test_settings_read_sce_max_ttl_with_a_default_of_a_day() -> None:
    assert Settings.from_env({}).max_ttl == 24 * 3600
    assert Settings.from_env({"SCE_MAX_TTL": "2h30m"}).max_ttl == 9000
    for bad in ("soon", "-1h", "0"):
        with pytest.raises(SettingError, match="^SCE_MAX_TTL: "):
            Settings.from_env({"SCE_MAX_TTL": bad})


def test_sce_validate_names_each_field_over_the_ceiling(tmp_path: Path) -> None:
    path = tmp_path / "faulty.yaml"
    path.write_text(FAULTY)
    code, lines = validate(path)
    assert code == 1
    assert lines == [
        f"{path}: guardrails.max_duration: 36h is above this deployment's ceiling SCE_MAX_TTL=24h; "
        "shorten the time box",
        f"{path}: steps[0].fault.ttl 30h is above this deployment's ceiling SCE_MAX_TTL=24h; shorten the ttl",
    ]
    code, lines = validate(path, {"SCE_MAX_TTL": "48h"})
    assert code == 0 and lines == []
    result = CliRunner().invoke(cli, ["validate", str(path)], env={"SCE_MAX_TTL": "a while"})
    assert isinstance(result.exception, SettingError)  # main() prints it as one sentence, exit 2


def test_a_start_over_the_ceiling_is_refused_and_nothing_runs() -> None:
    core = CoreHarness()
    outcome = core.engine.start(FAULTY, "C1", "UFAC", {})
    assert not outcome.ok
    assert (
        "guardrails.max_duration: 36h is above" in outcome.message
        and "steps[0].fault.ttl 30h" in outcome.message
    )
    assert core.store.active() == []


def test_apply_refuses_a_ttl_over_the_ceiling_as_the_last_line() -> None:
    core = CoreHarness()
    core.engine.max_ttl = core.engine.injects.max_ttl = 48 * 3600
    outcome = core.engine.start(FAULTY, "C1", "UFAC", {})
    assert outcome.ok and outcome.gameday_id
    core.engine.injects.max_ttl = 24 * 3600  # the deployment lowered SCE_MAX_TTL while it ran
    fire_due_timers(core.store, core.engine, core.clock.now())
    kinds = [e.kind for e in core.store.events(outcome.gameday_id)]
    assert Kind.FAULT_APPLIED not in kinds and Kind.FAULT_INTENT not in kinds
    assert ("fault", "refused simulated.pod-delete") in core.announcer.posts
    assert core.faults.active == {}


@settings(max_examples=80, deadline=None)
@given(
    levels=st.integers(1, 12),
    branching=st.integers(1, 12),
    leaves=st.integers(1, 8),
    merge=st.booleans(),
)
def test_an_alias_chain_is_refused_exactly_when_it_expands_past_the_limit(
    levels: int, branching: int, leaves: int, merge: bool
) -> None:
    """Every shape of nested aliases or merges: refused iff what it adds beyond the text passes 10,000."""
    if merge:  # level i: {<<: [*l(i-1) x branching], own: i}
        lines = ["l0: &l0 {" + ", ".join(f"k{j}: {j}" for j in range(leaves)) + "}"]
        lines += [
            f"l{i}: &l{i} {{<<: [{', '.join([f'*l{i - 1}'] * branching)}], own{i}: {i}}}"
            for i in range(1, levels + 1)
        ]
        # a mapping counts itself and its keys and values; a merge adds the merged node's whole subtree
        size = [1 + 2 * leaves]
        for _ in range(levels):
            size.append(1 + 1 + 1 + branching * size[-1] + 2)  # mapping, "<<", the list, the aliases, own
    else:  # level i: [*l(i-1) x branching]
        lines = ["l0: &l0 [" + ", ".join(["x"] * leaves) + "]"]
        lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * branching)}]" for i in range(1, levels + 1)]
        size = [1 + leaves]
        for _ in range(levels):
            size.append(1 + branching * size[-1])
    aliases = levels * branching
    added = sum(
        branching * (size[i - 1] - 1) for i in range(1, levels + 1)
    )  # each alias: its subtree less itself
    text = scenario("drill", "x-chain:\n" + "\n".join("  " + line for line in lines) + "\n" + STEP)
    with pytest.raises(ScenarioError) as caught:  # x-chain is an unknown field: refused either way
        parse_scenario(text, "s.yaml")
    refused_for_aliases = "expand the document by more than 10,000 values" in str(caught.value)
    assert refused_for_aliases == (added > 10_000), (added, aliases, str(caught.value))


@pytest.mark.timeout(10)
def test_a_rotation_file_is_read_as_carefully_as_a_scenario(tmp_path: Path) -> None:
    from bot.gameday.people.rotation import RotationError, parse_rotation
    from bot.gameday.scenario.catalog import RotationCatalog

    os.mkfifo(tmp_path / "secops.yaml")
    with pytest.raises(
        RotationError, match=r"^The rotation file secops.yaml is a named pipe, not a regular file\.$"
    ):
        RotationCatalog(tmp_path).text_for("secops")
    levels = ["m0: &m0 {a: 1, b: 2}"] + [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}" for i in range(1, 40)]
    with pytest.raises(RotationError, match=r"^r.yaml: aliases \(here \*m.* \(line \d+\)$"):
        parse_rotation("\n".join(levels) + "\n", "r.yaml")


REDACTION_ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "a.a.a. after a keyword": lambda n: "token " + "a." * n,
    "a-a-a- after a keyword": lambda n: "token " + "a-" * n,
    "jwt-like words": lambda n: "eyJaaaaaaaaaa." * n,
    "dots after token=": lambda n: "?token=" + "." * n,
    "bearer and digits": lambda n: "bearer " + "1" * n,
    "bearer bearer": lambda n: "bearer " * n,
    "authorization: x n": lambda n: "authorization: " * n,
    "a://a://": lambda n: "a://" * n,
    "userinfo colons": lambda n: "https://" + "a:" * n,
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(REDACTION_ADVERSARIAL))
def test_redaction_of_a_hostile_note_runs_in_linear_time(name: str) -> None:
    """Notes and replies people type are redacted for every debrief: "token a.a.a..." took 7 s at 40 kB."""
    from bot.gameday.measuring.redaction import redact

    make = REDACTION_ADVERSARIAL[name]
    small, large = _cost(make(2000), redact), _cost(make(20000), redact)
    assert large <= 50 * small + 0.02, (name, small, large)  # 10x the text: linear ~10x, quadratic ~100x


def test_a_bad_sce_max_ttl_is_one_sentence_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from bot.cli import main

    path = tmp_path / "faulty.yaml"
    path.write_text(FAULTY)
    monkeypatch.setenv("SCE_MAX_TTL", "a while")
    monkeypatch.setattr(sys, "argv", ["sce", "validate", str(path)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "sce: SCE_MAX_TTL: 'a while' is not a duration; use forms like 90s, 5m or 1h30m\n"
    )


def test_a_lone_surrogate_is_a_problem_for_both_readers() -> None:
    from bot.gameday.scenario.limits import STORED_LIMITS

    for limits in (None, STORED_LIMITS):
        with pytest.raises(ScenarioError):
            parse_scenario("id: \ud800\n", "s.yaml", **({"limits": limits} if limits else {}))

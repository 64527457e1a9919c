"""A demo never touches the real bot: its own database, its game day ended when it is interrupted, and
`sce serve` on the real database afterwards finds nothing to resume. Also: rehearsing a scenario of
one's own (default responders), one scenario folder for `sce list` and `sce demo`, "did you mean",
and the command line's small things (`--output`, `--version`, clean help)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import string
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from bot_process import ROOT, SCE
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from inprocess_bot import run_bot
from typer.testing import CliRunner

from bot.cli import cli
from bot.config import Settings, data_dir, demo_databases
from bot.gameday.clock import VirtualClock
from bot.gameday.scenario.catalog import ScenarioCatalog
from bot.runtime.service import build_services, open_store
from bot.workspace.client import WorkspaceClient
from bot.workspace.default_script import default_script
from bot.workspace.demo import run_demo
from bot.workspace.server import LocalWorkspace
from storage.database import shown_url

SPEED = 400.0


def _settings(database_url: str, scenarios: Path = ROOT / "scenarios") -> Settings:
    return Settings(database_url=database_url, scenarios_dir=scenarios)


def _interrupt_after_first_page(lines: list[str]) -> Callable[[str], None]:
    def say(line: str) -> None:
        lines.append(line)
        if "you are paged" in line:
            raise KeyboardInterrupt

    return say


def _serve_later(database_url: str, hours: float = 3.0) -> list[dict[str, object]]:
    """What `sce serve` does at start on ``database_url`` (services, timers), hours later: its posts."""
    clock = VirtualClock(time.time() + hours * 3600)
    with LocalWorkspace(signing_secret="s", users={"U1": "alice"}, channels={"C1": "gameday"}) as ws:
        settings = Settings(
            slack_bot_token="xoxb-local",
            slack_signing_secret="s",
            slack_api_url=ws.api_url,
            database_url=database_url,
            scenarios_dir=ROOT / "scenarios",
        )
        services = build_services(settings, clock, simulate_faults=True)
        try:
            services.store.reset_stale_timers(min_age=0)  # as `sce serve` does at start
            services.timers.poll()
        finally:
            services.stop()
        return ws.messages("C1")


# -- a demo never touches the real bot ------------------------------------------------------------


def test_an_interrupted_demo_ends_its_game_day_in_its_own_database(tmp_path: Path) -> None:
    real = f"sqlite:///{tmp_path / 'real.db'}"
    demo_db = f"sqlite:///{tmp_path / 'demo.db'}"
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        run_demo(
            "pager-stress",
            settings=_settings(real),
            speed=SPEED,
            out_dir=tmp_path / "out",
            say=_interrupt_after_first_page(lines),
            database_url=demo_db,
        )
    assert open_store(_settings(real)).all() == []  # the real database never saw the demo
    demo_store = open_store(_settings(demo_db))
    [record] = demo_store.all()
    assert record.status == "aborted"
    assert demo_store.unfinished_timers(record.id) == 0
    said = [line for line in lines if line.startswith("Interrupted:")]
    assert len(said) == 1 and record.id in said[0] and "aborted" in said[0], lines
    assert _serve_later(real) == []  # a later `sce serve` on the real database pages nothing
    assert _serve_later(demo_db) == []  # nor would one pointed at the demo's by mistake


def test_the_demo_database_is_its_own_in_the_data_folder_and_debrief_output_reads_it(
    tmp_path: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    lines: list[str] = []

    def say(line: str) -> None:  # interrupted on its very last line: after its game day ended
        lines.append(line)
        if line.startswith("sce debrief "):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_demo("pager-stress", speed=SPEED, out_dir=tmp_path / "out", say=say)
    [demo_file] = demo_databases()
    assert demo_file.parent == data_home / "demos"
    [record] = open_store(_settings(f"sqlite:///{demo_file}")).all()
    assert record.status == "completed"  # the interrupt came too late to change it
    assert lines[-2] == f"sce debrief {record.id} --demo"
    assert lines[-1].startswith(f"Interrupted: the demo's game day {record.id} had already ended;"), lines
    assert Settings.from_env().database_url == f"sqlite:///{data_home / 'sce.db'}"
    assert not (data_home / "sce.db").exists()  # the database `sce serve` uses was never opened
    assert not (tmp_path / "sce.db").exists()  # nor one in the current folder
    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written] == [f"{record.id}.{suffix}" for suffix in ("html", "json", "md")]
    _debrief_output_writes_the_format_its_suffix_names(tmp_path, record.id)


def _debrief_output_writes_the_format_its_suffix_names(tmp_path: Path, gameday: str) -> None:
    """`sce debrief --demo --output FILE`, on the demo just run (one demo for both tests)."""
    runner = CliRunner()
    for name, check in (
        ("d.md", lambda text: text.startswith("# Game day debrief")),
        ("d.json", lambda text: json.loads(text)["id"] == gameday),
        ("d.html", lambda text: "<html" in text.lower()),
        ("d.xml", lambda text: ET.fromstring(text.encode()).tag in ("testsuites", "testsuite")),
    ):
        target = tmp_path / name
        written = runner.invoke(cli, ["debrief", gameday, "--demo", "--output", str(target)])
        assert written.exit_code == 0, written.output
        assert written.stdout == "" and str(target) in written.stderr
        assert check(target.read_text()), name
    forced = runner.invoke(cli, ["debrief", "latest", "--demo", "-f", "json", "-o", str(tmp_path / "d.txt")])
    assert forced.exit_code == 0 and json.loads((tmp_path / "d.txt").read_text())["id"] == gameday
    unknown = runner.invoke(cli, ["debrief", "latest", "--demo", "--output", str(tmp_path / "d.pdf")])
    assert unknown.exit_code == 2 and "--format" in unknown.stderr and not (tmp_path / "d.pdf").exists()
    nowhere = runner.invoke(cli, ["debrief", "latest", "--demo", "-o", str(tmp_path / "no" / "d.md")])
    assert nowhere.exit_code == 2 and "does not exist" in nowhere.stderr
    elsewhere = runner.invoke(cli, ["debrief", gameday])  # not in the default database: it says where it is
    assert elsewhere.exit_code == 1 and "It is a demo's: add --demo." in elsewhere.stderr


def test_a_demo_interrupted_before_its_game_day_started_says_nothing_runs(tmp_path: Path) -> None:
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        if line.startswith("carol> /sce start"):
            raise KeyboardInterrupt

    demo_db = f"sqlite:///{tmp_path / 'demo.db'}"
    with pytest.raises(KeyboardInterrupt):
        run_demo(
            "pager-stress",
            settings=_settings(f"sqlite:///{tmp_path / 'real.db'}"),
            say=say,
            database_url=demo_db,
        )
    assert lines[-1] == "Interrupted before the demo's game day started; nothing of it runs on."
    assert open_store(_settings(demo_db)).all() == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_sce_demo_aborts_its_game_day_and_says_so(tmp_path: Path, sent: signal.Signals) -> None:
    """The process boundary is the point: a real Ctrl-C (or a SIGTERM) to `sce demo`."""
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'real.db'}",
        "PYTHONUNBUFFERED": "1",  # each line as it is said: the signal comes right after the first page
    }
    env.pop("SCE_SCENARIOS_DIR", None)
    proc = subprocess.Popen(
        [SCE, "demo", "--fast", "--out", str(tmp_path / "out")],  # the signal is the point, not the pace
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "you are paged" in line:
            break
    assert proc.poll() is None, "".join(seen)  # still running: the signal lands mid-game-day
    proc.send_signal(sent)
    rest, err = proc.communicate(timeout=30)
    out = "".join(seen) + rest
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err, err
    assert out.count("Interrupted:") == 1 and "aborted" in out, out
    assert not (tmp_path / "real.db").exists()
    [demo_file] = demo_databases({"XDG_DATA_HOME": str(tmp_path / "data")})
    store = open_store(_settings(f"sqlite:///{demo_file}"))
    [record] = store.all()
    assert record.status == "aborted" and store.unfinished_timers(record.id) == 0


# -- the default database location ----------------------------------------------------------------


def test_the_default_database_is_in_the_user_data_folder_whatever_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        result = CliRunner().invoke(cli, ["debrief", "latest"])
        assert result.exit_code == 1
        assert f"sqlite:///{tmp_path / 'xdg' / 'sce' / 'sce.db'}" in result.stderr  # named, and the same
        assert list((tmp_path / folder).iterdir()) == []
    assert (tmp_path / "xdg" / "sce" / "sce.db").exists()  # made on first use
    assert (tmp_path / "xdg" / "sce").stat().st_mode & 0o077 == 0  # the user's alone
    # no XDG_DATA_HOME, or a relative one (the spec says to ignore it): ~/.local/share/sce
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for value in ("", "relative/xdg"):
        monkeypatch.setenv("XDG_DATA_HOME", value)
        assert data_dir() == tmp_path / "home" / ".local" / "share" / "sce"
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.db")
    assert Settings.from_env().database_url == "sqlite:///elsewhere.db"  # DATABASE_URL still wins


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql://sce:hunter2@db.internal:5432/sce", "hunter2"),
        ("postgresql+psycopg://sce:p%40ss%3Aw0rd@db/sce", "p%40ss"),
        ("postgresql://db/sce?user=sce&password=hunter2&sslmode=require", "hunter2"),
        ("postgres://u:s3cr3t@h/d", "s3cr3t"),
        ("not a url at all u:s3cr3t@h", "s3cr3t"),
    ],
)
def test_a_database_named_in_a_message_never_shows_its_password(url: str, secret: str) -> None:
    shown = shown_url(url)
    assert secret not in shown and "***" in shown


SECRETS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=6, max_size=40)


@settings(max_examples=60, deadline=None)
@given(user=st.text(string.ascii_letters, min_size=1, max_size=8), password=SECRETS)
def test_no_password_survives_shown_url_however_it_is_written(user: str, password: str) -> None:
    encoded = quote(password, safe="")
    for template in (  # users are letters only, so "{pw}" is the password's place alone
        "postgresql://" + user + ":{pw}@db.internal:5432/sce",
        "postgresql://db.internal/sce?user=" + user + "&password={pw}",
        "postgresql+psycopg://" + user + ":{pw}@db/sce?sslmode=require",
    ):
        rest = template.format(pw="")
        assume(encoded not in rest and password not in rest)  # only the password itself may carry it
        url = template.format(pw=encoded)
        shown = shown_url(url)
        assert encoded not in shown and password not in shown, (url, shown)
        assert "db" in shown  # still says which database


def test_every_not_found_names_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    runner = CliRunner()
    for args in (["debrief", "latest"], ["debrief", "gd-00000000"], ["history", "pager-stress"]):
        result = runner.invoke(cli, args, env={"DATABASE_URL": url})
        assert result.exit_code == 1, args
        assert url in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
    for args in (["debrief", "latest", "--demo"], ["history", "pager-stress", "--demo"]):
        result = runner.invoke(cli, args, env={"DATABASE_URL": url})
        assert result.exit_code == 1 and str(data_dir() / "demos") in result.stderr, result.stderr


# -- rehearse your own scenario -------------------------------------------------------------------


def _own_scenarios(tmp_path: Path) -> Path:
    """A team's folder: the pager-stress drill renamed, so no responder script exists for it."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    raw = yaml.safe_load((ROOT / "scenarios" / "pager-stress.yaml").read_text())
    raw["id"] = "login-storm"
    (folder / "login-storm.yaml").write_text(yaml.safe_dump(raw))
    return folder


def test_a_scenario_without_a_script_is_rehearsed_by_default_responders(tmp_path: Path) -> None:
    scenarios = _own_scenarios(tmp_path)
    lines: list[str] = []
    result = run_demo(
        "login-storm",
        settings=_settings(f"sqlite:///{tmp_path / 'real.db'}", scenarios),
        fast=True,  # game time jumps between cues: the acks beat the escalations however busy the machine
        out_dir=tmp_path / "out",
        say=lines.append,
        database_url=f"sqlite:///{tmp_path / 'demo.db'}",
    )
    d = result.debrief
    scenario = ScenarioCatalog(scenarios).load("login-storm").scenario
    assert any("default responders" in line for line in lines)
    assert d.status == "completed" and d.verdict == "validated", d.expectations
    assert {p.id for p in d.pages} == {"p0", "p2"}
    expect = scenario.expect
    assert expect.acknowledge_within and expect.detect_within and expect.contain_within
    for page in d.pages:
        assert page.acknowledged_by == "U1" and not page.escalated
        assert page.tta_seconds is not None and page.tta_seconds <= expect.acknowledge_within
    assert [h.latency_seconds is not None for h in d.handoffs] == [True]
    assert [g.text for g in d.gaps] and all("default responders" in g.text for g in d.gaps)
    assert d.metrics.ttd_seconds is not None and d.metrics.ttd_seconds <= expect.detect_within
    assert d.metrics.ttc_seconds is not None and d.metrics.ttc_seconds <= expect.contain_within


@pytest.mark.parametrize("scenario_id", ScenarioCatalog(ROOT / "scenarios").ids())
def test_the_default_script_answers_every_page_and_handoff_in_time(scenario_id: str) -> None:
    """Derived for each scenario of the starter pack, as if it had no script of its own."""
    s = ScenarioCatalog(ROOT / "scenarios").load(scenario_id).scenario
    cues = default_script(s).cues
    for index, step in enumerate(s.steps):
        if step.page is not None:
            [ack] = [c for c in cues if c.when == f"page:p{index}" and c.click == "sce_ack"]
            assert ack.after < (s.oncall.escalate_after or float("inf"))
            assert ack.after <= (s.expect.acknowledge_within or float("inf"))
    handoffs = [step for step in s.steps if step.handoff is not None]
    takes = [c for c in cues if c.when.startswith("handoff:") and c.reply == "ack"]
    assert len(takes) == len(handoffs)
    for click, target in (
        ("sce_detected", s.expect.detect_within),
        ("sce_contained", s.expect.contain_within),
    ):
        assert len([c for c in cues if c.click == click]) == (
            1 if target and any(x.page for x in s.steps) else 0
        )
    if s.mode == "tabletop":
        assert len([c for c in cues if c.command == "next"]) == len(s.steps) - 1


def test_sce_list_and_sce_demo_see_the_same_scenarios(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.delenv("SCE_SCENARIOS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./scenarios: both see the starter pack
    listed = runner.invoke(cli, ["list"])
    assert listed.exit_code == 0 and "pager-stress" in listed.stdout
    _own_scenarios(tmp_path)  # now ./scenarios exists: both see it, and only it
    listed = runner.invoke(cli, ["list"])
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["login-storm"]
    refused = runner.invoke(cli, ["demo", "pager-stress"])
    assert refused.exit_code != 0 and "Did you mean" not in refused.output
    assert "There is no scenario `pager-stress`. Available: login-storm." in refused.output
    other = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "scenarios", other)
    (other / "login-storm.yaml").rename(other / "night-shift.yaml")
    text = (other / "night-shift.yaml").read_text().replace("id: login-storm", "id: night-shift")
    (other / "night-shift.yaml").write_text(text)
    monkeypatch.setenv("SCE_SCENARIOS_DIR", str(other))  # the variable wins over ./scenarios
    listed = runner.invoke(cli, ["list"])
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["night-shift"]
    refused = runner.invoke(cli, ["demo", "night-shfit"])
    assert "Did you mean `night-shift`?" in refused.output


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("pager-stres", "pager-stress"), ("honeytoken", "honey-token"), ("Pager-Stress", "pager-stress")],
)
def test_unknown_names_get_did_you_mean(typed: str, meant: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"SCE_SCENARIOS_DIR": str(ROOT / "scenarios"), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    demo = runner.invoke(cli, ["demo", typed], env=env)
    assert demo.exit_code != 0 and f"Did you mean `{meant}`?" in demo.output, demo.output
    history = runner.invoke(cli, ["history", typed], env=env)
    assert history.exit_code == 1 and f"Did you mean `{meant}`?" in history.stderr, history.stderr
    validate = runner.invoke(cli, ["validate", str(ROOT / "scenarios" / f"{typed}.yaml")], env=env)
    assert validate.exit_code == 1 and f"Did you mean `{meant}.yaml`?" in validate.stderr, validate.stderr
    assert "Traceback" not in demo.output + history.output + validate.output


def test_slack_start_of_an_unknown_scenario_says_did_you_mean(
    workspace: LocalWorkspace, people: WorkspaceClient, tmp_path: Path
) -> None:
    """The same sentence in Slack: signed `/sce start` to the bot in this process, over HTTP."""
    bot = run_bot(workspace, f"sqlite:///{tmp_path / 'sce.db'}")
    workspace.request_url = f"{bot.base}/slack/events"
    try:
        result = people.slash("UFAC", "/sce", "start pager-stres")
    finally:
        bot.stop()
    assert result["status"] == 200
    assert "There is no scenario `pager-stres`. Did you mean `pager-stress`?" in result["text"], result[
        "text"
    ]
    assert people.messages("C1") == []


def test_nothing_close_suggests_nothing(tmp_path: Path) -> None:
    env = {"SCE_SCENARIOS_DIR": str(ROOT / "scenarios"), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = CliRunner().invoke(cli, ["demo", "zzzz"], env=env)
    assert result.exit_code != 0 and "Did you mean" not in result.output and "Available:" in result.output


# -- small things users expect --------------------------------------------------------------------


def test_sce_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"sce {version('sce')}\n"


def _commands() -> list[str]:
    from typer.main import get_command

    group = get_command(cli)
    # typer's command for a Typer app is a click Group:
    return sorted(group.commands)  # type: ignore[attr-defined]


MARKERS = (
    "\\b",
    "\b",
    "`",
    "<bool>",
    "[[",
    "]]",
    "<function",
    " object at 0x",
    "PosixPath(",
    "*",
    "[bold",
    "<@",
)


@pytest.mark.parametrize("command", ["", *_commands()])
def test_help_has_no_internal_markers(command: str) -> None:
    result = CliRunner().invoke(cli, [*command.split(), "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    found = [marker for marker in MARKERS if marker in text]
    assert not found, f"`sce {command} --help` shows {found}:\n{text}"
    if not command:  # every command listed, its summary whole (not cut off with ...)
        listed = text.split("Commands:")[1]
        assert all(name in listed for name in _commands())
        assert "..." not in listed, listed
    else:
        assert text.splitlines()[2].strip(), "each command has a summary"


def test_sce_serve_reads_the_scenarios_sce_list_shows_and_sce_new_never_writes_into_the_starter_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCE_SCENARIOS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./scenarios: Slack's /sce list shows the starter pack, as sce list does
    served = ScenarioCatalog(Settings.from_env().scenarios_dir).ids()
    listed = CliRunner().invoke(cli, ["list"])
    assert "pager-stress" in served
    assert sorted(served) == sorted(line.split()[0] for line in listed.stdout.splitlines())
    made = CliRunner().invoke(cli, ["new", "night-shift"])
    assert made.exit_code == 0, made.output
    assert (tmp_path / "scenarios" / "night-shift.yaml").is_file()  # the team's folder, made for it
    assert ScenarioCatalog(Settings.from_env().scenarios_dir).ids() == ["night-shift"]

"""`sce run`: an unattended game day in a process of its own, its exit status the CI contract's (0
validated, 1 falsified, 2 inconclusive or aborted, 3 invalid scenario or configuration).

Real subprocesses of `sce`, since the process boundary and the exit status are the point: a `sce serve`
on the same SQLite database takes the Alertmanager notifications (as in test_e2e_alerts) and records the
run's detection; the run fires its own timers, without Slack. Scenarios are short (steps at 0-1 s).
What is refused before anything starts runs through the same command in this process (``sce_here``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
from bot_process import ROOT, SCE, BotProcess
from recording_listener import RecordingListener
from sce_inline import sce_here
from test_e2e_alerts import SECRET, alertmanager, send
from test_pagerduty import ROUTING_KEY, FakePagerDuty
from typer.testing import CliRunner

from bot.cli import cli
from bot.debrief.schema import SCHEMA_PATH
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

SCHEMAS = Path(__file__).resolve().parent / "schemas"
DETECT = """\
id: detect-drill
title: Detection drill
attack: [T1078]
charter: {objective: o, hypothesis: an alert names the drill within 3 seconds}
guardrails: {max_duration: 20s}
oncall: {escalate_after: null}
expect: {acknowledge_within: 1m, detect_within: 3s, update_every: 1m}
steps:
  - {at: 0s, page: {severity: SEV-2, summary: "Simulated: impossible travel"}}
  - {at: 1s, say: a log line}
"""
PEOPLE_ONLY = """\
id: people-only
title: People only
charter: {objective: o, hypothesis: people answer}
guardrails: {max_duration: 30s}
oncall: {escalate_after: null}
expect: {acknowledge_within: 1s, handoff_within: 1s, update_every: 1s}
steps:
  - {at: 0s, page: {severity: SEV-2, summary: drill page}}
  - {at: 1s, handoff: {from: primary, to: secondary}}
"""
SENDS = """\
id: sends
title: Sends things
charter: {objective: o, hypothesis: h}
guardrails: {max_duration: 20s, hosts: [127.0.0.1], dry_run: DRY}
oncall: {escalate_after: null}
steps:
  - {at: 0s, page: {severity: SEV-2, summary: drill page}}
  - {at: 0s, fault: {type: simulated.outage, ttl: 1m}}
  - {at: 1s, http: {url: "URL/probe"}}
  - {at: 1s, webhook: {url: "URL/hook", payload: {flag: risky}}}
"""


class Run:
    """`sce run` in its own process; its stderr lines collected as they come."""

    def __init__(self, env: dict[str, str], *args: str):
        self.proc = subprocess.Popen(
            [SCE, "run", *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if self.proc.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no line matching {pattern!r}:\n" + "\n".join(self.lines))

    def finish(self, timeout: float = 30.0) -> tuple[int, str, str]:
        # stdout only: communicate() would read stderr too, taking lines from under the reader thread
        assert self.proc.stdout is not None
        stdout = self.proc.stdout.read()
        self.proc.wait(timeout=timeout)
        self.reader.join(5)
        return self.proc.returncode, stdout, "\n".join(self.lines)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (tmp_path / "rotations").mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAGERDUTY_", "SCE_"))}
    base.pop("KUBECONFIG", None)
    return {
        **base,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sce.db'}",
        "SCE_SCENARIOS_DIR": str(folder),
        "SCE_ROTATIONS_DIR": str(tmp_path / "rotations"),
    }


def scenario(env: dict[str, str], name: str, text: str) -> Path:
    path = Path(env["SCE_SCENARIOS_DIR"]) / f"{name}.yaml"
    path.write_text(text)
    return path


def sce(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCE, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.fixture
def serve(workspace: LocalWorkspace, env: dict[str, str], tmp_path: Path) -> Iterator[BotProcess]:
    bot = BotProcess(
        workspace.api_url,
        env["DATABASE_URL"],
        Path(env["SCE_SCENARIOS_DIR"]),
        tmp_path / "serve.log",
        extra_env={"SCE_ALERT_WEBHOOK_SECRET": SECRET},
    ).start()
    workspace.request_url = bot.url
    yield bot
    bot.stop()


def outcome(debrief: dict[str, Any], name: str) -> tuple[str, str]:
    found = next(e for e in debrief["expectations"] if e["name"] == name)
    return found["outcome"], found["evidence"]


def test_an_alert_with_the_runs_marker_validates_it_and_an_unrelated_one_falsifies_the_next(
    serve: BotProcess, env: dict[str, str], tmp_path: Path
) -> None:
    scenario(env, "detect-drill", DETECT)
    junit, report = tmp_path / "run.xml", tmp_path / "run.json"
    run = Run(env, "detect-drill", "--junit", str(junit), "--json", str(report))
    gameday = run.wait_for(r"game day (run-[0-9a-f]{8}) started")[1]
    run.wait_for(r"page p0 \(SEV-2\) sent")
    hit = send(serve, alertmanager("ImpossibleTravel", {"rule": f"sce-{gameday}"}, time.time()))
    assert hit.status_code == 200 and f"{gameday}: detection" in hit.text  # sce serve took it
    status, stdout, stderr = run.finish()
    assert status == 0, stderr
    assert stdout.startswith(f"validated: {gameday} (detect-drill)"), stdout
    assert "recorded a detection (an Alertmanager alert)" in stderr  # the timeline's lines, as they came
    debrief = json.loads(report.read_text())
    jsonschema.validate(debrief, json.loads(SCHEMA_PATH.read_text()))
    assert debrief["id"] == gameday and debrief["unattended"] is True and debrief["verdict"] == "validated"
    assert outcome(debrief, "detect_within") == ("met", "measured")
    assert outcome(debrief, "acknowledge_within") == ("not_applicable", "unattended")  # never missed
    assert debrief["end_reason"] != "max_duration reached"  # it ended once the machines had decided
    for name in ("junit-10.xsd", "jenkins-junit.xsd"):
        xmlschema.XMLSchema(SCHEMAS / name).validate(str(junit))
    xml = junit.read_text()
    assert 'failures="0"' in xml and "not applicable: unattended run" in xml

    # the next run: an alert reaches it, none carries its marker, detect_within passes: falsified
    run = Run(env, "detect-drill", "--json", str(report))
    second = run.wait_for(r"game day (run-[0-9a-f]{8}) started")[1]
    run.wait_for(r"page p0 \(SEV-2\) sent")
    noise = send(serve, alertmanager("DiskFull", {"host": "db-1"}, time.time()))
    assert f"{second}: unmatched" in noise.text
    status, stdout, stderr = run.finish()
    assert status == 1, stderr
    assert stdout.startswith(f"falsified: {second}") and "missed: detect_within" in stdout
    debrief = json.loads(report.read_text())
    assert outcome(debrief, "detect_within") == ("missed", "measured")
    assert debrief["alert_fidelity"]["unmatched"] == 1


def test_what_needs_a_person_is_not_applicable_holds_nothing_up_and_sce_debrief_says_so_later(
    env: dict[str, str], tmp_path: Path
) -> None:
    scenario(env, "people-only", PEOPLE_ONLY)
    started = time.monotonic()
    status, stdout, stderr = Run(env, "people-only", "--json", "/dev/stdout").finish()  # as the CronJob
    assert status == 2, stderr  # nothing a machine could decide: inconclusive
    assert time.monotonic() - started < 15  # the page and the handoff nobody took held nothing up (30 s box)
    assert json.loads(stdout)["verdict"] == "inconclusive"  # stdout is the JSON document and nothing else
    assert re.search(r"^inconclusive: run-\S+ .*not applicable in an unattended run", stderr, re.M), stderr
    shown = CliRunner().invoke(cli, ["debrief", "latest", "--format", "json"], env=env)
    debrief = json.loads(shown.stdout)
    assert debrief["unattended"] is True and debrief["end_reason"] != "max_duration reached"
    assert debrief["missed"] == []
    for name in ("acknowledge_within", "handoff_within"):
        assert outcome(debrief, name) == ("not_applicable", "unattended")
    unjudged = {n["name"]: n["reason"] for n in debrief["not_measured"]}
    assert unjudged["update_every"].startswith("unattended run:")
    markdown = CliRunner().invoke(cli, ["debrief", "latest"], env=env).stdout
    assert "unattended run: nobody is waited for to acknowledge a page" in markdown
    assert "unattended (nobody is waited for" in markdown  # the event log's start line


def test_an_invalid_scenario_is_its_file_line_and_field_and_exit_3(env: dict[str, str]) -> None:
    text = DETECT.replace("detect_within: 3s", "detect_within: soon").replace("detect-drill", "broken")
    path = scenario(env, "broken", text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "detect_within: soon" in row)
    result = sce_here(env, "run", str(path))
    assert result.returncode == 3
    assert re.search(rf"{re.escape(str(path))}:{line}: .*detect_within", result.stderr), result.stderr
    assert "Traceback" not in result.stderr
    missing = sce_here(env, "run", "detect-dril")  # a typo: an unknown id, with the nearest one suggested
    assert missing.returncode == 3 and "detect-dril" in missing.stderr and "Traceback" not in missing.stderr
    scenario(env, "bad-yaml", "id: [unclosed\n")
    garbled = sce_here(env, "run", "bad-yaml")
    assert garbled.returncode == 3 and "bad-yaml.yaml:" in garbled.stderr
    assert not Path(env["DATABASE_URL"].removeprefix("sqlite:///")).exists()  # nothing was started


def test_approval_required_and_paths_that_cannot_be_written_refuse_before_anything_starts(
    env: dict[str, str], tmp_path: Path
) -> None:
    approved = DETECT.replace("id: detect-drill", "id: approved")
    gated = approved.replace("guardrails:", "approval: {required: true}\nchange: {ticket: C-1}\nguardrails:")
    scenario(env, "approved", gated)
    result = sce_here(env, "run", "approved")
    assert result.returncode == 3 and "standing approval" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one sentence
    scenario(env, "detect-drill", DETECT)
    nowhere = sce_here(env, "run", "detect-drill", "--junit", str(tmp_path / "no-such-folder" / "r.xml"))
    assert nowhere.returncode == 3 and "--junit" in nowhere.stderr and "does not exist" in nowhere.stderr
    folder = sce_here(env, "run", "detect-drill", "--json", str(tmp_path))
    assert folder.returncode == 3 and "is a folder" in folder.stderr
    channel = sce_here(env, "run", "detect-drill", "--channel", "C123")  # no SLACK_BOT_TOKEN to post with
    assert channel.returncode == 3 and "SLACK_BOT_TOKEN" in channel.stderr
    assert not Path(env["DATABASE_URL"].removeprefix("sqlite:///")).exists()


@pytest.mark.parametrize("how", ["--dry-run", "guardrails.dry_run", "for real"])
def test_a_dry_run_sends_nothing_that_changes_anything(env: dict[str, str], tmp_path: Path, how: str) -> None:
    listener = RecordingListener("127.0.0.1")
    pagerduty = FakePagerDuty()
    pagerduty.thread.start()
    try:
        dry = "true" if how == "guardrails.dry_run" else "false"
        scenario(env, "sends", SENDS.replace("URL", listener.url).replace("DRY", dry))
        env = {
            **env,
            "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
            "PAGERDUTY_EVENTS_URL": f"{pagerduty.url}/v2/enqueue",
        }
        report = tmp_path / "run.json"
        flags = ["--dry-run"] if how == "--dry-run" else []
        status, stdout, stderr = Run(env, "sends", "--json", str(report), *flags).finish()
        assert status == 2, stderr  # no expectation: inconclusive
        kinds = [e["kind"] for e in json.loads(report.read_text())["timeline"]]
        if how == "for real":  # the same scenario reaches every listener: the counts below can fail
            assert {h.path for h in listener.hits} == {"/probe", "/hook"}
            assert [e["event_action"] for e in pagerduty.events] == ["trigger", "resolve"]
            assert "fault_applied" in kinds and "would_send" not in kinds
        else:
            assert listener.hits == [] and pagerduty.attempts == 0
            assert "fault_applied" not in kinds and "http_probed" not in kinds
            assert kinds.count("would_send") >= 3  # the fault, the http and webhook calls: described
    finally:
        listener.close()
        pagerduty.server.shutdown()
        pagerduty.server.server_close()


LONG = """\
id: long
title: Long enough to be stopped
charter: {objective: o, hypothesis: h}
guardrails: {max_duration: 60s}
steps:
  - {at: 0s, fault: {type: simulated.outage, ttl: 2m}}
  - {at: 30s, say: too late}
"""


def test_sigterm_aborts_the_game_day_reverts_its_fault_and_exits_2(
    env: dict[str, str], tmp_path: Path
) -> None:
    scenario(env, "long", LONG)
    report = tmp_path / "run.json"
    run = Run(env, "long", "--json", str(report))
    run.wait_for(r"fault \S+ \(simulated.outage\) applied")
    run.proc.send_signal(signal.SIGTERM)
    status, stdout, stderr = run.finish()
    assert status == 2, stderr
    debrief = json.loads(report.read_text())
    assert debrief["status"] == "aborted" and "interrupted" in (debrief["end_reason"] or "")
    kinds = [e["kind"] for e in debrief["timeline"]]
    assert kinds.count("fault_applied") == 1 and kinds.count("fault_reverted") == 1


HOSTILE_SAY = DETECT.replace(
    "say: a log line", 'say: "\\e[2J\\e]0;owned\\a password=hunter2hunter2 \\u202e done"'
).replace("detect_within: 3s", "detect_within: 1s")


def test_the_progress_lines_show_no_terminal_control_and_no_credential(env: dict[str, str]) -> None:
    scenario(env, "detect-drill", HOSTILE_SAY)
    status, stdout, stderr = Run(env, "detect-drill").finish()
    assert status == 2, stderr
    said = next(line for line in stderr.splitlines() if "the bot posted" in line)
    assert "\x1b" not in stderr and "\x07" not in stderr and "\u202e" not in stderr
    assert "hunter2hunter2" not in stderr and "[redacted]" in said and said.endswith("done")


@pytest.mark.parametrize(
    "channel", ["#general", "<!channel>", "C123\x1b[2J", "c0123abcd", "C" + "1" * 40, "C1 C2"]
)
def test_a_channel_that_is_no_slack_channel_id_is_refused(env: dict[str, str], channel: str) -> None:
    scenario(env, "detect-drill", DETECT)
    result = sce_here({**env, "SLACK_BOT_TOKEN": "xoxb-test"}, "run", "detect-drill", "--channel", channel)
    assert result.returncode == 3 and "--channel must be a Slack channel id" in result.stderr
    assert "\x1b" not in result.stderr
    assert not Path(env["DATABASE_URL"].removeprefix("sqlite:///")).exists()


def test_the_cronjob_runs_sce_run_as_the_deployment_runs_the_bot() -> None:
    import yaml

    (cron,) = yaml.safe_load_all((ROOT / "deploy" / "cronjob.yaml").read_text())
    (deployment,) = yaml.safe_load_all((ROOT / "deploy" / "deployment.yaml").read_text())
    job = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    pod = deployment["spec"]["template"]["spec"]
    (runner,), (bot,) = job["containers"], pod["containers"]
    assert runner["args"][:1] == ["run"] and runner["args"][-2:] == ["--json", "/dev/stdout"]
    assert runner["image"] == bot["image"] and job["serviceAccountName"] == pod["serviceAccountName"]
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in runner["env"] if "valueFrom" in e}
    assert secrets["DATABASE_URL"] == {"name": "sce", "key": "DATABASE_URL"}  # the bot's own database
    assert job["restartPolicy"] == "Never" and cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0


def test_with_slack_the_thread_and_the_summary_go_to_the_channel(
    workspace: LocalWorkspace, people: WorkspaceClient, env: dict[str, str]
) -> None:
    scenario(env, "people-only", PEOPLE_ONLY)
    slack = {**env, "SLACK_BOT_TOKEN": "xoxb-local", "SLACK_API_URL": workspace.api_url}
    status, stdout, stderr = Run({**slack, "SCE_RUN_CHANNEL": "C1"}, "people-only").finish()
    assert status == 2, stderr
    gameday = stdout.split()[1]
    top = [m for m in people.messages("C1") if not m.get("thread_ts") or m.get("thread_ts") == m["ts"]]
    summary = next(m for m in top if "Unattended run" in (m.get("text") or ""))
    assert gameday in summary["text"] and "inconclusive" in summary["text"]
    kickoff = next(m for m in top if m is not summary)
    thread = " ".join(m.get("text") or "" for m in people.messages("C1", thread_ts=kickoff["ts"]))
    assert "drill page" in thread  # the page went to the thread as /sce start's would
    assert "Debrief" in thread

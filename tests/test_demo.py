"""`sce demo` as a newcomer runs it: a whole pager-stress game day, debrief on disk and in the database."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml
from bot_process import ROOT, SCE

from bot.gameday.scenario.durations import parse_duration

SCRIPT = ROOT / "bot" / "workspace" / "scripts" / "pager-stress.yaml"


def scripted_ttas() -> dict[str, float]:
    """Each page's TTA as the script means it: the first acknowledging cue measured from that page."""
    cues = yaml.safe_load(SCRIPT.read_text())["cues"]
    expected: dict[str, float] = {}
    for cue in cues:
        acknowledges = cue.get("reply") == "ack" or cue.get("click") == "sce_ack"
        reference = cue.get("from", cue["when"])
        if acknowledges and reference.startswith("page:"):
            page = reference.split(":", 1)[1]
            expected.setdefault(page, parse_duration(cue["after"]))
    return expected


def test_demo_runs_a_whole_game_day_and_writes_the_debrief(tmp_path: Path) -> None:
    serve_database = tmp_path / "serve.db"  # the database `sce serve` would use: the demo leaves it alone
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{serve_database}",
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    env.pop("SCE_SCENARIOS_DIR", None)
    out = tmp_path / "debriefs"
    # from a folder with no scenarios/: the demo runs the ones sce comes with, on its scaled clock (40x).
    # bob's click on p2 is scripted 30 game seconds after p2's escalation and 30 before the handoff that
    # covers p2: 0.75 s of real time either side, for a post late on a loaded machine
    run = subprocess.run(
        [SCE, "demo", "--out", str(out)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert "[GAME DAY]" in run.stdout and "Verdict: validated" in run.stdout
    written = sorted(p.suffix for p in out.iterdir())
    assert written == [".html", ".json", ".md"]
    from_file = json.loads(next(out.glob("*.json")).read_text())
    assert "<html" in next(out.glob("*.html")).read_text().lower()
    next_command = run.stdout.strip().splitlines()[-1]  # the last line is the next command, as typed
    assert next_command == f"sce debrief {from_file['id']} --demo"
    assert not serve_database.exists()
    latest = subprocess.run(
        [SCE, *next_command.split()[1:], "--format", "json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert latest.returncode == 0, latest.stderr
    debrief = json.loads(latest.stdout)
    assert debrief["id"] == from_file["id"]
    expected = scripted_ttas()
    assert set(expected) == {"p0", "p2"}
    actual = {p["id"]: p["tta_seconds"] for p in debrief["pages"]}
    for page, seconds in expected.items():
        assert abs(actual[page] - seconds) < 0.001, (page, actual[page], seconds)
    assert debrief["verdict"] == "validated"
    assert abs(debrief["handoffs"][0]["latency_seconds"] - 120.0) < 0.001
    assert [g["text"] for g in debrief["gaps"]] == [
        "the runbook has no step for revoking a legacy-auth API token"
    ]
    markdown = next(out.glob("*.md")).read_text()
    assert "| acknowledge_within | 5m | 3m30s | met, in time |" in markdown
    assert "| p2 | SEV-3 | alice (primary) |" in markdown  # people by name, asked with users.info

"""The debrief in every format: JUnit, ATT&CK Navigator layer, JSON vs its schema, Markdown, bundle, CLI."""

from __future__ import annotations

import hashlib
import io
import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from core_harness import CoreHarness, scenario_text
from typer.testing import CliRunner

from bot.cli import cli
from bot.debrief.bundle import write_bundle
from bot.debrief.render import EXTENSIONS, FORMATS, render_debrief
from bot.debrief.schema import SCHEMA_PATH, schema_text
from bot.gameday.measuring.report import build_debrief
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.scenario.model import Scenario, content_hash
from bot.gameday.timeline import Event, Kind
from bot.workspace.server import LocalWorkspace
from storage.database import make_engine, migrate
from storage.sql_store import SqlStore

BASE = 1_700_000_000.0
SCENARIO_TEXT = """\
id: formats
title: "Formats <b>drill</b>"
attack: [T1078, T1071.004]
charter: {objective: check the formats, hypothesis: "Pages are acknowledged <fast> & contained"}
guardrails: {namespaces: [chaos-lab]}
approval: {required: true, approvers: [U7]}
change: {ticket: CAB-7}
expect:
  {acknowledge_within: 5m, handoff_within: 10m, detect_within: 5m, contain_within: 15m, update_every: 5m}
steps:
  - at: 0s
    page: {severity: SEV-2, summary: "Simulated: <script>alert(1)</script> login"}
  - at: 1m
    fault: {type: k8s.network-deny, namespace: chaos-lab, ttl: 5m}
"""
HOSTILE = "revoke <script>alert(1)</script> then tell <!channel> and <@U123> & | pipes"


def events(final: bool = True) -> list[Event]:
    rows: list[tuple[Kind, float, str | None, dict[str, Any]]] = [
        (Kind.STARTED, -1, "UFAC", {"scenario": "formats", "scenario_hash": content_hash(SCENARIO_TEXT)}),
        (Kind.APPROVED, 0, "U7", {"scenario_hash": content_hash(SCENARIO_TEXT)}),
        (Kind.PAGE_SENT, 0, None, {"page_id": "p0", "step": 0, "responder": "U1", "severity": "SEV-2"}),
        (Kind.ROLE_ASSIGNED, 20, "UFAC", {"role": "commander", "user": "U1"}),
        (
            Kind.FAULT_APPLIED,
            60,
            None,
            {"fault_id": "f1", "step": 1, "type": "k8s.network-deny", "expires_at": 0},
        ),
        (Kind.DETECTED, 100, "U1", {"source": "slack", "page_id": None}),
        (Kind.FAULT_OBSERVED, 110, None, {"fault_id": "f1", "outcome": "blocked", "detail": "denied"}),
        (Kind.ESCALATED, 300, None, {"page_id": "p0", "to": "U2"}),
        (Kind.ACKNOWLEDGED, 400, "U2", {"page_id": "p0"}),
        (Kind.NOTE, 410, "U2", {"kind": "gap", "text": HOSTILE, "step": 0}),
        (Kind.NOTE, 420, "U2", {"kind": "update", "text": "looking", "step": 0}),
        (Kind.NOTE, 430, "U2", {"kind": "decision", "text": "block the <ip>", "step": 1}),
        (Kind.NOTE, 440, "U2", {"kind": "action", "text": "write the revoke step", "step": 1}),
        (Kind.NOTE, 900, "U2", {"kind": "update", "text": "still looking", "step": 1}),
        (Kind.FAULT_REVERT_FAILED, 960, None, {"fault_id": "f1", "error": "403 <Forbidden>"}),
    ]
    if final:
        rows.append((Kind.ENDED, 1000, None, {"status": "completed", "reason": "ended by <@UFAC>"}))
    page = {"summary": "Simulated: <script>alert(1)</script> login", "message_ts": f"{BASE:.6f}"}
    return [
        Event(i + 1, kind, BASE + at, actor, data | (page if kind is Kind.PAGE_SENT else {}))
        for i, (kind, at, actor, data) in enumerate(rows)
    ]


def debrief(final: bool = True) -> Debrief:
    scenario = Scenario.model_validate(yaml.safe_load(SCENARIO_TEXT))
    timeline = events(final)
    return build_debrief("gd-formats", scenario, {"primary": "U1", "secondary": "U2"}, timeline, BASE + 1000)


def test_junit_has_one_testcase_per_expectation_and_fails_the_missed_ones() -> None:
    d = debrief()
    outcomes = {e.name: e.outcome for e in d.expectations}
    assert outcomes == {
        "acknowledge_within": "missed",
        "handoff_within": "not_applicable",
        "detect_within": "met",
        "contain_within": "missed",
    }
    root = ET.fromstring(render_debrief(d, "junit").encode())
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "formats"
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == [e.name for e in d.expectations]
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    skipped = {name for name, case in cases.items() if case.find("skipped") is not None}
    assert failed == {"acknowledge_within", "contain_within"} and skipped == {"handoff_within"}
    # the failed case has its failure element:
    message = cases["acknowledge_within"].find("failure").get("message")  # type: ignore[union-attr]
    assert message == "acknowledge_within missed: actual 6m40s, target 5m"
    assert suite.get("tests") == "4" and suite.get("failures") == "2" and suite.get("skipped") == "1"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["hypothesis"] == "Pages are acknowledged <fast> & contained"
    assert "403 <Forbidden>" in (suite.findtext("system-err") or "")


def test_junit_skips_expectations_still_pending() -> None:
    d = debrief(final=False)
    suite = ET.fromstring(render_debrief(d, "junit").encode()).find("testsuite")
    assert suite is not None
    pending = [c.get("name") for c in suite.findall("testcase") if c.find("skipped") is not None]
    assert "handoff_within" in pending
    assert [(s.text, s.get("message")) for s in suite.iter("skipped")] == [("pending", None)] * len(pending)


def test_navigator_layer_scores_detected_techniques() -> None:
    layer = json.loads(render_debrief(debrief(), "navigator"))
    assert {"name", "versions", "domain", "description", "techniques"} <= layer.keys()
    assert layer["domain"] == "enterprise-attack"
    assert set(layer["versions"]) == {"attack", "navigator", "layer"}
    assert all(isinstance(v, str) for v in layer["versions"].values())
    assert [(t["techniqueID"], t.get("score"), t.get("color")) for t in layer["techniques"]] == [
        ("T1078", 100, "#31a354"),
        ("T1071.004", 100, "#31a354"),
        ("T1071", None, None),  # the sub-technique's parent, listed expanded so the sub-technique shows
    ]
    assert [t["techniqueID"] for t in layer["techniques"] if t.get("showSubtechniques")] == ["T1071"]
    assert all(t["comment"] for t in layer["techniques"])
    undetected = debrief().model_copy(
        update={"coverage": debrief().coverage.model_copy(update={"techniques": []})}
    )
    assert json.loads(render_debrief(undetected, "navigator"))["techniques"] == []


def test_navigator_marks_missed_techniques_red() -> None:
    scenario = Scenario.model_validate(yaml.safe_load(SCENARIO_TEXT))
    quiet = [e for e in events() if e.kind is not Kind.DETECTED]
    noise = Event(
        99, Kind.ALERT_UNMATCHED, BASE + 50, None, {"source": "webhook", "name": "Noise", "labels": {}}
    )
    layer = json.loads(
        render_debrief(
            build_debrief("gd-q", scenario, {}, [*quiet[:-1], noise, quiet[-1]], BASE + 1000), "navigator"
        )
    )
    assert {(t["score"], t["color"]) for t in layer["techniques"] if "color" in t} == {(0, "#de2d26")}


def test_the_shipped_schema_is_what_the_model_generates() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "bot/debrief/schema/debrief.schema.json is stale: run `python -m bot.debrief.schema`"
    )


@pytest.mark.parametrize("final", [True, False])
def test_the_json_validates_against_the_shipped_schema(final: bool) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    document = json.loads(render_debrief(debrief(final), "json"))
    jsonschema.Draft202012Validator(schema).validate(document)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(document | {"verdict": 3})


def test_the_json_keeps_the_documented_fields_and_adds_the_new_ones() -> None:
    document = json.loads(render_debrief(debrief(), "json"))
    documented = {
        "id",
        "scenario",
        "status",
        "verdict",
        "metrics",
        "pages",
        "handoffs",
        "expectations",
        "gaps",
    }
    new = {
        "responders",
        "coverage",
        "controls",
        "failed_reverts",
        "comms",
        "decisions",
        "actions",
        "runbook_fitness",
    }
    assert documented | new | {"timeline", "approvals", "detections", "containments", "t0"} <= document.keys()
    assert document["metrics"]["unacknowledged_pages"] == []
    assert document["metrics"]["control_efficacy"] == 1.0
    assert document["comms"]["late_update_gaps"][0]["gap_seconds"] == 480


def test_markdown_has_the_new_sections_and_escapes_user_text() -> None:
    text = render_debrief(debrief(), "md")
    for heading in (
        "## Responders",
        "## Unacknowledged pages",
        "## Detection coverage (ATT&CK)",
        "## Control efficacy",
        "## Comms clarity",
        "## Runbook fitness",
        "## Decisions",
        "## Action items",
        "## Approvals",
    ):
        assert heading in text, heading
    assert "WARNING: 1 fault revert(s) FAILED" in text
    assert "<script>" not in text and "<!channel>" not in text and "<@U123>" not in text
    assert "\\<script\\>" in text
    assert "| U2 (secondary) | p0 | p0 (1m40s) | 1m40s | - |" in text  # TTA from the escalation to U2


def test_html_escapes_user_text() -> None:
    html = render_debrief(debrief(), "html")
    assert "<script>" not in html and "<!channel>" not in html and "<@U123>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;!channel&gt;" in html and "&lt;@U123&gt;" in html
    assert "Formats &lt;b&gt;drill&lt;/b&gt;" in html
    assert 'id="failed-reverts"' in html


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render_debrief(debrief(), "pdf")


def test_the_bundle_holds_the_evidence(tmp_path: Path) -> None:
    d = debrief()
    path = write_bundle(d, SCENARIO_TEXT, tmp_path / "evidence" / "gd.zip")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        read = {name: archive.read(name) for name in names}
    expected = {"scenario.yaml", "scenario.sha256", "approvals.json", "timeline.json", "manifest.json"}
    assert names == expected | {f"debrief.{EXTENSIONS[fmt]}" for fmt in FORMATS}
    assert read["scenario.yaml"].decode() == SCENARIO_TEXT
    digest, name = read["scenario.sha256"].decode().split()
    assert digest == hashlib.sha256(SCENARIO_TEXT.encode()).hexdigest() and name == "scenario.yaml"
    approvals = json.loads(read["approvals.json"])
    assert approvals["started_by"] == "UFAC"
    assert [(a["by"], a["matches_scenario"]) for a in approvals["approvals"]] == [("U7", True)]
    assert json.loads(read["timeline.json"]) == d.timeline
    for fmt in FORMATS:
        assert read[f"debrief.{EXTENSIONS[fmt]}"].decode() == render_debrief(d, fmt)
    manifest = json.loads(read["manifest.json"])
    assert manifest["scenario_hash_matches"] is True
    assert all(manifest["files"][n] == hashlib.sha256(read[n]).hexdigest() for n in manifest["files"])
    again = write_bundle(d, SCENARIO_TEXT, tmp_path / "again.zip")
    assert again.read_bytes() == path.read_bytes()  # the same game day, the same bytes


def test_the_cli_prints_every_format_and_writes_the_bundle(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sce.db'}"
    engine = make_engine(url)
    migrate(engine)
    h = CoreHarness(SqlStore(engine))
    outcome = h.engine.start(scenario_text(), "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    assert outcome.gameday_id
    h.advance_to(h.clock.now() + 31 * 60, step=15)
    runner = CliRunner()
    env = {"DATABASE_URL": url}
    for fmt in FORMATS:
        result = runner.invoke(cli, ["debrief", "latest", "--format", fmt], env=env)
        assert result.exit_code == 0, result.output
        assert outcome.gameday_id in result.stdout
    assert ET.fromstring(runner.invoke(cli, ["debrief", "latest", "-f", "junit"], env=env).stdout.encode())
    bundle = tmp_path / "out" / "evidence.zip"
    result = runner.invoke(cli, ["debrief", outcome.gameday_id, "--bundle", str(bundle)], env=env)
    assert result.exit_code == 0 and result.stdout == ""
    with zipfile.ZipFile(io.BytesIO(bundle.read_bytes())) as archive:
        assert archive.read("scenario.yaml").decode() == scenario_text()
    refused = runner.invoke(cli, ["debrief", "latest", "--format", "pdf"], env=env)
    assert refused.exit_code == 2


def test_the_cli_names_people_when_it_has_the_bot_s_token_and_shows_ids_when_not(
    tmp_path: Path, workspace: LocalWorkspace
) -> None:
    url = f"sqlite:///{tmp_path / 'sce.db'}"
    engine = make_engine(url)
    migrate(engine)
    h = CoreHarness(SqlStore(engine))
    assert h.engine.start(scenario_text(), "C1", "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    h.advance_to(h.clock.now() + 31 * 60, step=15)
    runner = CliRunner()
    offline = runner.invoke(cli, ["debrief", "latest"], env={"DATABASE_URL": url, "SLACK_BOT_TOKEN": ""})
    assert offline.exit_code == 0 and "U1" in offline.stdout and "alice" not in offline.stdout
    env = {"DATABASE_URL": url, "SLACK_BOT_TOKEN": workspace.bot_token, "SLACK_API_URL": workspace.api_url}
    named = runner.invoke(cli, ["debrief", "latest"], env=env)
    assert named.exit_code == 0, named.output
    assert "alice" in named.stdout and "carol" in named.stdout  # asked of Slack with users.info
    asked = [c for c in workspace.calls if c.method == "users.info"]
    assert {c.params.get("user") for c in asked} >= {"U1", "UFAC"}

"""`sce findings` on a database holding a real finished game day: the table, CSV (read back with the
csv module) and JSON (validated against the shipped schema), show, fix and accept; every bad id, state,
format and day is one sentence with exit 2 (or 1 for a refused move)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from core_harness import CoreHarness, scenario_text
from typer.testing import CliRunner

from bot.cli import cli
from bot.gameday.findings.recording import FindingFilter, FindingRecorder
from bot.gameday.findings.schema import SCHEMA_PATH, schema_text
from storage.database import make_engine, migrate
from storage.finding_store import FindingStore
from storage.sql_store import SqlStore

HOSTILE = '=HYPERLINK("http://evil.example","click"), then\x1b[2J\r"quoted"'
CONTRACT = (
    "id",
    "state",
    "scenario",
    "gameday",
    "kind",
    "text",
    "owner",
    "created_at",
    "fixed_at",
    "verified_at",
)


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FindingStore:
    url = f"sqlite:///{tmp_path / 'sce.db'}"
    engine = make_engine(url)
    migrate(engine)
    h = CoreHarness(SqlStore(engine))
    store = FindingStore(engine)
    h.engine.finishing.after_debrief.append(FindingRecorder(store, h.clock.now))
    gd = h.engine.start(scenario_text(), "C1", "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 60)
    assert h.engine.add_note(gd, "gap", HOSTILE, "U2", h.clock.now(), "d1").ok
    assert h.engine.add_note(gd, "action", "write the revoke runbook", "U1", h.clock.now(), "d2").ok
    assert h.engine.end(gd, "UFAC").ok
    h.posted_debrief()
    monkeypatch.setenv("DATABASE_URL", url)
    return store


def sce(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["findings", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_is_the_contract_and_validates_against_the_shipped_schema(recorded: FindingStore) -> None:
    code, out, _ = sce("--format", "json")
    assert code == 0
    document = json.loads(out)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    stored = recorded.list(FindingFilter(), 0.0)
    assert [d["id"] for d in document] == [f"F-{f.number}" for f in stored]
    assert [d["kind"] for d in document] == ["gap", "action", "missed", "missed"]
    for item in document:
        assert set(CONTRACT) <= set(item)
        assert item["state"] == "open" and item["scenario"] == "pager-stress" and item["fixed_at"] is None
    assert document[0]["text"] == HOSTILE and document[0]["owner"] == "U2"  # JSON keeps it exact
    # the schema refuses what the contract does not allow: it is not a schema that takes anything
    bad = [dict(document[0], state="done")]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(bad)


def test_the_shipped_schema_is_what_the_model_generates() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "findings.schema.json is stale: run `python -m bot.gameday.findings.schema`"
    )


def test_csv_has_a_header_and_defuses_formulas(recorded: FindingStore) -> None:
    code, out, _ = sce("--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    header, body = rows[0], rows[1:]
    assert header[: len(CONTRACT)] == list(CONTRACT)
    assert len(body) == 4 and all(len(row) == len(header) for row in body)
    gap = dict(zip(header, body[0], strict=True))
    # a spreadsheet shows it as text, never runs it; the escape and the carriage return are defused
    assert gap["text"] == "'" + HOSTILE.replace("\x1b", "\ufffd").replace("\r", "\ufffd")
    assert gap["owner"] == "U2" and gap["fixed_at"] == "" and gap["notes"] == "0"


def test_the_table_shows_no_control_characters(recorded: FindingStore) -> None:
    code, out, _ = sce()
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATE", "SCENARIO", "GAMEDAY", "KIND", "OWNER", "TEXT"]
    assert len(lines) == 1 + 4 + 1 and lines[-1] == "4 finding(s)."
    assert "\x1b" not in out and "\r" not in out
    assert "=HYPERLINK" in lines[1] and "\ufffd" in lines[1]


def test_fix_then_filter_then_show(recorded: FindingStore) -> None:
    first = recorded.list(FindingFilter(), 0.0)[0]
    code, out, _ = sce("fix", f"f-{first.number}", "rotated", "the", "key")
    assert (code, out) == (0, f"F-{first.number} is fixed now.\n")
    code, out, err = sce("fix", f"F-{first.number}")
    assert code == 1 and err == f"F-{first.number} is fixed already.\n"
    _, fixed, _ = sce("--state", "fixed", "--format", "json")
    assert [d["id"] for d in json.loads(fixed)] == [f"F-{first.number}"]
    _, still_open, _ = sce("--state", "OPEN", "--format", "json")
    assert len(json.loads(still_open)) == 3
    _, none, _ = sce("--scenario", "lateral-movement")
    assert none == "No findings match.\n"
    code, shown, _ = sce("show", f"F-{first.number}")
    assert code == 0
    assert shown.startswith(f"F-{first.number} (gap): fixed\n")
    assert "Technique:  T1078" in shown and "Owner:      U2" in shown
    assert "cli -> fixed: rotated the key" in shown
    stored = recorded.get(first.number)
    assert stored is not None and stored.fixed_at is not None
    assert stored.notes[-1].by == "cli"
    assert "after it was found)" in shown and 'then\ufffd[2J\ufffd"quoted"' in shown  # escapes defused


def test_accept_needs_a_reason_and_a_day_within_a_year(recorded: FindingStore) -> None:
    second = recorded.list(FindingFilter(), 0.0)[1]
    fid = f"F-{second.number}"
    ahead = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 90 * 86400, UTC).strftime("%Y-%m-%d")
    code, out, err = sce("accept", fid, "--reason", "legacy box, retired in Q1", "--until", ahead)
    assert (code, out) == (0, f"{fid} is accepted-risk now.\n"), err
    _, accepted, _ = sce("--state", "accepted-risk", "--format", "json")
    [item] = json.loads(accepted)
    assert item["accepted_reason"] == "legacy box, retired in Q1"
    assert datetime.fromtimestamp(item["accepted_until"], UTC).strftime("%Y-%m-%d") == ahead
    third = recorded.list(FindingFilter(), 0.0)[2]
    far = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 400 * 86400, UTC).strftime("%Y-%m-%d")
    code, _, err = sce("accept", f"F-{third.number}", "--reason", "r", "--until", far)
    assert code == 1 and "for a year at most" in err
    code, _, err = sce("accept", f"F-{third.number}", "--reason", "r", "--until", "next tuesday")
    assert (
        code == 2 and err == "--until 'next tuesday' is not a day; write it as YYYY-MM-DD, e.g. 2027-03-01.\n"
    )


@pytest.mark.parametrize("typed", ["F-0", "f-x", "F-1;drop", "F-99999999999999999999", "1", "F-1 F-2"])
@pytest.mark.parametrize("command", ["show", "fix"])
def test_a_bad_id_is_one_sentence_and_exit_2(recorded: FindingStore, command: str, typed: str) -> None:
    code, out, err = sce(command, typed)
    assert code == 2 and out == ""
    assert err.endswith("is not a finding id; finding ids look like F-12.\n") and err.count("\n") == 1


def test_unknown_state_format_and_finding(recorded: FindingStore) -> None:
    code, _, err = sce("--state", "closed")
    assert code == 2
    assert err == (
        "--state 'closed' is not a finding state; "
        "the states are open, fixing, fixed, verified, accepted-risk.\n"
    )
    code, _, err = sce("--format", "xml")
    assert (code, err) == (2, "--format must be one of table, json, csv.\n")
    code, _, err = sce("show", "F-424242")
    assert (code, err) == (1, "There is no finding F-424242.\n")

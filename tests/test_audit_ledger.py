"""The audit ledger: every start, approval, fault applied and reverted and end of a real game day is one
hash-chained entry, committed with its timeline; `sce audit export` writes them as JSON Lines and
`sce audit verify` finds any edited, removed or reordered entry (in a file or in the database), naming
the first bad line. The evidence bundle carries its game day's segment. On PostgreSQL, two stores writing
at once still make one unbroken chain.

Hashes are recomputed here with hashlib from the exported text, never by the code under test.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from pathlib import Path

import pytest
from core_harness import CoreHarness, scenario_text
from databases import POSTGRES_URL, fresh_postgres_url
from sqlalchemy import text
from typer.testing import CliRunner

from bot.cli import cli
from bot.gameday.audit.chain import AUDITED, GENESIS, BrokenChain, verify_lines
from storage.database import make_engine, migrate
from storage.sql_store import SqlStore

ROSTER = {"primary": "U1", "secondary": "U2"}
LAB = frozenset({"chaos-lab"})


def with_approval(text_: str) -> str:
    return text_.replace(
        "approval: {required: false, approvers: []}",
        "approval: {required: true, approvers: [U9]}\nchange: {ticket: CAB-9}",
    )


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SqlStore:
    url = f"sqlite:///{tmp_path / 'sce.db'}"
    engine = make_engine(url)
    migrate(engine)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    return SqlStore(engine)


def faulted_game_day(h: CoreHarness, channel: str = "C1") -> str:
    """expired-token with its approval required: started, approved, its fault applied, then aborted."""
    scenario = with_approval(scenario_text("expired-token"))
    assert "required: true" in scenario
    gd = h.engine.start(scenario, channel, "UFAC", ROSTER).gameday_id
    assert gd
    h.engine.approvers = frozenset({"U9"})
    assert h.engine.approve(gd, "U9", h.clock.now(), h.delivery()).ok
    h.advance_to(h.clock.now() + 600)
    assert h.engine.abort(gd, "UFAC", "enough").ok
    return gd


def export(*args: str) -> list[str]:
    result = CliRunner().invoke(cli, ["audit", "export", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def verify(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", *args])
    return result.exit_code, result.stdout + result.stderr


def test_a_game_days_start_approval_fault_and_abort_are_chained_entries(database: SqlStore) -> None:
    h = CoreHarness(database, LAB)
    gd = faulted_game_day(h)
    audited = [e for e in database.events(gd) if str(e.kind) in AUDITED]
    kinds = [str(e.kind) for e in audited]
    assert {"gameday_started", "approved", "fault_applied", "fault_reverted", "gameday_ended"} <= set(kinds)
    lines = export()
    entries = [json.loads(line) for line in lines]
    assert [e["kind"] for e in entries] == kinds
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert [(e["at"], e["actor"], e["data"]) for e in entries] == [(x.at, x.actor, x.data) for x in audited]
    ended = entries[-1]
    assert (
        ended["data"]["status"] == "aborted"
        and ended["actor"] is None
        or ended["data"]["status"] == "aborted"
    )
    prev = GENESIS
    for entry in entries:  # recomputed here: sha256(prev + "\n" + canonical body)
        body = {k: entry[k] for k in ("seq", "at", "gameday", "kind", "actor", "data")}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        assert entry["prev"] == prev
        assert entry["hash"] == hashlib.sha256(f"{prev}\n{canonical}".encode()).hexdigest()
        prev = entry["hash"]
    code, said = verify()
    assert code == 0 and said.strip() == f"{len(entries)} entries hold; head {prev}"


def tampered(lines: list[str]) -> dict[str, tuple[list[str], int]]:
    """Each attack on an export, with the line verify must name."""
    entries = [json.loads(line) for line in lines]

    def dumped(items: list[dict[str, object]]) -> list[str]:
        return [json.dumps(e) for e in items]

    edited_actor = [dict(e) for e in entries]
    edited_actor[2]["actor"] = "UEVIL"
    edited_data = [json.loads(json.dumps(e)) for e in entries]
    edited_data[1]["data"]["scenario_hash"] = "0" * 64
    rehashed = [dict(e) for e in entries]  # edit entry 2 and give it a hash that matches: entry 3 breaks
    rehashed[1]["actor"] = "UEVIL"
    body = {k: rehashed[1][k] for k in ("seq", "at", "gameday", "kind", "actor", "data")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    rehashed[1]["hash"] = hashlib.sha256(f"{rehashed[1]['prev']}\n{canonical}".encode()).hexdigest()
    moved_time = [dict(e) for e in entries]
    moved_time[3]["at"] = moved_time[3]["at"] - 3600
    return {
        "an edited actor": (dumped(edited_actor), 3),
        "an edited nested value": (dumped(edited_data), 2),
        "an edit with its own hash made again": (dumped(rehashed), 3),
        "a time moved back an hour": (dumped(moved_time), 4),
        "a removed middle entry": (lines[:2] + lines[3:], 3),
        "a removed first entry": (lines[1:], 1),
        "two entries swapped": (lines[:1] + [lines[2], lines[1]] + lines[3:], 2),
        "an entry doubled": (lines[:2] + [lines[1]] + lines[2:], 3),
        "renumbered after a removal": (
            lines[:1] + dumped([dict(e, seq=e["seq"] - 1) for e in entries[2:]]),
            2,
        ),
        "a line cut short": (lines[:1] + [lines[1][:-5]] + lines[2:], 2),
        "a JSON array": (lines[:1] + ["[1, 2]"] + lines[1:], 2),
        "a NaN in the data": (
            lines[:1] + [lines[1].replace('"data": {', '"data": {"x": NaN, ', 1)] + lines[2:],
            2,
        ),
        "seq as text": (lines[:1] + [json.dumps(dict(entries[1], seq="2"))] + lines[2:], 2),
        "seq as true": (dumped(entries[:1]) + [json.dumps(dict(entries[1], seq=True))] + lines[2:], 2),
    }


def test_verify_names_the_first_bad_line_of_every_tampered_export(database: SqlStore, tmp_path: Path) -> None:
    h = CoreHarness(database, LAB)
    faulted_game_day(h)
    lines = export()
    assert len(lines) >= 5
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(lines) + "\n")
    assert verify(str(good))[0] == 0
    for attack, (bad, line_no) in tampered(lines).items():
        path = tmp_path / "bad.jsonl"
        path.write_text("\n".join(bad) + "\n")
        code, said = verify(str(path))
        assert code == 1, attack
        assert f"line {line_no}:" in said, (attack, said)
        assert "Traceback" not in said
    # cut off the end: the chain still holds, but its head is not the one written down before
    shorter = tmp_path / "short.jsonl"
    shorter.write_text("\n".join(lines[:-1]) + "\n")
    code, said = verify(str(shorter))
    assert code == 0 and json.loads(lines[-1])["hash"] not in said and json.loads(lines[-2])["hash"] in said
    assert verify(str(tmp_path / "absent.jsonl"))[0] == 2
    (tmp_path / "binary.jsonl").write_bytes(b"\xff\xfe\x00")
    code, said = verify(str(tmp_path / "binary.jsonl"))
    assert code == 2 and "cannot be read" in said


def test_verify_finds_edits_made_in_the_database_itself(database: SqlStore) -> None:
    h = CoreHarness(database, LAB)
    faulted_game_day(h)
    assert verify()[0] == 0
    engine = database.engine
    attacks = [
        'UPDATE audit_entry SET body = replace(body, \'"actor":"U9"\', \'"actor":"UX"\') WHERE seq = 2',
        "UPDATE audit_entry SET gameday_id = 'gd-other' WHERE seq = 3",
        "DELETE FROM audit_entry WHERE seq = 3",
        "UPDATE audit_entry SET kind = 'note' WHERE seq = 1",
    ]
    for attack in attacks:
        with engine.begin() as connection:
            before = connection.execute(
                text("SELECT seq, gameday_id, kind, body, prev, hash FROM audit_entry")
            ).all()
            connection.execute(text(attack))
        code, said = verify()
        assert code == 1 and "the database: line" in said, (attack, said)
        with engine.begin() as connection:  # put it back for the next attack
            connection.execute(text("DELETE FROM audit_entry"))
            for row in before:
                connection.execute(
                    text("INSERT INTO audit_entry VALUES (:seq, :gameday_id, :kind, :body, :prev, :hash)"),
                    row._asdict(),
                )
        assert verify()[0] == 0


def test_the_evidence_bundle_carries_its_game_days_segment(database: SqlStore, tmp_path: Path) -> None:
    h = CoreHarness(database, LAB)
    first = faulted_game_day(h)
    second = faulted_game_day(h, "C2")
    zipped = tmp_path / "evidence.zip"
    result = CliRunner().invoke(cli, ["debrief", second, "--bundle", str(zipped)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(zipped) as archive:
        segment = archive.read("audit.jsonl").decode().splitlines()
        manifest = json.loads(archive.read("manifest.json"))
    assert "audit.jsonl" in manifest["files"]
    assert {json.loads(line)["gameday"] for line in segment} == {second}
    everything = export()
    assert segment == [line for line in everything if json.loads(line)["gameday"] == second]
    assert any(json.loads(line)["gameday"] == first for line in everything)
    path = tmp_path / "audit.jsonl"
    path.write_text("\n".join(segment) + "\n")
    assert verify("--segment", str(path))[0] == 0
    assert verify(str(path))[0] == 1  # not the whole chain: entry 1 is not there
    path.write_text("\n".join(segment).replace('"approved"', '"gameday_started"', 1) + "\n")
    code, said = verify("--segment", str(path))
    assert code == 1 and "(edited)" in said


def test_a_segment_checks_each_entry_and_the_order() -> None:
    entry = {"seq": 2, "at": 1.0, "gameday": "g", "kind": "k", "actor": None, "data": {}, "prev": "p"}
    lines = [json.dumps(entry | {"hash": "h"})]
    with pytest.raises(BrokenChain, match="line 1: entry 2 does not match its hash"):
        verify_lines(lines, segment=True)
    assert verify_lines([], segment=True).head == GENESIS


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (.ci/run provides it)")
def test_two_stores_writing_at_once_on_postgresql_make_one_unbroken_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = fresh_postgres_url(migrated=True)
    monkeypatch.setenv("DATABASE_URL", url)
    stores = [SqlStore(make_engine(url)) for _ in range(2)]
    errors: list[BaseException] = []

    def run(store: SqlStore, channel: str) -> None:
        try:
            h = CoreHarness(store, LAB)
            h._delivery = 1000 * int(channel[1:])  # delivery ids are the database's: each harness its own
            for _ in range(3):
                faulted_game_day(h, channel)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s, f"C{i}")) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    lines = export()
    expected = sum(
        1
        for store in stores[:1]
        for record in store.all()
        for e in store.events(record.id)
        if str(e.kind) in AUDITED
    )
    assert len(lines) == expected and len({json.loads(line)["gameday"] for line in lines}) == 6
    assert verify()[0] == 0


def test_an_export_of_a_game_day_with_no_entry_says_so_and_fails(database: SqlStore) -> None:
    result = CliRunner().invoke(cli, ["audit", "export", "--gameday", "gd-mistyped"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "No audit entry names game day `gd-mistyped`" in result.stderr

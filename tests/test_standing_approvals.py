"""Standing approvals: given, listed and revoked with `/sce` through `sce serve`'s Bolt app and the local
Slack-compatible workspace, and what `sce run` makes of them (in this process: `run_loaded`, and
`run_scenario` reading the database as the CronJob does). The hash a standing approval binds is computed
here from the file's bytes, independently of the code under test."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import Settings
from bot.gameday.clock import VirtualClock
from bot.gameday.running.standing import StandingError, parse_grant, parse_length
from bot.gameday.scenario.catalog import ScenarioCatalog
from bot.gameday.timeline import Kind
from bot.runtime.server import HttpServer
from bot.runtime.service import Services, build_services
from bot.runtime.standing_lookup import standing_for
from bot.runtime.unattended import INVALID, RunOptions, run_loaded, run_scenario
from bot.slack.app import create_app, slack_over_http
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace
from storage.standing_store import StandingStore

DAY = 86400.0
GATED = """\
id: gated
title: Gated drill
attack: [T1078]
charter: {objective: o, hypothesis: an alert names the drill within 3 seconds}
approval: {required: true, approvers: [UAPP]}
change: {ticket: CAB-1234}
guardrails: {max_duration: 20s}
oncall: {escalate_after: null}
expect: {detect_within: 3s}
steps:
  - {at: 0s, page: {severity: SEV-2, summary: "Simulated: a log line"}}
"""
OPEN = GATED.replace("id: gated", "id: open").replace(
    "approval: {required: true, approvers: [UAPP]}\nchange: {ticket: CAB-1234}\n", ""
)


@dataclass
class Served:
    services: Services
    people: WorkspaceClient
    clock: VirtualClock
    folder: Path
    settings: Settings

    def ask(self, user: str, text: str, channel: str = "C1") -> str:
        said = self.people.slash(user, "/sce", text, channel=channel)
        assert said["status"] == 200, said
        return str(said["text"])

    @property
    def standing(self) -> StandingStore:
        return StandingStore(self.services.store.engine)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    clock = VirtualClock()
    ws = LocalWorkspace(
        signing_secret="s",
        clock=clock.now,
        channels={"C1": "drills", "C2": "red-team"},
        users={"UAPP": "alice", "U3": "dave", "UADMIN": "erin"},
    ).start()
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "gated.yaml").write_text(GATED)
    (folder / "open.yaml").write_text(OPEN)
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret="s",
        slack_api_url=ws.api_url,
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        scenarios_dir=folder,
        rotations_dir=tmp_path / "none",
        admins=frozenset({"UADMIN"}),
    )
    services = build_services(settings, clock, simulate_faults=True)
    server = HttpServer(slack_over_http(create_app(services), services), "127.0.0.1", 0)
    server.start()
    ws.request_url = f"http://127.0.0.1:{server.port}/slack/events"
    people = WorkspaceClient(ws.base_url)
    yield Served(services, people, clock, folder, settings)
    people.close()
    server.stop()
    services.stop()
    ws.stop()


def test_an_approver_grants_lists_and_revokes_and_nobody_else_may(served: Served) -> None:
    refused = served.ask("U3", "approve-standing gated for 7d")
    assert refused.startswith(
        "Only <@UAPP> (or an admin) may give or revoke"
    ) and not served.standing.unexpired(served.clock.now())
    granted = served.ask("UAPP", "approve-standing gated for 7d")
    assert "Standing approval #1 given" in granted and "an edited file voids it" in granted
    (approval,) = served.standing.of_scenario("gated")
    assert approval.scenario_hash == sha256(served.folder / "gated.yaml")  # the file's bytes, as run
    assert approval.granted_by == "UAPP" and approval.channel == "C1"
    assert approval.expires_at == served.clock.now() + 7 * DAY
    assert sha256(served.folder / "gated.yaml")[:12] in granted
    # the list: this channel's (another channel sees none), an admin every channel's
    listed = served.ask("U3", "approve-standing list")
    assert "#1 `gated` by <@UAPP>" in listed and "matches the file" in listed
    assert served.ask("U3", "approve-standing list", "C2") == (
        "No standing approvals given in this channel. `/sce approve-standing <scenario> for 30d` gives one."
    )
    assert "every channel" in served.ask("UADMIN", "approve-standing list", "C2")
    # the file edited: the list says the approval no longer counts
    (served.folder / "gated.yaml").write_text(GATED.replace("a log line", "another line"))
    assert "the file was edited since: it no longer counts" in served.ask("U3", "approve-standing list")
    # an admin may give one too (default 30 days); a non-approver may not revoke
    assert "given" in served.ask("UADMIN", "approve-standing gated")
    assert served.standing.of_scenario("gated")[-1].expires_at == served.clock.now() + 30 * DAY
    assert served.ask("U3", "revoke-standing gated").startswith("Only <@UAPP>")
    revoked = served.ask("UAPP", "revoke-standing gated")
    assert revoked.startswith("Revoked 2 standing approval(s) of `gated`")
    assert all(a.revoked_by == "UAPP" for a in served.standing.of_scenario("gated"))
    assert served.ask("UAPP", "revoke-standing gated") == "`gated` has no standing approval to revoke."
    assert "needs no approval" in served.ask("UADMIN", "approve-standing open")


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("for 91d", "90 days at most"),
        ("for 13w", "90 days at most"),
        ("for 30m", "an hour at least"),
        ("for \uff19\uff10d", "is not a duration"),  # fullwidth digits are no number of days
        ("for 0h", "an hour at least"),
        ("for soon", "`soon` is not a duration"),
        ("for", "For how long?"),
        ("for 1d extra", "Too many words. Usage: `/sce approve-standing &lt;scenario&gt;"),
        ("for 99999999999999999999d", "is not a duration"),
        ("for <!channel>", "`&lt;!channel&gt;` is not a duration"),
    ],
)
def test_durations_out_of_bounds_or_garbled_are_a_sentence(served: Served, typed: str, said: str) -> None:
    answer = served.ask("UAPP", f"approve-standing gated {typed}")
    assert said in answer and "<!channel>" not in answer
    assert served.standing.of_scenario("gated") == []


def test_durations_parse_to_seconds() -> None:
    assert parse_grant(["gated"]) == ("gated", 30 * DAY)
    assert parse_grant(["gated", "for", "90d"]) == ("gated", 90 * DAY)
    assert parse_grant(["gated", "2W"]) == ("gated", 14 * DAY)
    assert parse_length("1h") == 3600.0
    with pytest.raises(StandingError):
        parse_length("-1d")


@pytest.mark.parametrize(
    "name", ["../gated", "gated.yaml", "<!channel>", "gated;DROP--", "g" * 500, "`gated`"]
)
def test_a_hostile_scenario_name_grants_nothing_and_is_shown_literally(served: Served, name: str) -> None:
    answer = served.ask("UADMIN", f"approve-standing {name} for 1d")
    assert "There is no scenario" in answer and "<!channel>" not in answer
    assert served.ask("UADMIN", f"revoke-standing {name}").startswith("There is no scenario")
    assert served.standing.unexpired(served.clock.now()) == []


def run_gated(served: Served, catalog_folder: Path | None = None) -> tuple[int, list[str], list[str]]:
    """`sce run gated` in this process, on the served database and clock, its standing approval looked
    up as `sce run` looks it up; the status, stderr lines and stdout lines."""
    loaded = ScenarioCatalog(catalog_folder or served.folder).load_id_or_path("gated")
    err: list[str] = []
    out: list[str] = []
    settings = dataclasses.replace(served.settings, slack_bot_token=None)  # without Slack
    build = functools.partial(build_services, clock=served.clock, simulate_faults=True)
    lookup = functools.partial(standing_for, served.standing, now=served.clock.now())

    before = {r.id for r in served.services.store.all()}
    over = threading.Event()

    def detect_when_started() -> None:  # the alert a rule fires for the drill, as serve records it
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not over.is_set():
            started = [r.id for r in served.services.store.all() if r.id not in before]
            events = served.services.store.events(started[-1]) if started else []
            if any(e.kind is Kind.PAGE_SENT for e in events):
                served.services.engine.mark(
                    started[-1],
                    Kind.DETECTED,
                    "alertmanager:Drill",
                    served.clock.now(),
                    "alert-1",
                    source="alertmanager",
                )
                break
            time.sleep(0.02)
        if not over.wait(10):
            served.clock.advance(60)  # never stuck: the time box ends it (and the test fails on its verdict)

    alerting = threading.Thread(target=detect_when_started, daemon=True)
    alerting.start()
    status = run_loaded(loaded, settings, RunOptions(), err.append, out.append, build, lambda x: lookup(x))
    over.set()
    alerting.join(5)
    return status, err, out


def test_sce_run_starts_only_on_a_standing_approval_of_this_exact_file(served: Served) -> None:
    status, err, _ = run_gated(served)
    assert status == INVALID and len(err) == 1
    assert "/sce approve-standing gated for 30d" in err[0] and "editing the file voids it" in err[0]
    assert not [r for r in served.services.store.all() if r.id.startswith("run-")]  # nothing started

    served.ask("UAPP", "approve-standing gated for 2d")
    status, err, out = run_gated(served)
    assert status == 0, "\n".join(err + out)
    gameday = re.search(r"game day (run-[0-9a-f]+) started", "\n".join(err))
    assert gameday, err
    assert any("runs on standing approval #1 of gated, given by UAPP" in line for line in err)
    events = served.services.store.events(gameday[1])
    standing = [e for e in events if e.kind is Kind.STANDING_APPROVED]
    assert len(standing) == 1 and standing[0].actor == "UAPP"
    assert standing[0].data["expires_at"] == served.standing.of_scenario("gated")[0].expires_at
    # every format of the debrief shows it: the JSON's approvals, the event log's line
    record = served.services.store.get(gameday[1])
    assert record is not None
    debrief = served.services.engine.debrief_from(record, events)
    (approval,) = debrief.approvals
    assert approval.by == "UAPP" and approval.standing_until == standing[0].data["expires_at"]
    assert approval.matches_scenario
    from bot.debrief.render import render_debrief

    assert json.loads(render_debrief(debrief, "json"))["approvals"][0]["standing_until"] is not None
    markdown = render_debrief(debrief, "md")
    assert "a standing approval for unattended runs, until" in markdown
    assert (
        "the standing approval alice gave on" in markdown or "the standing approval UAPP gave on" in markdown
    )

    # an edited file voids it
    (served.folder / "gated.yaml").write_text(GATED.replace("a log line", "a changed line"))
    status, err, _ = run_gated(served)
    assert status == INVALID and "another version of the file: it was edited since" in err[0]


def test_an_expired_or_revoked_standing_approval_does_not_count(served: Served) -> None:
    digest = sha256(served.folder / "gated.yaml")
    now = served.clock.now()
    served.standing.grant("gated", digest, "C1", "UAPP", now - 3 * DAY, 2 * DAY)  # ran out a day ago
    status, err, _ = run_gated(served)
    assert status == INVALID and "expired" in err[0]
    served.standing.grant("gated", digest, "C1", "UAPP", now, DAY)
    served.ask("UAPP", "revoke-standing gated")
    status, err, _ = run_gated(served)
    assert status == INVALID and "requires an approval" in err[0]  # neither counts
    assert not [r for r in served.services.store.all() if r.id.startswith("run-")]


def test_sce_run_reads_the_database_without_creating_it(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run_scenario` as the CronJob runs it: a database with a revoked approval refuses; no database at
    all refuses too, and is not created for the question."""
    for key in ("SLACK_BOT_TOKEN", "SLACK_API_URL", "SCE_RUN_CHANNEL", "KUBECONFIG"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SCE_SCENARIOS_DIR", str(served.folder))
    monkeypatch.setenv("SCE_ROTATIONS_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("DATABASE_URL", served.settings.database_url)
    digest = sha256(served.folder / "gated.yaml")
    served.standing.grant("gated", digest, "C1", "UAPP", time.time(), DAY)
    served.standing.revoke("gated", "UADMIN", time.time())
    err: list[str] = []
    assert run_scenario("gated", RunOptions(), err.append, err.append) == INVALID
    assert err and "was revoked" in err[-1]
    nowhere = tmp_path / "none-yet.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{nowhere}")
    err.clear()
    assert run_scenario("gated", RunOptions(), err.append, err.append) == INVALID
    assert len(err) == 1 and "requires an approval" in err[0] and not nowhere.exists()

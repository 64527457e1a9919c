"""People by name in the published debrief: users.info over real HTTP against the local workspace, cached.

The workspace records every Web API call it answers, so the cache is proven by counting them.
"""

from __future__ import annotations

import yaml
from slack_sdk import WebClient

from bot.gameday.measuring.report import build_debrief
from bot.gameday.ports import GameDayRecord
from bot.gameday.scenario.model import Scenario
from bot.gameday.timeline import Event, Kind
from bot.slack.announcer import SlackAnnouncer
from bot.slack.people import SlackNames
from bot.workspace.server import LocalWorkspace

SCENARIO = """\
id: names
title: Names drill
charter: {objective: see names, hypothesis: people are named}
expect: {acknowledge_within: 5m}
steps:
  - at: 0s
    page: {severity: SEV-2, summary: "Simulated: names"}
"""


def client(workspace: LocalWorkspace) -> WebClient:
    return WebClient(token=workspace.bot_token, base_url=workspace.api_url)


def asked(workspace: LocalWorkspace) -> list[str]:
    return [str(c.params.get("user")) for c in workspace.calls if c.method == "users.info"]


def test_each_person_is_asked_once_then_remembered(workspace: LocalWorkspace) -> None:
    now = [1000.0]
    names = SlackNames(client(workspace), ttl=60, clock=lambda: now[0])
    # the conftest workspace: U1 alice, U2 bob, UFAC carol; UX does not exist; an alert is no user
    got = names.names(["U1", "U2", "U1", "UX", "alertmanager:Beacon", ""])
    assert got == {"U1": "alice", "U2": "bob"}
    assert sorted(asked(workspace)) == ["U1", "U2", "UX"]
    assert names.names(["U1", "U2"]) == {"U1": "alice", "U2": "bob"}
    assert sorted(asked(workspace)) == ["U1", "U2", "UX"]  # remembered: no new call
    names.names(["UX"])
    assert asked(workspace).count("UX") == 2  # a failure is not remembered: asked again next time
    now[0] += 61
    assert names.names(["U1"]) == {"U1": "alice"}
    assert asked(workspace).count("U1") == 2  # older than the TTL: asked again


def test_a_rename_shows_after_the_ttl(workspace: LocalWorkspace) -> None:
    now = [0.0]
    names = SlackNames(client(workspace), ttl=60, clock=lambda: now[0])
    assert names.name("U1") == "alice"
    workspace.state.users["U1"].name = "alice2"
    assert names.name("U1") == "alice"
    now[0] = 61
    assert names.name("U1") == "alice2"


def test_the_published_debrief_names_people_and_asks_slack_once_per_person(workspace: LocalWorkspace) -> None:
    web = client(workspace)
    announcer = SlackAnnouncer(web)
    scenario = Scenario.model_validate(yaml.safe_load(SCENARIO))
    for run in (1, 2):  # two game days with the same people: their names are asked for once
        kickoff = web.chat_postMessage(channel="C1", text=f"[GAME DAY] kickoff {run}")
        record = GameDayRecord(
            id=f"gd-names{run}",
            scenario_id="names",
            scenario_text=SCENARIO,
            scenario_hash="h",
            channel="C1",
            started_by="UFAC",
            roster={"primary": "U1", "secondary": "U2"},
            created_at=0.0,
            thread_ts=str(kickoff["ts"]),
        )
        base = 1_700_000_000.0 + run * 10_000
        page = {"page_id": "p0", "step": 0, "responder": "U1", "severity": "SEV-2", "summary": "s"}
        events = [
            Event(1, Kind.STARTED, base - 1, "UFAC", {"scenario": "names", "status": "running"}),
            Event(2, Kind.PAGE_SENT, base, None, page | {"message_ts": f"{base:.6f}"}),
            Event(3, Kind.ACKNOWLEDGED, base + 30, "U1", {"page_id": "p0"}),
            Event(4, Kind.NOTE, base + 40, "U2", {"kind": "gap", "text": "ask <@U1>", "step": 0}),
            Event(5, Kind.ENDED, base + 50, None, {"status": "completed", "reason": "ended by <@UFAC>"}),
        ]
        debrief = build_debrief(record.id, scenario, record.roster, events, base + 50)
        assert debrief.people == {"U1": "U1", "U2": "U2", "UFAC": "UFAC"}  # the core knows no names
        announcer.finished(record, debrief, key=f"{record.id}:debrief")
    files = {f.name: (f.content or b"").decode() for f in workspace.uploads.files.values()}
    assert set(files) == {f"debrief-gd-names{r}.{fmt}" for r in (1, 2) for fmt in ("md", "html")}
    for name, text in files.items():
        assert "alice acknowledged page p0" in text, name
        assert "bob noted gap: ask @alice" in text, name
        assert "carol started the game day" in text, name
        assert "the game day ended: completed (ended by @carol)" in text, name
    md = files["debrief-gd-names2.md"]
    assert "| alice | primary, paged | 1 |" in md and "U1 acknowledged" not in md
    assert sorted(asked(workspace)) == ["U1", "U2", "UFAC"]  # once per person, over both debriefs

"""The halt lever: `/sce halt <reason>` (admins only) stops every running game day of the workspace,
reverting their faults, and refuses every start (typed, scheduled, `sce run`'s) until `/sce unhalt`;
`/sce status` and App Home show it; it survives a restart and holds across replicas sharing a database
(another replica stops what it runs at its next poll); `POST /halt` pulls it for an incident tool with
SCE_HALT_TOKEN. Every pull and lift is an audit-ledger entry.

Real parts: the bot's Bolt app over signed HTTP from the local workspace, SQLite files, the simulated
fault driver recording applies and reverts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from core_harness import scenario_text
from served_app import local_settings, served_app

from bot.gameday.clock import VirtualClock
from bot.gameday.state import Status, fold
from bot.gameday.timeline import Kind
from bot.runtime.halt_route import halt_app
from bot.runtime.server import HttpServer
from bot.runtime.service import Services, build_services
from bot.slack.listeners.home import home_view
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace
from storage import audit_store

ROOT = Path(__file__).resolve().parents[1]
ROSTER = {"primary": "U1", "secondary": "U2"}
HOSTILE = "prod down <!channel> *now* <https://evil.example|runbook>"
TOKEN = "halt-token-" + "x" * 32


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[VirtualClock, Services, WorkspaceClient, LocalWorkspace]]:
    clock = VirtualClock()
    workspace = LocalWorkspace(
        signing_secret="s",
        clock=clock.now,
        channels={"C1": "drills", "C2": "red-team"},
        users={"U1": "alice", "U2": "bob", "UFAC": "carol", "UADMIN": "erin"},
    ).start()
    settings = local_settings(
        workspace,
        tmp_path,
        ROOT / "scenarios",
        admins=frozenset({"UADMIN"}),
        allowed_namespaces=frozenset({"chaos-lab"}),
    )
    with served_app(workspace, settings, clock, simulate_faults=True) as (services, people):
        yield clock, services, people, workspace
    workspace.stop()


def faulted(services: Services, clock: VirtualClock, *channels: str) -> list[str]:
    """expired-token in each channel, each with its fault applied and still running."""
    started = [
        services.engine.start(scenario_text("expired-token"), channel, "UFAC", ROSTER).gameday_id
        for channel in channels
    ]
    ids = [gd for gd in started if gd]
    assert len(ids) == len(channels)
    while not all(any(e.kind is Kind.FAULT_APPLIED for e in services.store.events(gd)) for gd in ids):
        assert clock.now() < 10**10
        clock.advance(30)
        services.timers.poll()
    assert all(fold(services.store.events(gd)).status is Status.RUNNING for gd in ids)
    return ids


def say(people: WorkspaceClient, user: str, text: str, channel: str = "C1") -> str:
    answer = people.slash(user, "/sce", text, channel=channel)
    assert answer["status"] == 200, answer
    return str(answer["text"])


def test_an_admins_halt_stops_every_game_day_and_every_start_until_unhalt(
    live: tuple[VirtualClock, Services, WorkspaceClient, LocalWorkspace],
) -> None:
    clock, services, people, _ = live
    running = faulted(services, clock, "C1", "C2")
    refused = say(people, "U1", f"halt {HOSTILE}")
    assert "Only admins" in refused and services.halt is not None and services.halt.current() is None
    assert "Say why" in say(people, "UADMIN", "halt")
    answer = say(people, "UADMIN", f"halt {HOSTILE}")
    assert "Halted" in answer and all(f"`{gd}`" in answer for gd in running)
    assert "<!channel>" not in answer and "<https://evil.example" not in answer
    for gd in running:
        events = services.store.events(gd)
        assert fold(events).status is Status.ABORTED
        applied = {e.data["fault_id"] for e in events if e.kind is Kind.FAULT_APPLIED}
        reverted = {e.data["fault_id"] for e in events if e.kind is Kind.FAULT_REVERTED}
        assert applied and applied == reverted
    clock.advance(5)
    services.timers.poll()
    thread = [m.get("text") or "" for m in people.messages("C1")]
    stopped = [t for t in thread if "Stopping the game day: halted by" in t]
    assert (
        len(stopped) == 1 and "<!channel>" not in stopped[0] and "halted by UADMIN: prod down" in stopped[0]
    )
    # nothing starts: typed, or through the engine as a schedule or `sce run` would
    start = say(people, "UFAC", "start pager-stress oncall=<@U1> secondary=<@U2>")
    assert "halted" in start.lower() and services.store.active() == []
    outcome = services.engine.start(scenario_text(), "C1", "UFAC", ROSTER)
    assert not outcome.ok and "/sce unhalt" in outcome.message and outcome.gameday_id is None
    status = say(people, "U1", "status")
    assert (
        status.startswith(":octagonal_sign: Every game day is halted") and "No game day is running" in status
    )
    home = json.dumps(home_view(services, "U1"))
    assert "Every game day is halted" in home
    again = say(people, "UADMIN", "halt a second reason")
    assert "already holds" in again
    assert "Only admins" in say(people, "U1", "unhalt")
    assert "lifted" in say(people, "UADMIN", "unhalt")
    assert "No halt holds" in say(people, "UADMIN", "unhalt")
    assert services.engine.start(scenario_text(), "C1", "UFAC", ROSTER).ok
    assert "halted" not in say(people, "U1", "status").lower()
    kinds = [json.loads(s.body)["kind"] for s in audit_store.entries(services.store.engine)]
    assert kinds.count("halted") == 1 and kinds.count("unhalted") == 1
    assert kinds.index("halted") < kinds.index("unhalted")


def test_a_halt_holds_across_replicas_and_restarts(tmp_path: Path) -> None:
    clock = VirtualClock()
    workspace = LocalWorkspace(signing_secret="s", clock=clock.now, channels={"C1": "drills"}).start()
    settings = local_settings(
        workspace, tmp_path, ROOT / "scenarios", allowed_namespaces=frozenset({"chaos-lab"})
    )
    one = build_services(settings, clock, simulate_faults=True)
    two = build_services(settings, clock, simulate_faults=True)
    try:
        [gd] = faulted(two, clock, "C1")
        assert one.halt is not None and two.halt is not None
        # replica one records the halt only; replica two runs the game day and stops it at its next poll
        halt, new = one.halt.halts.pull("pagerduty", "SEV1 in payments", "http", clock.now())
        assert new and two.halt.current() == halt
        two.timers.poll()
        assert fold(two.store.events(gd)).status is Status.ABORTED
        assert not two.engine.start(scenario_text(), "C1", "UFAC", ROSTER).ok
    finally:
        one.stop()
        two.stop()
    restarted = build_services(settings, clock, simulate_faults=True)
    try:
        refused = restarted.engine.start(scenario_text(), "C1", "UFAC", ROSTER)
        assert not refused.ok and "SEV1 in payments" in refused.message
        assert restarted.halt is not None and restarted.halt.lift("UADMIN") is not None
        assert restarted.engine.start(scenario_text(), "C1", "UFAC", ROSTER).ok
    finally:
        restarted.stop()
        workspace.stop()


def test_post_halt_pulls_the_lever_only_for_the_tokens_holder(
    live: tuple[VirtualClock, Services, WorkspaceClient, LocalWorkspace],
) -> None:
    clock, services, _, _ = live
    assert halt_app(None, services.halt) is None  # no token: no route, 404 like any unknown path
    server = HttpServer(None, "127.0.0.1", 0, halt=halt_app(TOKEN, services.halt))
    server.start()
    url = f"http://127.0.0.1:{server.port}/halt"
    good = {"Authorization": f"Bearer {TOKEN}"}
    try:
        [gd] = faulted(services, clock, "C1")
        refusals = [
            ({}, {"reason": "x"}, 401),
            ({"Authorization": "Bearer wrong"}, {"reason": "x"}, 401),
            ({"Authorization": f"Basic {TOKEN}"}, {"reason": "x"}, 401),
            ({"Authorization": f"Bearer {TOKEN}x"}, {"reason": "x"}, 401),
            ({"Authorization": "Bearer " + "a" * 5000}, {"reason": "x"}, 401),
            (good, {"reason": ""}, 400),
            (good, {"why": "x"}, 400),
            (good, ["reason"], 400),
            (good, {"reason": "x", "by": 7}, 400),
        ]
        for headers, body, status in refusals:
            answer = requests.post(url, json=body, headers=headers, timeout=5)
            assert answer.status_code == status, (headers, body, answer.text)
        assert requests.post(f"{url}?token={TOKEN}", json={"reason": "x"}, timeout=5).status_code == 401
        assert requests.get(url, headers=good, timeout=5).status_code == 405
        bad_json = requests.post(url, data=b"{not json", headers=good, timeout=5)
        assert bad_json.status_code == 400
        big = requests.post(url, data=b"{" + b" " * 9000 + b"}", headers=good, timeout=5)
        assert big.status_code == 413
        assert services.halt is not None and services.halt.current() is None
        assert fold(services.store.events(gd)).status is Status.RUNNING
        pulled = requests.post(
            url, json={"reason": HOSTILE, "by": "pagerduty\x1b[2J"}, headers=good, timeout=5
        )
        assert pulled.status_code == 200, pulled.text
        said = pulled.json()
        assert said["new"] is True and said["stopped"] == [gd]
        assert fold(services.store.events(gd)).status is Status.ABORTED
        halt = services.halt.current()
        assert halt is not None and halt.halted_by == "pagerduty[2J" and halt.source == "http"
        repeat = requests.post(url, json={"reason": "again"}, headers=good, timeout=5).json()
        assert repeat["new"] is False and repeat["stopped"] == [] and repeat["reason"] == halt.reason
    finally:
        server.stop()

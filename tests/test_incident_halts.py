"""A real incident halts every game day by itself: a PagerDuty v3 ``incident.triggered`` webhook for an
incident that is not one of ours, or a new Slack channel whose name matches SCE_INCIDENT_CHANNELS.

Real parts: the bot's served app (`sce serve`'s HTTP routes) on a SQLite file, the local Slack-compatible
workspace delivering signed ``channel_created`` events, the simulated fault driver. The webhook bodies
are PagerDuty's documented example (tests/data/pagerduty/webhook-v3-incident-triggered.json, its source
inside), signed here as PagerDuty's "Verifying Signatures" page says: ``v1=`` and the hex HMAC-SHA256 of
the raw body, several comma-separated while a secret rotates.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from core_harness import scenario_text
from served_app import local_settings, served_app

from bot.config import SettingError, Settings
from bot.gameday.clock import VirtualClock
from bot.gameday.incident_channels import parse_incident_channels
from bot.gameday.state import Status, fold
from bot.gameday.timeline import Kind
from bot.runtime.service import Services
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = json.loads((ROOT / "tests/data/pagerduty/webhook-v3-incident-triggered.json").read_text())
SECRET = "pd-webhook-secret-" + "s" * 24
ROSTER = {"primary": "U1", "secondary": "U2"}
Live = tuple[VirtualClock, Services, WorkspaceClient, str]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    clock = VirtualClock()
    workspace = LocalWorkspace(
        signing_secret="s",
        clock=clock.now,
        channels={"C1": "drills"},
        users={"U1": "alice", "U2": "bob", "UFAC": "carol"},
    ).start()
    settings = local_settings(
        workspace,
        tmp_path,
        ROOT / "scenarios",
        allowed_namespaces=frozenset({"chaos-lab"}),
        pagerduty_webhook_secret=SECRET,
        incident_channels=parse_incident_channels("inc-*, sev?-*"),
    )
    with served_app(workspace, settings, clock, simulate_faults=True) as (services, people):
        hooks = str(workspace.request_url).replace("/slack/events", "/hooks/pagerduty")
        yield clock, services, people, hooks
    workspace.stop()


def running(services: Services, clock: VirtualClock) -> str:
    gameday = services.engine.start(scenario_text("expired-token"), "C1", "UFAC", ROSTER).gameday_id
    assert gameday
    while not any(e.kind is Kind.FAULT_APPLIED for e in services.store.events(gameday)):
        assert clock.now() < 10**10
        clock.advance(30)
        services.timers.poll()
    return gameday


def status(services: Services, gameday: str) -> Status:
    return fold(services.store.events(gameday)).status


def settled(services: Services, gameday: str, wanted: Status) -> Status:
    """The status once Bolt's listener (run after Slack's ack) is done: polled briefly, bounded."""
    deadline = time.monotonic() + 5
    while status(services, gameday) is not wanted and time.monotonic() < deadline:
        time.sleep(0.02)
    return status(services, gameday)


def signed(body: bytes, *secrets: str) -> str:
    return ",".join("v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)


def event(**incident: Any) -> dict[str, Any]:
    body = copy.deepcopy(SAMPLE["event"])
    body["data"].update(incident)
    return {"event": body}


def post(url: str, body: bytes, signature: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature
    return requests.post(url, data=body, headers=headers, timeout=5)


def test_pagerduty_refuses_every_request_it_cannot_trust_and_halts_on_a_real_incident(live: Live) -> None:
    clock, services, _, url = live
    gameday = running(services, clock)
    body = json.dumps(event()).encode()
    refusals = [
        (body, None, 401),  # no header
        (body, "", 401),
        (body, signed(body, "not-the-secret"), 401),
        (body, "v0=" + signed(body, SECRET)[3:], 401),  # another version
        (body, signed(body, SECRET).upper(), 401),
        (body, signed(body + b" ", SECRET), 401),  # signed another body
        (body, "v1=" + "0" * 64 + "," * 5000, 401),  # too long to be PagerDuty's
        (b"{not json", signed(b"{not json", SECRET), 400),
        (b'["event"]', signed(b'["event"]', SECRET), 400),
        (b" " * (256 * 1024 + 1), signed(b" " * (256 * 1024 + 1), SECRET), 413),
    ]
    for data, signature, code in refusals:
        answer = post(url, data, signature)
        assert answer.status_code == code, (signature and signature[:20], answer.text)
        assert "Traceback" not in answer.text and answer.json()["ok"] is False
    assert requests.get(url, timeout=5).status_code == 405
    assert services.halt is not None and services.halt.current() is None
    assert status(services, gameday) is Status.RUNNING
    # one of several signatures (PagerDuty rotating its secret) is enough
    pulled = post(url, body, signed(body, "the-old-secret", SECRET))
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["new"] is True and pulled.json()["stopped"] == [gameday]
    halt = services.halt.current()
    assert halt is not None and (halt.source, halt.halted_by) == ("pagerduty", "pagerduty")
    assert halt.reason == "PagerDuty incident #2 triggered: A little bump in the road"
    assert status(services, gameday) is Status.ABORTED


def test_ours_and_other_events_halt_nothing_and_a_replay_is_taken_once(live: Live) -> None:
    clock, services, _, url = live
    gameday = running(services, clock)
    quiet = [
        event(title="[GAME DAY] impossible-travel login on svc-payments"),  # a drill page of ours
        event(title="  [GAME DAY] token reuse"),
        event(title="[NOT A DRILL] sce: the revert of fault f1 FAILED (game day gd-1)"),  # our failure page
        {"event": {**event()["event"], "event_type": "incident.acknowledged"}},
        {"event": {**event()["event"], "event_type": "incident.resolved"}},
        {"event": {**event()["event"], "event_type": "incident.annotated", "data": {"content": "x"}}},
    ]
    for payload in quiet:
        body = json.dumps(payload).encode()
        answer = post(url, body, signed(body, SECRET))
        assert answer.status_code == 202, answer.text
        assert answer.json()["ok"] is True and "ignored" in answer.json()
    assert services.halt is not None and services.halt.current() is None
    assert status(services, gameday) is Status.RUNNING
    # a real one, hostile title and all: printable, bounded, one line
    hostile = event(title="<!channel> *prod* down\n\x1b[2J" + "x" * 2000, number=4711)
    body = json.dumps(hostile).encode()
    first = post(url, body, signed(body, SECRET))
    assert first.status_code == 200 and first.json()["new"] is True
    halt = services.halt.current()
    assert halt is not None and "\n" not in halt.reason and "\x1b" not in halt.reason
    assert halt.reason.startswith("PagerDuty incident #4711 triggered: <!channel> *prod* down [2J")
    assert len(halt.reason) <= 500
    assert "&lt;!channel&gt;" in halt.said()  # escaped wherever Slack shows it
    lifted = services.halt.lift("UADMIN")
    assert lifted is not None and services.halt.current() is None
    replay = post(url, body, signed(body, SECRET))  # captured and sent again after the lift
    assert replay.status_code == 200 and replay.json()["ok"] is True and "halted" not in replay.json()
    same_id = json.dumps({"event": {**hostile["event"], "occurred_at": "2020-10-02T18:45:23Z"}}).encode()
    assert "halted" not in post(url, same_id, signed(same_id, SECRET)).json()  # the same event id
    assert services.halt.current() is None


def test_the_webhook_is_not_served_without_its_secret(tmp_path: Path) -> None:
    clock = VirtualClock()
    workspace = LocalWorkspace(signing_secret="s", clock=clock.now, channels={"C1": "drills"}).start()
    try:
        settings = local_settings(workspace, tmp_path, ROOT / "scenarios")
        with served_app(workspace, settings, clock, simulate_faults=True) as (services, _):
            url = str(workspace.request_url).replace("/slack/events", "/hooks/pagerduty")
            body = json.dumps(event()).encode()
            assert post(url, body, signed(body, SECRET)).status_code == 404
            assert services.halt is not None and services.halt.current() is None
    finally:
        workspace.stop()


def test_a_new_incident_channel_halts_and_any_other_channel_does_not(live: Live) -> None:
    clock, services, people, _ = live
    gameday = running(services, clock)
    for name in ("random", "incident-review", "sev12-x", "in-c", "drills-2"):
        answer = people.create_channel("U1", name)
        assert answer["status"] == 200, answer
    time.sleep(0.3)  # what the listeners of those events did (nothing) is done by now
    assert services.halt is not None and services.halt.current() is None
    assert status(services, gameday) is Status.RUNNING
    answer = people.create_channel("U2", "inc-2041-payments")
    assert answer["status"] == 200, answer
    assert settled(services, gameday, Status.ABORTED) is Status.ABORTED
    halt = services.halt.current()
    assert halt is not None and (halt.source, halt.halted_by) == ("incident-channel", "incident-channel")
    assert halt.reason == "new channel #inc-2041-payments (opened by U2) matches SCE_INCIDENT_CHANNELS inc-*"
    refused = services.engine.start(scenario_text("expired-token"), "C1", "UFAC", ROSTER)
    assert not refused.ok and "halted" in refused.message


def test_a_redelivered_channel_event_halts_once(live: Live) -> None:
    _, services, people, _ = live
    answer = people.create_channel("U1", "sev1-dns")
    assert services.halt is not None
    deadline = time.monotonic() + 5
    while services.halt.current() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    first = services.halt.current()
    assert first is not None
    people.redeliver(answer["event_id"])  # Slack's retry of the same event, while the halt holds
    time.sleep(0.3)
    again = services.halt.current()
    assert again is not None and again.id == first.id
    assert services.halt.lift("UADMIN") is not None
    people.redeliver(answer["event_id"], retry_num=2)  # and after an admin lifted it: nothing again
    time.sleep(0.3)
    assert services.halt.current() is None


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("*", "would match almost every new channel"),
        ("??*", "would match almost every new channel"),
        ("inc-*,", "empty entry"),
        ("inc-[0-9]*", "may only hold what a channel name holds"),
        ("^inc-.*$", "may only hold what a channel name holds"),
        ("inc-*" + "x" * 80, "longer than 80 characters"),
        (",".join(f"inc{n}-*" for n in range(21)), "at most 20"),
        ("inc *", "may only hold what a channel name holds"),
    ],
)
def test_a_bad_sce_incident_channels_is_one_sentence(written: str, said: str) -> None:
    with pytest.raises(SettingError, match="^SCE_INCIDENT_CHANNELS: ") as refused:
        Settings.from_env({"SCE_INCIDENT_CHANNELS": written})
    assert said in str(refused.value) and "\n" not in str(refused.value)


def test_globs_match_whole_names_in_linear_time() -> None:
    channels = parse_incident_channels("INC-*, #sev?-*, *-incident")
    assert channels is not None and channels.globs == ("inc-*", "sev?-*", "*-incident")
    expected = {
        "inc-1": "inc-*",
        "INC-2041-payments": "inc-*",
        "sev1-dns": "sev?-*",
        "sev12-dns": None,
        "payments-incident": "*-incident",
        "payments-incidents": None,
        "xinc-1": None,
        "": None,
        "inc-" + "a" * 77: None,  # longer than Slack allows
    }
    assert {name: channels.match(name) for name in expected} == expected
    assert channels.match(None) is None and channels.match(42) is None
    hostile = parse_incident_channels("*a*a*a*a*a*a*a*a*a*b")
    assert hostile is not None and hostile.match("a" * 80) is None  # no backtracking blow-up


def test_a_bad_sce_incident_channels_stops_serve_with_a_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("SCE_INCIDENT_CHANNELS", "*")
    monkeypatch.setattr(sys, "argv", ["sce", "serve"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "sce: SCE_INCIDENT_CHANNELS: '*' would match almost every new channel; name at least 2 characters "
        "of it, such as inc-*\n"
    )

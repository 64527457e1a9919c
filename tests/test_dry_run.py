"""A dry run sends nothing outside Slack, and says exactly what it would have sent.

One scenario with a step of every type (page, say, a fault of each driver family, handoff, logs, http,
sbom, webhook) runs in process against real listeners: the local Slack workspace, a recording HTTP
server for the http and webhook steps, a PagerDuty Events API server with a routing key configured, and
the Kubernetes test server. In a dry run none of them but Slack sees a request that changes anything;
the same scenario run for real reaches every one of them (so the counts can fail).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from recording_listener import RecordingListener
from slack_sdk import WebClient
from test_faults_kmock import NAMESPACE, KubeTestServer
from test_pagerduty import ROUTING_KEY, FakePagerDuty

from bot.faults.registry import FaultDrivers
from bot.gameday.clock import VirtualClock
from bot.gameday.memory_store import MemoryStore
from bot.gameday.running.engine import Engine
from bot.gameday.running.poller import fire_due_timers
from bot.gameday.scenario.attachments import with_attachments
from bot.gameday.scenario.loading import load_scenario_file
from bot.gameday.timeline import Event, Kind
from bot.integrations.http_caller import RequestsCaller
from bot.integrations.pagerduty import PagerDuty
from bot.slack.announcer import SlackAnnouncer
from bot.slack.pacing import ChannelPacer
from bot.slack.status_line import StatusLine
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

SECRET = "dry-run-Secret-0123456789"
ROOT = Path(__file__).resolve().parents[1]
SCENARIO = f"""\
id: every-step
title: Every step type
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m, namespaces: [{NAMESPACE}], hosts: [127.0.0.1]}}
oncall: {{escalate_after: null}}
steps:
  - {{at: 0s, page: {{severity: SEV-2, summary: drill page, runbook: "https://runbooks.example/p"}}}}
  - {{at: 1s, say: hello}}
  - {{at: 2s, fault: {{type: simulated.outage}}}}
  - {{at: 3s, fault: {{type: k8s.network-deny, namespace: {NAMESPACE}, selector: {{app: web}}}}}}
  - {{at: 4s, fault: {{type: k8s.pod-delete, namespace: {NAMESPACE}, selector: {{app: web}}}}}}
  - {{at: 5s, fault: {{type: chaos-mesh.pod-chaos, namespace: {NAMESPACE}, selector: {{app: web}}}}}}
  - {{at: 6s, handoff: {{from: primary, to: secondary}}}}
  - {{at: 7s, logs: {{lines: [one, two], every: 1s}}}}
  - at: 9s
    http:
      url: "URL/probe?token=${{env:SCE_DRY_SECRET}}"
      headers: {{Authorization: "Bearer ${{env:SCE_DRY_SECRET}}"}}
  - {{at: 10s, sbom: {{file: bom.json, package: openssl}}}}
  - at: 11s
    webhook:
      url: "URL/hook"
      headers: {{X-Api-Key: "${{env:SCE_DRY_SECRET}}"}}
      payload: {{flag: risky-feature, enabled: false}}
"""
BOM = {"spdxVersion": "SPDX-2.3", "packages": [{"SPDXID": "b", "name": "openssl", "versionInfo": "3.0.1"}]}
CHANGES = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Run:
    events: list[Event]
    thread: list[str]
    http_hits: int
    pagerduty_attempts: int
    kube_methods: list[str]
    pods_left: list[str]
    gameday_id: str = ""


@pytest.fixture
def listener() -> Iterator[RecordingListener]:
    server = RecordingListener("127.0.0.1")
    yield server
    server.close()


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    server = FakePagerDuty()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        server.pod("web-1", {"app": "web"})
        yield server


def run_every_step(
    tmp_path: Path,
    listener: RecordingListener,
    pagerduty: FakePagerDuty,
    kube: KubeTestServer,
    dry_run: bool,
) -> Run:
    (tmp_path / "bom.json").write_text(json.dumps(BOM))
    (tmp_path / "every-step.yaml").write_text(SCENARIO.replace("URL", listener.url))
    loaded = with_attachments(load_scenario_file(tmp_path / "every-step.yaml"), tmp_path)
    clock = VirtualClock()
    workspace = LocalWorkspace(
        users={"U1": "alice", "U2": "bob", "UFAC": "carol"}, channels={"C1": "gameday"}, clock=clock.now
    ).start()
    people = WorkspaceClient(workspace.base_url)
    status_line = StatusLine()
    try:
        announcer = SlackAnnouncer(
            WebClient(token=workspace.bot_token, base_url=workspace.api_url),
            pacer=ChannelPacer(per_second=1000.0, burst=1000),
            pagerduty=PagerDuty(f"{pagerduty.url}/v2/enqueue", ROUTING_KEY, sleep=lambda _: None),
            status_line=status_line,
        )
        store = MemoryStore()
        engine = Engine(
            store,
            announcer,
            clock.now,
            FaultDrivers(kube.cluster()),
            frozenset({NAMESPACE}),
            http=RequestsCaller(timeout=2.0, referable=frozenset({"SCE_DRY_SECRET"})),
        )
        gd = engine.start(loaded.text, "C1", "UFAC", {"primary": "U1", "secondary": "U2"}, dry_run=dry_run)
        assert gd.gameday_id
        end = clock.now() + 15
        while clock.now() < end:
            clock.advance(0.5)
            fire_due_timers(store, engine, clock.now())
        engine.end(gd.gameday_id, "UFAC")  # the end resolves pages and reverts faults: outbound too
        clock.advance(0.5)
        fire_due_timers(store, engine, clock.now())
        record = store.get(gd.gameday_id)
        assert record is not None and record.thread_ts is not None
        thread = [m.get("text", "") for m in people.messages("C1", record.thread_ts)]
        return Run(
            gameday_id=gd.gameday_id,
            events=store.events(gd.gameday_id),
            thread=thread,
            http_hits=len(listener.hits),
            pagerduty_attempts=pagerduty.attempts,
            kube_methods=[str(r.method.value) for r in kube.bot_requests()],
            pods_left=kube.names("pods", NAMESPACE),
        )
    finally:
        status_line.close()  # its last chat.update goes out before the workspace stops
        people.close()
        workspace.stop()


def test_a_dry_run_sends_nothing_and_says_what_each_step_would_have_sent(
    tmp_path: Path,
    listener: RecordingListener,
    pagerduty: FakePagerDuty,
    kube: KubeTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCE_DRY_SECRET", SECRET)
    run = run_every_step(tmp_path, listener, pagerduty, kube, dry_run=True)
    assert run.http_hits == 0
    assert run.pagerduty_attempts == 0
    assert [method for method in run.kube_methods if method in CHANGES] == []
    assert run.pods_left == ["web-1"] and kube.names("networkpolicies", NAMESPACE) == []
    assert kube.names("podchaos", NAMESPACE) == []
    ran = {e.data["step"] for e in run.events if e.kind is Kind.STEP_RAN}
    assert ran == set(range(11)), "every step ran (as a dry run)"
    assert not [e for e in run.events if e.kind in (Kind.FAULT_APPLIED, Kind.FAULT_INTENT)]
    assert not [e for e in run.events if e.kind in (Kind.HTTP_PROBED, Kind.WEBHOOK_CALLED)]

    would = {e.data["step"]: e.data for e in run.events if e.kind is Kind.WOULD_SEND}
    assert sorted(would) == [0, 2, 3, 4, 5, 8, 10]
    page = would[0]["request"]
    assert page["method"] == "POST" and page["url"] == f"{pagerduty.url}/v2/enqueue"
    assert json.loads(page["body"])["routing_key"] == "${env:PAGERDUTY_ROUTING_KEY}"
    assert json.loads(page["body"])["payload"]["summary"] == "[GAME DAY] drill page"
    assert would[3]["to"] == "kubernetes" and [c["verb"] for c in would[3]["calls"]] == ["create"]
    assert would[4]["to"] == "kubernetes" and would[4]["calls"][0]["verb"] == "delete"
    assert would[5]["to"] == "chaos-mesh" and would[5]["calls"][0]["body"]["kind"] == "PodChaos"
    # the http step's own marker (an inject's header), even in a dry run's report of what it would send
    http_marker = "sce" + hashlib.sha256(f"{run.gameday_id}/h8".encode()).hexdigest()[:16]
    assert would[8]["request"] == {
        "method": "GET",
        "url": f"{listener.url}/probe?token=${{env:SCE_DRY_SECRET}}",
        "headers": {"Authorization": "Bearer ${env:SCE_DRY_SECRET}", "X-SCE-Marker": http_marker},
        "body": None,
    }
    hook = would[10]["request"]
    assert hook["method"] == "POST" and hook["headers"] == {"X-Api-Key": "${env:SCE_DRY_SECRET}"}
    assert json.loads(hook["body"])["flag"] == "risky-feature"

    thread = "\n".join(run.thread)
    assert "dry run: no PagerDuty event" in thread
    assert re.search(r"would have sent to PagerDuty: `POST \S+/v2/enqueue", thread)
    assert f"http step would have sent GET {listener.url}/probe?token=${{env:SCE_DRY_SECRET}}" in thread
    assert "Authorization: Bearer ${env:SCE_DRY_SECRET}" in thread
    assert f"webhook step would have sent POST {listener.url}/hook" in thread
    assert thread.count("(dry run: nothing applied)") == 4  # the four faults' plans
    assert SECRET not in thread and ROUTING_KEY not in thread
    assert SECRET not in json.dumps([e.to_json() for e in run.events])
    assert ROUTING_KEY not in json.dumps([e.to_json() for e in run.events])


def test_the_same_scenario_not_in_dry_run_reaches_every_listener(
    tmp_path: Path,
    listener: RecordingListener,
    pagerduty: FakePagerDuty,
    kube: KubeTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCE_DRY_SECRET", SECRET)
    run = run_every_step(tmp_path, listener, pagerduty, kube, dry_run=False)
    assert run.http_hits == 2 and listener.hits[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert pagerduty.attempts == 2 and pagerduty.actions("trigger")[0]["routing_key"] == ROUTING_KEY
    assert len(pagerduty.actions("resolve")) == 1
    assert {"POST", "DELETE"} <= set(run.kube_methods)
    assert run.pods_left == []  # deleted by the fault; the network policy and PodChaos were created
    assert {"networkpolicies", "podchaos"} <= {
        str(r.resource.plural) for r in kube.bot_requests() if r.resource and str(r.method.value) == "POST"
    }
    assert not [e for e in run.events if e.kind is Kind.WOULD_SEND]


def test_one_gate_asks_whether_a_game_day_is_a_dry_run() -> None:
    """Every outbound effect passes ``bot.gameday.running.outbound.sends``: nothing else reads the flag."""
    readers = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            recorded = '"dry_run":' in line or "dry_run=" in line  # kept on the record, not acted on
            if re.search(r"\brecord\.dry_run\b", line) and not recorded:
                readers.append(f"{path.relative_to(ROOT)}:{number}")
    assert readers == ["bot/gameday/running/outbound.py:19"]

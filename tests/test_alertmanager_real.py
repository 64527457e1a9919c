"""The whole alert path with Debian's real parts: Prometheus scrapes a target, a rule fires, Alertmanager
delivers it to the bot's /hooks/alertmanager with its bearer token, and the alert that carries the game
day's marker is its detection (timed by Prometheus' startsAt); one without it counts against fidelity."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from bot_process import SIGNING_SECRET
from inprocess_bot import HOOK_SECRET, bot_on, events_of
from threads import start_gameday, wait_until

from bench.prometheus_server import (
    ALERTMANAGER,
    PROMETHEUS,
    AlertmanagerServer,
    MetricsTarget,
    PrometheusServer,
)
from bot.gameday.measuring.alerts import marker_for
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None or ALERTMANAGER is None, reason="needs Debian's prometheus and alertmanager (.ci/run)"
)
SCENARIO = """id: beacon
title: Beacon drill
charter: {objective: o, hypothesis: the beacon is detected}
guardrails: {max_duration: 30m}
steps:
  - {at: 0s, say: "the beacon starts"}
  - {at: 20m, say: "still running"}
"""
RULES = """groups:
  - name: drill
    rules:
      - alert: DnsBeacon
        expr: beacon_queries > 0
        labels: {severity: SEV-2}
        annotations: {summary: "beacon to {{ $labels.query }}"}
"""


@pytest.mark.timeout(90)
def test_a_rule_alertmanager_delivers_with_the_marker_is_the_detection(tmp_path: Path) -> None:
    ws = LocalWorkspace(
        signing_secret=SIGNING_SECRET, users={"UFAC": "carol", "U1": "alice", "U2": "bob"}
    ).start()
    target = MetricsTarget()
    servers: list[PrometheusServer | AlertmanagerServer] = []
    try:
        with bot_on(ws, tmp_path, scenarios={"beacon": SCENARIO}) as bot:
            people = WorkspaceClient(ws.base_url)
            start_gameday(people, "start beacon oncall=<@U1> secondary=<@U2>")
            gameday = bot.services.store.active()[0].id
            alertmanager = AlertmanagerServer(tmp_path, f"{bot.base}/hooks/alertmanager", HOOK_SECRET)
            servers.append(alertmanager)
            alertmanager.wait_ready()
            prometheus = PrometheusServer(tmp_path, target, rules=RULES, alertmanager=alertmanager.address)
            servers.append(prometheus)
            before = time.time()
            target.values[f'beacon_queries{{query="{marker_for(gameday)}.beacon.example"}}'] = 3.0
            target.values['beacon_queries{query="printer.corp.example"}'] = 1.0  # a real alert, no marker
            wait_until(lambda: events_of(bot, gameday, "detected"), timeout=45, what="the detection")
            wait_until(lambda: events_of(bot, gameday, "alert_unmatched"), timeout=20, what="the noise")
            detected = events_of(bot, gameday, "detected")
            assert len(detected) == 1 and detected[0].data["source"] == "alertmanager"
            assert before - 1 <= detected[0].at <= time.time()  # Prometheus' startsAt, not the delivery
            unmatched = events_of(bot, gameday, "alert_unmatched")
            assert [e.data.get("labels", {}).get("query") for e in unmatched] == ["printer.corp.example"]
            people.close()
    finally:
        for server in servers:
            server.stop()
        target.close()
        ws.stop()

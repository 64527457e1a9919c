"""Detections and stop conditions from alert webhooks, end to end against `sce serve`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from bot_process import BotProcess
from prometheus_client.parser import text_string_to_metric_families
from threads import start_gameday, wait_for_block, wait_for_text

from bot.integrations.hooks import signature
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

SECRET = "alert-secret"


def rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def alertmanager(name: str, labels: dict[str, str], starts_at: float) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "status": "firing",
        "receiver": "sce",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.local",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": name, **labels},
                "annotations": {},
                "startsAt": rfc3339(starts_at),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": f"fp-{name}",
            }
        ],
    }


def send(bot: BotProcess, payload: dict[str, Any]) -> requests.Response:
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    headers = {
        "X-SCE-Timestamp": stamp,
        "X-SCE-Signature": signature(SECRET, stamp, body),
        "Content-Type": "application/json",
    }
    return requests.post(
        f"http://127.0.0.1:{bot.port}/hooks/alertmanager", data=body, headers=headers, timeout=10
    )


def alerts_counted(bot: BotProcess) -> dict[str, float]:
    """``sce_webhook_alerts_total`` by outcome, from the bot's /metrics."""
    scraped = requests.get(f"http://127.0.0.1:{bot.port}/metrics", timeout=5).text
    return {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(scraped)
        if family.name == "sce_webhook_alerts"
        for sample in family.samples
        if sample.name == "sce_webhook_alerts_total"
    }


def start_with_alerts(workspace: LocalWorkspace, scenarios_dir: Path, tmp_path: Path) -> BotProcess:
    bot = BotProcess(
        workspace.api_url,
        f"sqlite:///{tmp_path / 'a.db'}",
        scenarios_dir,
        tmp_path / "a.log",
        extra_env={"SCE_ALERT_WEBHOOK_SECRET": SECRET},
    ).start()
    workspace.request_url = bot.url
    return bot


def test_an_alert_with_the_marker_sets_ttd_from_its_starts_at_and_noise_counts_against_fidelity(
    workspace: LocalWorkspace, people: WorkspaceClient, scenarios_dir: Path, tmp_path: Path
) -> None:
    bot = start_with_alerts(workspace, scenarios_dir, tmp_path)
    try:
        thread = start_gameday(people)
        page = wait_for_block(people, thread, "page:p0")
        gameday_id = bot.debrief_json()["id"]
        page_ts = float(page["ts"])
        noise = send(bot, alertmanager("DiskFull", {"host": "db-1"}, page_ts + 5))
        assert noise.status_code == 200 and "unmatched" in noise.text
        hit = send(bot, alertmanager("ImpossibleTravel", {"rule": f"sce-{gameday_id}"}, page_ts + 42.25))
        assert hit.status_code == 200 and "detection" in hit.text
        again = requests.post(  # Alertmanager repeats itself (with its bearer token); it counts once
            f"http://127.0.0.1:{bot.port}/hooks/alertmanager",
            json=alertmanager("ImpossibleTravel", {"rule": f"sce-{gameday_id}"}, page_ts + 42.25),
            headers={"Authorization": f"Bearer {SECRET}"},
            timeout=10,
        )
        assert "already recorded" in again.text
        repeated_noise = send(
            bot, {**alertmanager("DiskFull", {"host": "db-1"}, page_ts + 5), "truncatedAlerts": 0}
        )
        assert "already recorded" in repeated_noise.text
        # the metrics count each alert once, as what it was; the re-notifications as repeats
        assert alerts_counted(bot) == {"detection": 1.0, "unmatched": 1.0, "repeat": 2.0}
        forged = requests.post(f"http://127.0.0.1:{bot.port}/hooks/alertmanager", json={}, timeout=10)
        assert forged.status_code == 401
        people.slash("UFAC", "/sce", "end")
        wait_for_text(people, thread, "Debrief")
        debrief = bot.debrief_json()
        assert abs(debrief["metrics"]["ttd_seconds"] - 42.25) < 0.001
        assert debrief["alert_fidelity"]["matched"] == 1 and debrief["alert_fidelity"]["unmatched"] == 1
        assert debrief["alert_fidelity"]["unmatched_alerts"] == ["alertmanager: DiskFull"]
    finally:
        bot.stop()


def test_a_real_sev1_stops_the_game_day_and_reverts_its_faults(
    workspace: LocalWorkspace, people: WorkspaceClient, scenarios_dir: Path, tmp_path: Path
) -> None:
    text = (scenarios_dir / "pager-stress.yaml").read_text()
    text = text.replace("stop_on: []", "stop_on: [{labels: {severity: SEV-1, env: production}}]")
    text = text.replace(
        "  - at: 1m\n", "  - at: 1s\n    fault: {type: simulated.egress-block, ttl: 10m}\n  - at: 1m\n"
    )
    (scenarios_dir / "pager-stress.yaml").write_text(text)
    bot = start_with_alerts(workspace, scenarios_dir, tmp_path)
    try:
        thread = start_gameday(people)
        wait_for_text(people, thread, "Fault applied")
        stop = send(
            bot, alertmanager("PaymentsDown", {"severity": "sev-1", "env": "production"}, time.time())
        )
        assert stop.status_code == 200 and "stop" in stop.text
        wait_for_text(people, thread, "Stopping the game day")
        wait_for_text(people, thread, "Debrief")
        debrief = bot.debrief_json()
        assert debrief["status"] == "aborted" and debrief["verdict"] == "inconclusive"
        assert "PaymentsDown" in debrief["end_reason"]
        kinds = [e["kind"] for e in debrief["timeline"]]
        assert kinds.index("fault_applied") < kinds.index("fault_reverted") < kinds.index("gameday_ended")
    finally:
        bot.stop()

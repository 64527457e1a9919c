"""`sce serve` as operations see it: /metrics during a game day, /readyz, and paging through PagerDuty."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from bot_process import BotProcess
from prometheus_client.parser import text_string_to_metric_families
from test_pagerduty import API_TOKEN, FakePagerDuty, shift
from threads import start_gameday, wait_for_block, wait_for_text, wait_until

from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    server = FakePagerDuty()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_metrics_readiness_and_pagerduty_during_a_game_day(
    workspace: LocalWorkspace,
    people: WorkspaceClient,
    scenarios_dir: Path,
    tmp_path: Path,
    pagerduty: FakePagerDuty,
) -> None:
    env = {
        "PAGERDUTY_ROUTING_KEY": "R0123456789ABCDEF0123456789ABCDE",
        "PAGERDUTY_EVENTS_URL": f"{pagerduty.url}/v2/enqueue",
    }
    bot = BotProcess(
        workspace.api_url, f"sqlite:///{tmp_path / 'o.db'}", scenarios_dir, tmp_path / "o.log", extra_env=env
    ).start()
    workspace.request_url = bot.url
    base = f"http://127.0.0.1:{bot.port}"
    try:
        assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
        thread = start_gameday(people)
        page = wait_for_block(people, thread, "page:p0")
        people.post("U1", "C1", "ack", thread_ts=thread, ts=f"{float(page['ts']) + 7.5:.6f}")
        wait_for_text(people, thread, "acknowledged page p0")

        families = {
            f.name: f for f in text_string_to_metric_families(requests.get(f"{base}/metrics", timeout=5).text)
        }
        acks = families["sce_acknowledgement_seconds"]
        count = next(s.value for s in acks.samples if s.name.endswith("_count"))
        total = next(s.value for s in acks.samples if s.name.endswith("_sum"))
        assert count == 1 and abs(total - 7.5) < 0.001
        running = {s.labels["state"]: s.value for s in families["sce_gamedays"].samples}
        assert running.get("running") == 1
        pages = {
            s.labels["severity"]: s.value
            for s in families["sce_pages_sent"].samples
            if s.name == "sce_pages_sent_total"
        }
        assert pages == {"SEV-2": 1.0}

        people.slash("UFAC", "/sce", "end")
        wait_for_text(people, thread, "Debrief")
        wait_until(lambda: pagerduty.actions("resolve"), what="the PagerDuty resolve")
        triggers, resolves = pagerduty.actions("trigger"), pagerduty.actions("resolve")
        assert pagerduty.problems == []
        assert len(triggers) == 1 and len(resolves) == 1
        assert triggers[0]["dedup_key"] == resolves[0]["dedup_key"]
        assert triggers[0]["payload"]["summary"].startswith("[GAME DAY]")
    finally:
        bot.stop()


def test_who_is_paged_can_come_from_a_pagerduty_schedule(
    workspace: LocalWorkspace,
    people: WorkspaceClient,
    scenarios_dir: Path,
    tmp_path: Path,
    pagerduty: FakePagerDuty,
) -> None:
    now = time.time()
    pagerduty.oncalls = [
        shift("PBOB", "bob@example.com", iso(now - 3600), iso(now + 3600)),  # bob is on call now
        shift("PALICE", "alice@example.com", iso(now + 3600), iso(now + 7200)),  # alice takes over next
    ]
    text = (scenarios_dir / "pager-stress.yaml").read_text()
    (scenarios_dir / "pager-stress.yaml").write_text(
        text.replace("escalate_after: 3m}", "escalate_after: 3m, pagerduty_schedule: PSCHED1}")
    )
    env = {"PAGERDUTY_API_TOKEN": API_TOKEN, "PAGERDUTY_API_URL": pagerduty.url}
    bot = BotProcess(
        workspace.api_url, f"sqlite:///{tmp_path / 'p.db'}", scenarios_dir, tmp_path / "p.log", extra_env=env
    ).start()
    workspace.request_url = bot.url
    try:
        thread = start_gameday(people, "start pager-stress")
        page = wait_for_block(people, thread, "page:p0")
        assert "<@U2>" in page["text"]  # bob, by his email in Slack
        kickoff = next(m for m in people.messages("C1") if m["ts"] == thread)
        assert "*Secondary* <@U1>" in kickoff["text"]
    finally:
        bot.stop()

"""End to end over real HTTP, the local workspace as Slack: `sce serve` in its own process, and the
bot in this process where the same test also runs over Socket Mode in its own process."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import requests
from bot_process import SIGNING_SECRET, BotProcess, LiveBot
from threads import START, start_gameday, wait_for_block, wait_for_text, wait_until

from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace


def test_tta_is_reply_ts_minus_page_ts_not_delivery_time(live_bot: LiveBot, people: WorkspaceClient) -> None:
    bot = live_bot
    thread = start_gameday(people)
    page = wait_for_block(people, thread, "page:p0")
    assert "<@U1" in page["text"] and "[GAME DAY]" in page["text"]
    reply_ts = f"{float(page['ts']) + 1.234567:.6f}"
    delivered = people.post("U1", "C1", "ack", thread_ts=thread, ts=reply_ts, deliver_after=2.0)
    assert delivered["status"] == 200
    wait_for_text(people, thread, r"acknowledged page p0")
    assert people.slash("UFAC", "/sce", "end")["status"] == 200
    wait_for_text(people, thread, r"Debrief")
    debrief = bot.debrief_json()
    p0 = next(p for p in debrief["pages"] if p["id"] == "p0")
    expected = float(reply_ts) - float(page["ts"])
    assert p0["acknowledged_by"] == "U1"
    assert abs(p0["tta_seconds"] - expected) < 0.0005, (p0["tta_seconds"], expected)
    assert debrief["status"] == "completed"
    for field in (
        "id",
        "scenario",
        "status",
        "verdict",
        "metrics",
        "pages",
        "handoffs",
        "expectations",
        "gaps",
        "timeline",
    ):
        assert field in debrief
    for field in ("responder", "paged_at", "acknowledged_at", "acknowledged_by", "tta_seconds", "escalated"):
        assert field in p0


def _signed(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> dict[str, str]:
    base = f"v0:{timestamp}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def test_forged_or_stale_requests_get_401_and_change_nothing(
    start_bot: Callable[..., BotProcess], people: WorkspaceClient
) -> None:
    bot = start_bot()
    body = urlencode(
        {
            "command": "/sce",
            "text": START,
            "user_id": "UFAC",
            "channel_id": "C1",
            "team_id": "T0LOCAL",
            "trigger_id": "t1",
            "response_url": "http://127.0.0.1:9/none",
        }
    )
    now = int(time.time())
    forged = requests.post(bot.url, data=body, headers=_signed(body, now, secret="not-the-secret"), timeout=5)
    stale = requests.post(bot.url, data=body, headers=_signed(body, now - 6 * 60), timeout=5)
    unsigned = requests.post(bot.url, data=body, timeout=5)
    assert (forged.status_code, stale.status_code, unsigned.status_code) == (401, 401, 401)
    genuine = requests.post(bot.url, data=body, headers=_signed(body, now), timeout=5)
    assert genuine.status_code == 200  # the same body, correctly signed, is accepted
    time.sleep(0.5)
    kickoffs = [m for m in people.messages("C1") if m.get("thread_ts") in (None, m["ts"])]
    assert len(kickoffs) == 1


def test_a_retried_delivery_records_one_gap(live_bot: LiveBot, people: WorkspaceClient) -> None:
    bot = live_bot
    thread = start_gameday(people)
    wait_for_block(people, thread, "page:p0")
    sent = people.post("U1", "C1", "gap: the runbook has no step for revoking the token", thread_ts=thread)
    assert sent["status"] == 200
    assert people.redeliver(sent["event_id"], retry_num=1)["status"] == 200
    assert people.redeliver(sent["event_id"], retry_num=2)["status"] == 200
    people.slash("UFAC", "/sce", "end")
    wait_for_text(people, thread, r"Debrief")
    gaps = wait_until(lambda: bot.debrief_json()["gaps"], what="the gap")  # events are handled after the ack
    time.sleep(0.5)  # let any duplicate that was going to sneak in arrive
    assert [g["text"] for g in bot.debrief_json()["gaps"]] == [
        "the runbook has no step for revoking the token"
    ]
    assert len(gaps) == 1


def test_unknown_scenario_gets_an_ephemeral_list_and_starts_nothing(
    live_bot: LiveBot, people: WorkspaceClient
) -> None:
    bot = live_bot
    result = people.slash("UFAC", "/sce", "start nosuch")
    assert result["status"] == 200
    assert "nosuch" in result["text"] and "pager-stress" in result["text"]
    assert any("pager-stress" in (e.get("text") or "") for e in people.ephemerals("UFAC"))
    assert people.messages("C1") == []
    assert bot.sce("debrief", "latest").returncode == 1


def test_malformed_scenario_is_refused_with_file_line_and_field(
    start_bot: Callable[..., BotProcess], people: WorkspaceClient, scenarios_dir: Path
) -> None:
    broken = (scenarios_dir / "pager-stress.yaml").read_text().replace("id: pager-stress", "id: broken")
    broken = broken.replace("escalate_after: 3m", "escalate_after: soon")
    (scenarios_dir / "broken.yaml").write_text(broken)
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "escalate_after" in text)
    bot = start_bot()
    result = people.slash("UFAC", "/sce", "start broken oncall=<@U1> secondary=<@U2>")
    assert f"broken.yaml:{line}: oncall.escalate_after:" in result["text"]
    assert "Traceback" not in result["text"]
    assert people.messages("C1") == []
    validated = bot.sce("validate", str(scenarios_dir))
    assert validated.returncode == 1
    assert f"broken.yaml:{line}: oncall.escalate_after: 'soon' is not a duration" in validated.stderr
    assert "Traceback" not in validated.stderr + validated.stdout
    assert "ok" in validated.stdout and "pager-stress.yaml" in validated.stdout


def test_only_facilitators_may_start_when_they_are_configured(
    workspace: LocalWorkspace, scenarios_dir: Path, tmp_path: Path, people: WorkspaceClient
) -> None:
    bot = BotProcess(
        workspace.api_url,
        f"sqlite:///{tmp_path / 'f.db'}",
        scenarios_dir,
        tmp_path / "f.log",
        extra_env={"SCE_FACILITATORS": "UFAC"},
    ).start()
    workspace.request_url = bot.url
    try:
        refused = people.slash("U1", "/sce", START)
        assert "Only facilitators (<@UFAC>)" in refused["text"]
        assert people.messages("C1") == []
        thread = start_gameday(people)  # carol is a facilitator
        wait_for_block(people, thread, "page:p0")
        assert "Only facilitators" in people.slash("U1", "/sce", "abort")["text"]
        assert "aborted" in people.slash("UFAC", "/sce", "abort drill over")["text"]
        assert bot.debrief_json()["verdict"] == "inconclusive"
    finally:
        bot.stop()

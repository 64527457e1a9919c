"""Tokens and secrets never reach the logs: `sce serve` runs whole game days with logging at DEBUG.

The four secrets get recognisable values; the bot runs in HTTP mode (bot token, signing secret, alert
webhook secret) and then in Socket Mode (bot and app token) through a game day that touches every path
that logs: slash commands, replies, buttons, a forged and a stale request, alert webhooks (good, bad HMAC,
wrong and right bearer token), a Slack API failure (500) and a rate limit (429), the debrief and its
uploaded files; the HTTP run logs text, the Socket Mode run JSON (SCE_LOG_FORMAT). `sce serve` has no
log level setting, so a `sitecustomize` on PYTHONPATH keeps the root logger at DEBUG: the libraries'
request logging (slack_sdk, Bolt, Socket Mode) is captured too. BotProcess writes stdout and stderr to a
file; neither file, nor anything the bot sent to Slack, holds a secret.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from bot_process import BotProcess
from threads import START, start_gameday, wait_for_block, wait_for_text, wait_until

from bot.integrations.hooks import signature
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-SCEBOTSECRET-7f3a9c21d0e4",
    "SLACK_SIGNING_SECRET": "SCESIGNINGSECRET-4b8e2d6a91c3",
    "SLACK_APP_TOKEN": "xapp-SCEAPPSECRET-9d1c7e5f30b8",
    "SCE_ALERT_WEBHOOK_SECRET": "SCEWEBHOOKSECRET-2a6f8b0c47d5",
}
# the part of each value no library would print by accident: catches a secret cut short or re-encoded too
CORES = {name: value.split("-")[1] for name, value in SECRETS.items()}

SITECUSTOMIZE = '''
"""Test hook: whatever level `sce serve` sets on the root logger, it logs at DEBUG."""
import logging

_set_level = logging.Logger.setLevel


def _debug_on_root(self, level):
    _set_level(self, logging.DEBUG if self is logging.root else level)


logging.Logger.setLevel = _debug_on_root
'''


@pytest.fixture
def vault_workspace() -> Iterator[LocalWorkspace]:
    """A workspace that only takes the recognisable tokens and signs with the recognisable secret."""
    ws = LocalWorkspace(
        signing_secret=SECRETS["SLACK_SIGNING_SECRET"],
        bot_token=SECRETS["SLACK_BOT_TOKEN"],
        app_token=SECRETS["SLACK_APP_TOKEN"],
        users={"U1": "alice", "U2": "bob", "UFAC": "carol"},
        channels={"C1": "gameday", "C2": "gameday-socket"},
    ).start()
    yield ws
    ws.stop()


def debug_env(tmp_path: Path) -> dict[str, str]:
    hook = tmp_path / "debug-logging"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    path = os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path}


def leaks(text: str) -> dict[str, list[str]]:
    """Each secret found in ``text``, with the lines that hold it."""
    found: dict[str, list[str]] = {}
    for name, value in SECRETS.items():
        lines = [line[:200] for line in text.splitlines() if value in line or CORES[name] in line]
        if lines:
            found[name] = lines[:3]
    return found


def send_alert(bot: BotProcess, path: str, body: bytes, headers: dict[str, str]) -> int:
    url = f"http://127.0.0.1:{bot.port}/hooks/{path}"
    return requests.post(
        url, data=body, headers={"Content-Type": "application/json", **headers}, timeout=10
    ).status_code


def signed(
    body: bytes, timestamp: int | None = None, secret: str = SECRETS["SCE_ALERT_WEBHOOK_SECRET"]
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"X-SCE-Timestamp": stamp, "X-SCE-Signature": signature(secret, stamp, body)}


def http_mode_game_day(bot: BotProcess, people: WorkspaceClient) -> None:
    thread = start_gameday(people, START)
    page = wait_for_block(people, thread, "page:p0")
    people.post("U1", "C1", "ack", thread_ts=thread)
    wait_for_text(people, thread, "acknowledged page p0")
    people.post("U2", "C1", "gap: the runbook has no step for revoking the token", thread_ts=thread)
    people.click("U2", "C1", page["ts"], "sce_detected")

    # a forged and a stale slash command: refused, and the refusal is logged
    form = {"command": "/sce", "text": "abort", "user_id": "UFAC", "channel_id": "C1", "trigger_id": "t"}
    body = "&".join(f"{k}={v}" for k, v in form.items())
    now = int(time.time())
    for stamp, sig in ((now, "v0=" + "0" * 64), (now - 600, "v0=" + "1" * 64)):
        headers = {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": sig}
        assert requests.post(bot.url, data=body, headers=headers, timeout=10).status_code == 401

    # alert webhooks: a detection, a bad HMAC, a wrong and a right bearer token
    gameday = bot.debrief_json()["id"]
    alert = json.dumps({"name": "DNS beacon", "text": f"query for sce-{gameday}.sink.example"}).encode()
    assert send_alert(bot, "alert", alert, signed(alert)) == 200
    assert send_alert(bot, "alert", alert, signed(alert, secret="not-it")) == 401
    manager = json.dumps({"version": "4", "alerts": []}).encode()
    assert send_alert(bot, "alertmanager", manager, {"Authorization": "Bearer not-it"}) == 401
    bearer = {"Authorization": f"Bearer {SECRETS['SCE_ALERT_WEBHOOK_SECRET']}"}
    assert send_alert(bot, "alertmanager", manager, bearer) == 200

    # Slack failing: a 500 on a post (an exception with its traceback in the log), then a 429
    people.fail_api("chat.postMessage", status=500, times=1)
    people.slash("UFAC", "/sce", "role commander <@U2>")
    people.fail_api("chat.update", status=429, times=1, retry_after=1)
    people.slash("UFAC", "/sce", "contain")
    people.slash("UFAC", "/sce", "status")
    people.slash("UFAC", "/sce", "end")
    wait_for_text(people, thread, "Debrief")
    wait_until(lambda: len(people.files("C1")) >= 2, what="the debrief files")


@pytest.mark.timeout(300)
def test_no_token_or_secret_is_ever_logged_or_sent(
    vault_workspace: LocalWorkspace, scenarios_dir: Path, tmp_path: Path
) -> None:
    ws = vault_workspace
    people = WorkspaceClient(ws.base_url)
    env = {**debug_env(tmp_path), **{k: v for k, v in SECRETS.items() if k != "SLACK_APP_TOKEN"}}
    logs = {"http": tmp_path / "http.log", "socket": tmp_path / "socket.log"}
    try:
        http_bot = BotProcess(
            ws.api_url, f"sqlite:///{tmp_path / 'http.db'}", scenarios_dir, logs["http"], extra_env=env
        ).start()
        ws.request_url = http_bot.url
        try:
            http_mode_game_day(http_bot, people)
        finally:
            http_bot.stop()
        ws.request_url = None

        socket_bot = BotProcess(
            ws.api_url,
            f"sqlite:///{tmp_path / 'socket.db'}",
            scenarios_dir,
            logs["socket"],
            socket_mode=True,
            extra_env={**env, "SCE_LOG_FORMAT": "json"},
        )
        socket_bot.env["SLACK_APP_TOKEN"] = SECRETS["SLACK_APP_TOKEN"]
        socket_bot.start()
        try:
            wait_until(lambda: ws.socket_clients >= 1, timeout=30, what="the Socket Mode connection")
            thread = start_gameday(people, START, channel="C2")
            wait_for_block(people, thread, "page:p0", channel="C2")
            people.post("U1", "C2", "ack", thread_ts=thread)
            wait_for_text(people, thread, "acknowledged page p0", channel="C2")
            people.slash("UFAC", "/sce", "end", channel="C2")
            wait_for_text(people, thread, "Debrief", channel="C2")
        finally:
            socket_bot.stop()

        texts = {name: path.read_text(errors="replace") for name, path in logs.items()}
        for name, text in texts.items():
            at_debug = re.search(r' DEBUG slack_sdk|"level": "DEBUG", "logger": "slack_sdk', text)
            assert at_debug, f"the {name} log was not at DEBUG: the test proves nothing"
            assert "'Authorization': '(redacted)'" in text, f"the {name} log shows no Web API request"
            assert leaks(text) == {}, f"secrets in the {name} log"

        # nor did any of them go to Slack: messages, files, or the parameters of any Web API call
        sent = json.dumps(
            [people.messages(c) for c in ("C1", "C2")] + [people.files()] + [people.calls()], default=str
        )
        assert leaks(sent) == {}
    finally:
        people.close()


def test_the_leak_check_finds_a_secret_however_it_is_cut() -> None:
    for name, value in SECRETS.items():
        assert name in leaks(f"INFO x token={value}")
        assert name in leaks(f"DEBUG y {value[:5]}...{CORES[name]}")
    assert leaks("INFO sending chat.postMessage with Authorization: (redacted)") == {}

"""Other apps' Slack notifications are alerts: Alertmanager's Slack notifier (attachments, posted through an
incoming webhook), a PagerDuty-style app post in Block Kit, a plain app post. Each carrying a game day's
marker is a detection; one declaring an incident in a stop channel stops the game day; a resolved one and
the bot's own posts, markers and all, count for nothing. Over HTTP (the front door) and Socket Mode."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from bot_process import SIGNING_SECRET
from inprocess_bot import Bot, bot_on, events_of
from threads import start_gameday, wait_until

from bot.gameday.measuring.alerts import marker_for
from bot.slack.message_text import message_text
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

ALERTS, INCIDENTS = "CALERTS", "CINC"
SCENARIO = f"""
id: watched
title: Watched drill
charter: {{objective: o, hypothesis: the beacon is detected}}
guardrails:
  max_duration: 30m
  stop_on:
    - {{channel: {INCIDENTS}, text: incident declared}}
steps:
  - {{at: 0s, say: "the beacon starts"}}
  - {{at: 20m, say: "still running"}}
"""


@pytest.fixture(params=["http", "socket"])
def running(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LocalWorkspace, Bot, str]]:
    ws = LocalWorkspace(
        signing_secret=SIGNING_SECRET,
        users={"UFAC": "carol", "U1": "alice", "U2": "bob"},
        channels={"C1": "gameday", ALERTS: "alerts", INCIDENTS: "incidents"},
    ).start()
    try:
        with bot_on(
            ws,
            tmp_path,
            scenarios={"watched": SCENARIO},
            socket_mode=request.param == "socket",
            alerts_channel=ALERTS,
        ) as bot:
            people = WorkspaceClient(ws.base_url)
            start_gameday(people, "start watched oncall=<@U1> secondary=<@U2>")
            gameday = bot.services.store.active()[0].id
            people.close()
            yield ws, bot, gameday
    finally:
        ws.stop()


def alertmanager_notification(marker: str, status: str = "firing") -> dict[str, Any]:
    """What Alertmanager's default Slack template sends: the alert in an attachment, not in ``text``."""
    title = "[FIRING:1] DNSBeaconDetected" if status == "firing" else "[RESOLVED] DNSBeaconDetected"
    return {
        "username": "Alertmanager",
        "attachments": [
            {
                "color": "danger" if status == "firing" else "good",
                "title": title,
                "title_link": "http://alertmanager.example:9093/#/alerts?receiver=slack",
                "text": f"*Alert:* beacon to {marker}.evil.example - `critical`\n*Description:* DNS tunnel",
                "fallback": f"{title} | http://alertmanager.example:9093",
                "footer": "",
            }
        ],
    }


def detections(bot: Bot, gameday: str) -> list[str]:
    return [str(e.data.get("source")) for e in events_of(bot, gameday, "detected")]


def test_an_alertmanager_notification_in_the_alert_channel_is_a_detection(
    running: tuple[LocalWorkspace, Bot, str],
) -> None:
    ws, bot, gameday = running
    hook = ws.incoming_webhook(ALERTS, "Alertmanager")
    answer = requests.post(hook, json=alertmanager_notification(marker_for(gameday)), timeout=10)
    assert (answer.status_code, answer.text) == (200, "ok")
    wait_until(lambda: detections(bot, gameday), what="the detection")
    assert detections(bot, gameday) == ["slack"]
    detected = events_of(bot, gameday, "detected")[0]
    posted = float(ws.messages(ALERTS)[-1]["ts"])
    assert detected.at == posted  # timed by the notification's own ts


@pytest.mark.parametrize(
    "post",
    [
        pytest.param(lambda marker: alertmanager_notification(marker, "resolved"), id="resolved"),
        pytest.param(lambda marker: {"text": "Nightly backup finished"}, id="no-marker"),
    ],
)
def test_a_resolved_notification_or_one_without_a_marker_is_no_detection(
    running: tuple[LocalWorkspace, Bot, str], post: Any
) -> None:
    ws, bot, gameday = running
    hook = ws.incoming_webhook(ALERTS, "Alertmanager")
    assert requests.post(hook, json=post(marker_for(gameday)), timeout=10).text == "ok"
    firing = requests.post(hook, json={"text": "canary"}, timeout=10)  # a later post: the first was handled
    assert firing.text == "ok"
    wait_until(lambda: len(ws.messages(ALERTS)) == 2, what="both posts")
    time.sleep(0.5)
    assert detections(bot, gameday) == []


def test_an_incident_declared_by_another_app_in_a_stop_channel_stops_the_game_day(
    running: tuple[LocalWorkspace, Bot, str],
) -> None:
    ws, bot, gameday = running
    pagerduty_style = {
        "username": "PagerDuty",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Triggered: SEV-1"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Incident declared* for payments-api"}},
        ],
        "text": "Triggered: SEV-1",
    }
    assert (
        requests.post(ws.incoming_webhook(INCIDENTS, "PagerDuty"), json=pagerduty_style, timeout=10).text
        == "ok"
    )
    wait_until(
        lambda: (r := bot.services.store.get(gameday)) is not None and r.status == "aborted", what="the stop"
    )


def test_the_bots_own_posts_carrying_the_marker_never_count(running: tuple[LocalWorkspace, Bot, str]) -> None:
    ws, bot, gameday = running
    # the bot's own post in the alert channel, the marker in it, delivered back as Slack does
    bot.services.client.chat_postMessage(channel=ALERTS, text=f"drill note: {marker_for(gameday)}")
    hook = ws.incoming_webhook(ALERTS, "Alertmanager")
    assert requests.post(hook, json={"text": "canary"}, timeout=10).text == "ok"  # handled after ours
    wait_until(lambda: len(ws.messages(ALERTS)) == 2, what="both posts")
    time.sleep(0.5)
    assert detections(bot, gameday) == []


def test_every_part_of_an_apps_notification_is_read() -> None:
    event = {
        "text": "top",
        "attachments": [
            {
                "pretext": "pre",
                "title": "title",
                "text": "body",
                "fields": [{"title": "host", "value": "web-1"}],
            },
            {"fallback": "only a fallback"},
            {"title": "t", "fallback": "not read when the title says it"},
        ],
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "section"},
                "fields": [{"type": "mrkdwn", "text": "f1"}],
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "ctx"}]},
            {
                "type": "rich_text",
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "rich"}]}],
            },
        ],
    }
    assert message_text(event).split("\n") == [
        "top",
        "pre",
        "title",
        "body",
        "host",
        "web-1",
        "only a fallback",
        "t",
        "section",
        "f1",
        "ctx",
        "rich",
    ]
    assert len(message_text({"attachments": [{"text": "x" * 50_000}]})) == 40_000
    assert message_text({"blocks": [[[]]] * 3, "attachments": "nope", "text": None}) == ""

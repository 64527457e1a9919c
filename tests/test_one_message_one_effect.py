"""One message, one effect: a thread reply or a reaction that Slack delivers again under another event id
(a proxy's retry, a re-sent envelope) is taken once. Before, a repeated "ack" found the responder's own
page already acknowledged and acknowledged another responder's open page instead.

The bot runs in this process behind its signed HTTP door; the redeliveries are signed requests carrying
the very same message (channel, ts) or reaction in a new envelope.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import requests
from bot_process import SIGNING_SECRET
from inprocess_bot import Bot, bot_on, events_of
from threads import wait_until

from bot.gameday.ports import GameDayRecord
from bot.workspace import payloads
from bot.workspace.client import WorkspaceClient
from bot.workspace.delivery import sign
from bot.workspace.server import LocalWorkspace

TWO_PAGES = """
id: two-pages
title: Two pages at once
charter: {objective: o, hypothesis: h}
guardrails: {max_duration: 30m}
oncall: {primary: "@primary", secondary: "@secondary", escalate_after: 20m}
steps:
  - at: 0s
    page: {severity: SEV-2, summary: first, to: "@primary"}
  - at: 0s
    page: {severity: SEV-3, summary: second, to: "@secondary"}
"""


@pytest.fixture
def ws(workspace: LocalWorkspace) -> LocalWorkspace:
    """conftest's local workspace: alice (U1), bob (U2) and carol (UFAC) in #gameday (C1)."""
    return workspace


@pytest.fixture
def bot(ws: LocalWorkspace, tmp_path: Path) -> Iterator[Bot]:
    with bot_on(ws, tmp_path, {"two-pages": TWO_PAGES}) as running:
        yield running


def wait_for(check: Any, what: str, timeout: float = 10.0) -> Any:
    return wait_until(check, timeout, what)


events = events_of


def redeliver(bot: Bot, ws: LocalWorkspace, event: dict[str, Any]) -> None:
    """The same inner event in a new envelope (a new event id), signed now, as a retry through a proxy."""
    envelope = payloads.event_callback(ws.state, event)
    body = json.dumps(envelope).encode()
    now = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(now),
        "X-Slack-Signature": sign(SIGNING_SECRET, now, body),
    }
    assert (
        requests.post(f"{bot.base}/slack/events", data=body, headers=headers, timeout=10).status_code == 200
    )


def start(bot: Bot, people: WorkspaceClient) -> tuple[str, str]:
    answer = people.slash("UFAC", "/sce", "start two-pages oncall=<@U1> secondary=<@U2>")
    assert str(answer.get("text", "")).startswith("Starting"), answer
    gameday = wait_for(lambda: bot.services.store.active_in_channel("C1"), "the game day")[-1].id
    wait_for(lambda: len(events(bot, gameday, "page_sent")) == 2, "both pages")
    thread = cast(GameDayRecord, bot.services.store.get(gameday)).thread_ts
    return gameday, cast(str, thread)


def test_an_ack_delivered_again_under_a_new_event_id_acknowledges_nothing_more(
    bot: Bot, ws: LocalWorkspace, people: WorkspaceClient
) -> None:
    gameday, thread = start(bot, people)
    sent = people.post("U1", "C1", "ack", thread_ts=thread)
    wait_for(lambda: events(bot, gameday, "acknowledged"), "alice's acknowledgement")
    message = ws.state.find_message("C1", sent["ts"])
    assert message is not None
    for _ in range(3):
        redeliver(bot, ws, payloads.message_event(ws.state, message))
    time.sleep(0.5)  # the inbox writes in batches: give a wrong second effect its chance to land
    acks = [(e.actor, e.data["page_id"]) for e in events(bot, gameday, "acknowledged")]
    assert acks == [("U1", "p0")], "the repeated ack acknowledged bob's page"
    people.slash("UFAC", "/sce", "abort done")


def test_a_note_delivered_again_is_recorded_once(
    bot: Bot, ws: LocalWorkspace, people: WorkspaceClient
) -> None:
    gameday, thread = start(bot, people)
    sent = people.post("U2", "C1", "gap: the runbook has no rollback step", thread_ts=thread)
    wait_for(lambda: events(bot, gameday, "note"), "the gap")
    message = ws.state.find_message("C1", sent["ts"])
    assert message is not None
    redeliver(bot, ws, payloads.message_event(ws.state, message))
    # a different message with the same words is a second note: the key is the message, not its text
    people.post("U2", "C1", "gap: the runbook has no rollback step", thread_ts=thread)
    wait_for(lambda: len(events(bot, gameday, "note")) >= 2, "the second message's gap")
    time.sleep(0.5)
    assert len(events(bot, gameday, "note")) == 2
    people.slash("UFAC", "/sce", "abort done")


def test_a_reaction_delivered_again_acknowledges_once(
    bot: Bot, ws: LocalWorkspace, people: WorkspaceClient
) -> None:
    gameday, _ = start(bot, people)
    p0 = events(bot, gameday, "page_sent")[0].data["message_ts"]
    reacted = people.react("U1", "C1", p0, "eyes")
    wait_for(lambda: events(bot, gameday, "acknowledged"), "the reaction's acknowledgement")
    page = ws.state.find_message("C1", p0)
    assert page is not None
    for _ in range(2):
        redeliver(bot, ws, payloads.reaction_added_event("U1", page, "eyes", str(reacted["event_ts"])))
    # bob's :eyes: on alice's page is his own reaction: it is a new input (and finds nothing left to take)
    people.react("U2", "C1", p0, "eyes")
    time.sleep(0.5)
    acks = [(e.actor, e.data["page_id"]) for e in events(bot, gameday, "acknowledged")]
    assert acks == [("U1", "p0")]
    people.slash("UFAC", "/sce", "abort done")

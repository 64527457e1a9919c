"""The same button click, slash command and thread reply delivered twice within a second has one effect
and causes one round of Slack calls, whether it comes back with the same id or in a new envelope.

test_security_entry sends the very same signed request again and test_one_message_one_effect sends a
thread reply or reaction under a new event id. Here the same invocation comes back signed at another
time (Slack re-signs its retries; a proxy re-sends), which the signature alone cannot recognise: the
interaction's trigger_id and the message's (channel, ts) do. A person who types the same command again
gets a new trigger_id from Slack and a second effect: that is a new invocation, not a redelivery.

The bot runs in this process behind its signed HTTP door, against the local workspace.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess_bot import Bot, bot_on
from test_security_entry import (
    click_body,
    effects,
    post,
    signed,
    slash_body,
    start_tabletop,
    status,
    wait_until,
)

from bot.runtime.server import trigger_id
from bot.slack import blocks
from bot.workspace import payloads
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace
from bot.workspace.state import Message

SETTLE_SECONDS = 0.4  # the inbox writes in batches: a wrong second effect gets its chance to land
RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


@pytest.fixture
def ws(workspace: LocalWorkspace) -> LocalWorkspace:
    """conftest's local workspace: alice (U1), bob (U2) and carol (UFAC) in #gameday (C1)."""
    return workspace


@pytest.fixture
def bot(ws: LocalWorkspace, tmp_path: Path) -> Iterator[Bot]:
    with bot_on(ws, tmp_path) as running:
        yield running


def slack_calls(ws: LocalWorkspace) -> list[str]:
    """Every Web API call the bot made, in order (a second effect would add posts, reactions, updates)."""
    return [call.method for call in list(ws.calls)]


def deliver_twice(
    bot: Bot, body: bytes, content_type: str, extra: dict[str, str] | None = None
) -> tuple[Any, Any]:
    """The body signed now, then signed a second later (a new id for the signature guard)."""
    url = f"{bot.base}/slack/events"
    now = int(time.time())
    first = post(url, body, content_type, signed(body, now))
    again = post(url, body, content_type, {**signed(body, now + 1), **(extra or {})})
    return first, again


def notes(bot: Bot, gameday: str) -> list[str]:
    return [str(e.data.get("text")) for e in bot.services.store.events(gameday) if e.kind.value == "note"]


def quiet_calls(ws: LocalWorkspace) -> list[str]:
    """The calls once the bot has stopped making them (status refreshes follow an effect)."""
    seen: list[str] = []
    while True:
        time.sleep(SETTLE_SECONDS)
        now = slack_calls(ws)
        if now == seen:
            return now
        seen = now


@pytest.mark.parametrize("extra", [{}, RETRY], ids=["resigned", "resigned-as-retry"])
def test_a_slash_note_resigned_within_a_second_is_one_note_and_a_retyped_one_is_another(
    bot: Bot, ws: LocalWorkspace, people: WorkspaceClient, extra: dict[str, str]
) -> None:
    gameday, _ = start_tabletop(bot, people)
    body, content_type = slash_body(
        ws, "U2", "note the WAF dashboard lags", ws.driver.response_url("U2", "C1")
    )
    first, again = deliver_twice(bot, body, content_type, extra)
    assert first.status_code == 200 and again.status_code == 200
    wait_until(lambda: notes(bot, gameday), "the note")
    calls = quiet_calls(ws)
    assert notes(bot, gameday) == ["the WAF dashboard lags"]
    # the command's answer, in its ack or through the response_url after it; no second answer either
    said = [first.text] + [e.get("text") or "" for e in people.ephemerals("U2")]
    assert sum("recorded for the debrief" in s for s in said) == 1, said
    assert again.text == "", again.text

    # the same words typed again: Slack gives a new trigger_id, and it is a second note
    retyped, _ = slash_body(ws, "U2", "note the WAF dashboard lags")
    assert post(f"{bot.base}/slack/events", retyped, content_type, signed(retyped)).status_code == 200
    wait_until(lambda: len(notes(bot, gameday)) == 2, "the re-typed note")
    assert calls == slack_calls(ws)[: len(calls)]
    people.slash("UFAC", "/sce", "abort done")


def test_a_slash_start_resigned_after_its_game_day_ended_starts_nothing(
    bot: Bot, ws: LocalWorkspace, people: WorkspaceClient
) -> None:
    body, content_type = slash_body(ws, "UFAC", "start tabletop-live-logs oncall=<@U1> secondary=<@U2>")
    url = f"{bot.base}/slack/events"
    now = int(time.time())
    assert post(url, body, content_type, signed(body, now)).status_code == 200
    gameday = wait_until(lambda: bot.services.store.active_in_channel("C1"), "the game day")[-1].id
    wait_until(lambda: getattr(bot.services.store.get(gameday), "thread_ts", None), "its kickoff")
    people.slash("UFAC", "/sce", "abort replay test done")
    wait_until(lambda: status(bot, gameday) == "aborted", "the abort")
    # the debrief is out, files and all: on a loaded machine they can follow the rest by more than the
    # pause quiet_calls waits for
    wait_until(lambda: "files.completeUploadExternal" in slack_calls(ws), "the debrief's files")
    calls = quiet_calls(ws)

    again = post(url, body, content_type, {**signed(body, now + 1), **RETRY})
    assert (again.status_code, again.text) == (200, "")
    time.sleep(SETTLE_SECONDS)
    assert [r.id for r in bot.services.store.all()] == [gameday]
    assert slack_calls(ws) == calls


def test_a_pause_click_resigned_after_a_resume_pauses_nothing(
    bot: Bot, ws: LocalWorkspace, people: WorkspaceClient
) -> None:
    gameday, thread = start_tabletop(bot, people)
    kickoff = ws.state.find_message("C1", thread)
    assert kickoff is not None
    body, content_type = click_body(ws, "UFAC", kickoff, blocks.PAUSE, gameday)
    url = f"{bot.base}/slack/events"
    now = int(time.time())
    assert post(url, body, content_type, signed(body, now)).status_code == 200
    wait_until(lambda: status(bot, gameday) == "paused", "the click's pause")
    people.slash("UFAC", "/sce", "resume")
    wait_until(lambda: status(bot, gameday) == "running", "the resume")
    calls = quiet_calls(ws)

    again = post(url, body, content_type, signed(body, now + 1))
    assert (again.status_code, again.text) == (200, "")
    time.sleep(SETTLE_SECONDS)
    assert status(bot, gameday) == "running", "the click delivered again paused the game day again"
    assert effects(bot, gameday) == ["paused", "resumed"]
    assert slack_calls(ws) == calls
    people.slash("UFAC", "/sce", "abort done")


def test_an_ack_click_resigned_acknowledges_once_and_updates_the_page_once(
    bot: Bot, ws: LocalWorkspace, people: WorkspaceClient
) -> None:
    gameday, _ = start_tabletop(bot, people)
    page_ts = wait_until(
        lambda: [
            e.data["message_ts"] for e in bot.services.store.events(gameday) if e.kind.value == "page_sent"
        ],
        "the page",
    )[0]
    page = ws.state.find_message("C1", page_ts)
    assert page is not None
    body, content_type = click_body(ws, "U1", page, blocks.ACK, "p0")
    deliver_twice(bot, body, content_type)

    def acks() -> list[str | None]:
        return [e.actor for e in bot.services.store.events(gameday) if e.kind.value == "acknowledged"]

    wait_until(acks, "the acknowledgement")
    quiet_calls(ws)
    assert acks() == ["U1"]
    # one acknowledgement: the page updated in place once for it, one confirmation in the thread
    page_updates = [c for c in list(ws.calls) if c.method == "chat.update" and c.params.get("ts") == page_ts]
    assert len(page_updates) == 1
    people.slash("UFAC", "/sce", "abort done")


@pytest.mark.parametrize("envelope", ["same event id", "new event id"])
def test_a_gap_reply_resigned_within_a_second_is_one_gap_with_one_reaction(
    bot: Bot, ws: LocalWorkspace, people: WorkspaceClient, envelope: str
) -> None:
    gameday, thread = start_tabletop(bot, people)
    sent = people.post("U2", "C1", "gap: nobody owns the WAF rules", thread_ts=thread)
    wait_until(lambda: notes(bot, gameday), "the gap")
    message = ws.state.find_message("C1", sent["ts"])
    assert message is not None
    calls = quiet_calls(ws)
    assert calls.count("reactions.add") == 1

    event_id = next(d.event_id for d in reversed(list(ws.deliverer.sent.values())) if _is(d.payload, message))
    envelope_body = payloads.event_callback(ws.state, payloads.message_event(ws.state, message))
    if envelope == "same event id":
        envelope_body["event_id"] = event_id
    body = json.dumps(envelope_body).encode()
    url = f"{bot.base}/slack/events"
    for delay in (0, 1):  # twice within a second, each signed anew
        headers = {**signed(body, int(time.time()) + delay), **RETRY}
        assert post(url, body, "application/json", headers).status_code == 200
    time.sleep(SETTLE_SECONDS)
    assert notes(bot, gameday) == ["nobody owns the WAF rules"]
    assert slack_calls(ws) == calls  # no second reaction, no status refresh
    people.slash("UFAC", "/sce", "abort done")


def _is(sent: dict[str, Any], message: Message) -> bool:
    event = sent.get("event") or {}
    return bool(event.get("ts") == message.ts and event.get("channel") == message.channel)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"command=%2Fsce&text=note+x&trigger_id=1.2.abc", "1.2.abc"),
        (b"payload=" + json.dumps({"type": "block_actions", "trigger_id": "9.8.f"}).encode(), "9.8.f"),
        # an event's JSON names no trigger: a message's text that looks like a form field stays text
        (json.dumps({"event": {"text": "x&trigger_id=1.2.abc&payload=y"}}).encode(), None),
        (b"  " + json.dumps({"trigger_id": "1.2.abc"}).encode(), None),
        (b"payload=%5B1%2C2%5D", None),  # a payload that is not an object
        (b"payload=%7Bnot+json", None),
        (b"payload=" + json.dumps({"trigger_id": 12}).encode(), None),
        (b"trigger_id=", None),
        (b"\xff\xfe", None),
    ],
)
def test_the_trigger_id_is_read_only_where_slack_puts_it(body: bytes, expected: str | None) -> None:
    assert trigger_id(body) == expected

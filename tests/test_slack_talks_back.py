"""Slack that talks back, through the surface people touch: the local workspace over real HTTP, the bot's
Bolt app behind its signed door in this process.

- A page acknowledged (reply, button, on the escalation too) is updated in place: who and after how long
  (expected values from the two Slack timestamps, computed here), its Acknowledge and Escalate buttons
  gone (Mark detected, Mark contained and Hand off still apply); once, however often Slack delivers the
  acknowledgement again. A handoff taken over loses its button and says who took it, after how long.
- `gap:` and `note:` replies get a reaction, once, and a failing reactions.add costs the note nothing;
  beyond the workspace's reaction budget a note gets none and counts all the same.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import requests
from bot_process import SIGNING_SECRET
from inprocess_bot import Bot, bot_on, events_of
from threads import wait_until

from bot.config import SettingError, Settings
from bot.gameday.ports import GameDayRecord
from bot.gameday.running.engine import build_debrief_for
from bot.runtime.observability import REGISTRY
from bot.slack import blocks
from bot.slack.budget import Budget
from bot.workspace import payloads
from bot.workspace.client import WorkspaceClient
from bot.workspace.delivery import sign
from bot.workspace.server import LocalWorkspace

ONE_PAGE = """
id: one-page
title: One page
charter: {objective: o, hypothesis: h}
guardrails: {max_duration: 30m}
oncall: {primary: "@primary", secondary: "@secondary", escalate_after: 20m}
expect: {acknowledge_within: 5m, contain_within: 20m}  # it runs on after the page is acknowledged
steps:
  - at: 0s
    page: {severity: SEV-2, summary: the login API answers 500, to: "@primary"}
"""
MEMBERS = ["U1", "U2", "UFAC", "UBOT"]


@pytest.fixture
def workspace() -> Iterator[LocalWorkspace]:
    """alice (U1), bob (U2) and carol (UFAC) in #gameday (C1); mallory (U9) only in #elsewhere (C2)."""
    ws = LocalWorkspace(
        signing_secret=SIGNING_SECRET,
        users={"U1": "alice", "U2": "bob", "UFAC": "carol", "U9": "mallory"},
        channels={"C1": "gameday", "C2": "elsewhere"},
        members={"C1": MEMBERS, "C2": ["U9", "UBOT"]},
    ).start()
    yield ws
    ws.stop()


@pytest.fixture
def bot(workspace: LocalWorkspace, tmp_path: Path) -> Iterator[Bot]:
    with bot_on(workspace, tmp_path, {"one-page": ONE_PAGE}) as running:
        yield running


def wait_for(check: Any, what: str, timeout: float = 10.0) -> Any:
    return wait_until(check, timeout, what)


events = events_of


def start(bot: Bot, people: WorkspaceClient) -> tuple[str, str, str]:
    """The game day, its thread and its page's message."""
    answer = people.slash("UFAC", "/sce", "start one-page oncall=<@U1> secondary=<@U2>")
    assert str(answer.get("text", "")).startswith("Starting"), answer
    gameday = wait_for(lambda: bot.services.store.active_in_channel("C1"), "the game day")[-1].id
    page = wait_for(lambda: events(bot, gameday, "page_sent"), "the page")[0]
    record = bot.services.store.get(gameday)
    assert record is not None and record.thread_ts
    return gameday, record.thread_ts, str(page.data["message_ts"])


def redeliver(bot: Bot, ws: LocalWorkspace, event: dict[str, Any]) -> None:
    """The same inner event in a new envelope (a new event id), signed now: a retry through a proxy."""
    body = json.dumps(payloads.event_callback(ws.state, event)).encode()
    now = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(now),
        "X-Slack-Signature": sign(SIGNING_SECRET, now, body),
    }
    response = requests.post(f"{bot.base}/slack/events", data=body, headers=headers, timeout=10)
    assert response.status_code == 200


def updates_of(ws: LocalWorkspace, ts: str) -> list[Any]:
    return [c for c in ws.calls if c.method == "chat.update" and c.params.get("ts") == ts and c.ok]


def shown(ws: LocalWorkspace, ts: str) -> tuple[str, list[dict[str, Any]]]:
    message = ws.state.find_message("C1", ts)
    assert message is not None
    return message.text, list(message.blocks or [])


STILL_APPLY = [blocks.DETECTED, blocks.CONTAINED, blocks.HANDOFF]


def buttons(payload: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in payload if b["type"] == "actions" for e in b["elements"]]


def later(ts: str, seconds: int) -> str:
    """A Slack ts ``seconds`` after ``ts``, exactly (Slack's ts are decimal strings, not floats)."""
    return str(Decimal(ts) + seconds)


def as_written(delta: Decimal) -> str:
    """Whole seconds as the bot writes durations: 90 -> 1m30s, 125 -> 2m5s, 45 -> 45s."""
    assert delta == delta.to_integral_value() and 0 < delta < 3600
    minutes, seconds = divmod(int(delta), 60)
    return (f"{minutes}m" if minutes else "") + (f"{seconds}s" if seconds else "")


def settle(bot: Bot) -> None:
    """Everything Slack delivered is written (and what follows its commit has gone out)."""
    assert bot.services.inbox.drain(10)
    time.sleep(0.3)  # a wrong second effect gets its chance to land


# -- the page, updated in place --------------------------------------------------------------------
@pytest.mark.parametrize("how", ["reply", "reaction"])
def test_an_acknowledged_page_is_updated_in_place_once(
    bot: Bot, workspace: LocalWorkspace, people: WorkspaceClient, how: str
) -> None:
    gameday, thread, page_ts = start(bot, people)
    text, before = shown(workspace, page_ts)
    assert buttons(before) == [blocks.ACK, blocks.ESCALATE, blocks.DETECTED, blocks.CONTAINED, blocks.HANDOFF]

    ack_ts = later(page_ts, 90)
    if how == "reply":
        people.post("U1", "C1", "ack", thread_ts=thread, ts=ack_ts)
        reply = workspace.state.find_message("C1", ack_ts)
        assert reply is not None
        again = payloads.message_event(workspace.state, reply)
    else:
        people.react("U1", "C1", page_ts, "eyes", event_ts=ack_ts)
        page = workspace.state.find_message("C1", page_ts)
        assert page is not None
        again = payloads.reaction_added_event("U1", page, "eyes", ack_ts)
    wait_for(lambda: updates_of(workspace, page_ts), "the page's update")
    text, after = shown(workspace, page_ts)
    tta = Decimal(ack_ts) - Decimal(page_ts)
    assert buttons(after) == STILL_APPLY, after
    assert f"Acknowledged by <@U1> after {as_written(tta)}" in text == after[0]["text"]["text"], text
    assert "the login API answers 500" in text  # the page still says what it was about

    for _ in range(3):  # Slack (or a proxy) delivers the very same acknowledgement again, in new envelopes
        redeliver(bot, workspace, again)
    people.react("U2", "C1", page_ts, "eyes")  # bob's :eyes: comes after: the page is taken already
    people.post("U1", "C1", "ack", thread_ts=thread, ts=later(page_ts, 200))  # alice again, later
    settle(bot)
    assert (
        cast(GameDayRecord, bot.services.store.get(gameday)).status == "running"
    )  # refused as taken, not as over
    assert len(updates_of(workspace, page_ts)) == 1
    assert shown(workspace, page_ts)[0] == text
    acks = events(bot, gameday, "acknowledged")
    assert [(e.actor, Decimal(str(e.at))) for e in acks] == [("U1", Decimal(ack_ts))]
    people.slash("UFAC", "/sce", "abort done")


def test_a_button_ack_on_the_escalation_updates_the_page_and_the_escalation(
    bot: Bot, workspace: LocalWorkspace, people: WorkspaceClient
) -> None:
    gameday, _, page_ts = start(bot, people)
    workspace.click("U1", "C1", page_ts, blocks.ESCALATE, value="p0", block_id="page:p0")
    escalation = wait_for(lambda: events(bot, gameday, "escalated"), "the escalation")[0]
    escalation_ts = str(escalation.data["message_ts"])

    clicked = workspace.click(
        "U2",
        "C1",
        escalation_ts,
        blocks.ACK,
        value="p0",
        block_id="escalation:p0",
        action_ts=later(page_ts, 125),
    )
    tta = Decimal(str(clicked["action_ts"])) - Decimal(page_ts)
    assert tta == 125
    for ts in (page_ts, escalation_ts):
        wait_for(lambda ts=ts: updates_of(workspace, ts), f"the update of {ts}")
        text, after = shown(workspace, ts)
        assert buttons(after) == STILL_APPLY, (ts, after)
        assert f"Acknowledged by <@U2> after {as_written(tta)}" in text, text
    assert "<@U2>, it is yours now" in shown(workspace, escalation_ts)[0]
    settle(bot)
    assert [len(updates_of(workspace, ts)) for ts in (page_ts, escalation_ts)] == [1, 1]
    people.slash("UFAC", "/sce", "abort done")


def test_a_handoff_taken_over_loses_its_button_and_says_who_and_after_how_long(
    bot: Bot, workspace: LocalWorkspace, people: WorkspaceClient
) -> None:
    gameday, thread, page_ts = start(bot, people)
    asked = later(page_ts, 60)  # alice hands her open page to bob
    people.post("U1", "C1", "handing off to <@U2>", thread_ts=thread, ts=asked)
    # asked at once; its message's ts recorded once Slack has it
    handoff = wait_for(lambda: events(bot, gameday, "handoff_posted"), "the handoff's message")[0]
    handoff_ts = str(handoff.data["message_ts"])
    assert buttons(shown(workspace, handoff_ts)[1]) == [blocks.ACK]
    taken = later(page_ts, 105)
    people.post("U2", "C1", "ack", thread_ts=thread, ts=taken)
    wait_for(lambda: updates_of(workspace, handoff_ts), "the handoff's update")
    text, after = shown(workspace, handoff_ts)
    assert buttons(after) == [] and after[0]["block_id"] == "handoff:h1"
    assert f"Taken over by <@U2> after {as_written(Decimal(taken) - Decimal(asked))}" in text, text
    assert "acknowledge to take over" not in text
    people.slash("UFAC", "/sce", "abort done")


def test_a_failing_update_costs_the_acknowledgement_nothing(
    bot: Bot, workspace: LocalWorkspace, people: WorkspaceClient, caplog: pytest.LogCaptureFixture
) -> None:
    gameday, thread, page_ts = start(bot, people)
    workspace.web_api.faults.add("chat.update", 500, times=20)  # Slack refuses every update for a while
    with caplog.at_level(logging.WARNING):
        people.post("U1", "C1", "ack", thread_ts=thread, ts=later(page_ts, 90))
        wait_for(lambda: events(bot, gameday, "acknowledged"), "the acknowledgement")
        wait_for(
            lambda: any("acknowledged page p0" in m["text"] for m in workspace.messages("C1", thread)),
            "the thread's confirmation",
        )
        settle(bot)
    assert updates_of(workspace, page_ts) == []
    assert blocks.ACK in buttons(shown(workspace, page_ts)[1])  # unchanged: it could not be updated
    assert any("a page" in r.getMessage() for r in caplog.records), caplog.text


# -- reactions on notes ----------------------------------------------------------------------------
def test_gap_and_note_replies_get_a_reaction_once_and_reach_the_debrief(
    bot: Bot, workspace: LocalWorkspace, people: WorkspaceClient
) -> None:
    gameday, thread, _ = start(bot, people)
    gap = people.post("U2", "C1", "gap: the runbook has no rollback step", thread_ts=thread)["ts"]
    note = people.post("U1", "C1", "note: paged the database team too", thread_ts=thread)["ts"]
    chat = people.post("U1", "C1", "anyone seen the dashboards?", thread_ts=thread)["ts"]

    def reactions(ts: str) -> dict[str, list[str]]:
        message = workspace.state.find_message("C1", ts)
        assert message is not None
        return dict(message.reactions)

    wait_for(lambda: reactions(gap) and reactions(note), "both reactions")
    assert reactions(gap) == {"warning": ["UBOT"]}
    assert reactions(note) == {"memo": ["UBOT"]}
    gap_message = workspace.state.find_message("C1", gap)
    assert gap_message is not None
    redeliver(bot, workspace, payloads.message_event(workspace.state, gap_message))
    settle(bot)
    added = [c for c in workspace.calls if c.method == "reactions.add"]
    assert sorted(str(c.params["timestamp"]) for c in added) == sorted([gap, note])  # once each
    assert reactions(chat) == {}  # conversation is left alone

    people.slash("UFAC", "/sce", "end")
    record = bot.services.store.get(gameday)
    assert record is not None and record.status == "completed"
    debrief = build_debrief_for(record, bot.services.store.events(gameday))
    assert [(g.text, g.by) for g in debrief.gaps] == [("the runbook has no rollback step", "U2")]
    assert ("paged the database team too", "U1") in [(n.text, n.by) for n in debrief.notes]


def test_a_failing_reaction_is_logged_and_the_note_still_counts(
    bot: Bot, workspace: LocalWorkspace, people: WorkspaceClient, caplog: pytest.LogCaptureFixture
) -> None:
    gameday, thread, _ = start(bot, people)
    workspace.web_api.faults.add("reactions.add", 500)
    with caplog.at_level(logging.WARNING):
        gap = people.post("U2", "C1", "gap: no owner for the WAF rules", thread_ts=thread)["ts"]
        wait_for(lambda: events(bot, gameday, "note"), "the gap")
        settle(bot)
    assert [e.data["text"] for e in events(bot, gameday, "note")] == ["no owner for the WAF rules"]
    message = workspace.state.find_message("C1", gap)
    assert message is not None and message.reactions == {}
    assert any("a note's reaction" in r.getMessage() for r in caplog.records), caplog.text
    people.slash("UFAC", "/sce", "abort done")


def test_notes_beyond_the_reaction_budget_count_without_a_reaction_and_are_counted_as_skipped(
    bot: Bot, workspace: LocalWorkspace, people: WorkspaceClient
) -> None:
    """A burst of notes past the workspace's budget: the first ones get a reaction, the rest none (each
    counted as skipped), and every note reaches the timeline."""
    gameday, thread, _ = start(bot, people)
    bot.services.announcer.reactions = Budget(per_minute=1.0, burst=3)  # 3 at once, then one a minute
    skipped_before = skipped_reactions()
    sent = [people.post("U1", "C1", f"note: finding {n}", thread_ts=thread)["ts"] for n in range(7)]
    wait_for(lambda: len(events(bot, gameday, "note")) == 7, "seven notes")
    settle(bot)
    reacted = [ts for ts in sent if (m := workspace.state.find_message("C1", ts)) and m.reactions]
    assert len(reacted) == 3 and skipped_reactions() == skipped_before + 4
    # in the order Slack stamped them (events of one burst may be delivered, and so recorded, out of order)
    notes = sorted(events(bot, gameday, "note"), key=lambda e: e.at)
    assert [e.data["text"] for e in notes] == [f"finding {n}" for n in range(7)]
    people.slash("UFAC", "/sce", "abort done")


def skipped_reactions() -> float:
    value = REGISTRY.get_sample_value("sce_slack_calls_skipped_total", {"method": "reactions.add"})
    return value or 0.0


def test_the_reaction_budget_takes_a_burst_then_one_per_interval_and_none_is_no_budget() -> None:
    now = [100.0]
    budget = Budget(per_minute=6.0, burst=2, monotonic=lambda: now[0])  # one every 10 s
    assert [budget.take() for _ in range(3)] == [True, True, False]
    now[0] += 9.0
    assert budget.take() is False
    now[0] += 1.5
    assert [budget.take(), budget.take()] == [True, False]
    now[0] += 3600.0  # a long quiet spell refills only up to the burst
    assert [budget.take() for _ in range(3)] == [True, True, False]
    unlimited = Budget(None, monotonic=lambda: now[0])
    assert all(unlimited.take() for _ in range(1000))


@pytest.mark.parametrize("bad", ["0", "-5", "fast", "inf"])
def test_the_reaction_budget_setting_is_read_and_a_bad_one_refused(bad: str) -> None:
    assert Settings.from_env({}).reactions_per_minute == 50.0
    assert Settings.from_env({"SCE_REACTIONS_PER_MINUTE": "120"}).reactions_per_minute == 120.0
    with pytest.raises(SettingError, match="SCE_REACTIONS_PER_MINUTE"):
        Settings.from_env({"SCE_REACTIONS_PER_MINUTE": bad})

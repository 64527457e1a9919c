"""The outbox: a game day's messages are rows committed with the change that causes them, posted after
the commit by the real SlackAnnouncer to the local workspace over HTTP.

Slack answering 429 with Retry-After, a 500, a crash between posting and recording (the record's
transaction failing once, then the post's timer retried), a game day that ends before Slack takes its
last step's page: each message is posted once or, when it no longer applies, not at all, and the
timeline says which. The expected instants are worked out here, not read from the code under test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from core_harness import CoreHarness
from slack_harness import SlackGameDays

from bot.gameday.ports import GameDayRecord
from bot.gameday.running.poller import fire_due_timers
from bot.gameday.running.retries import RETRY_AFTER_SECONDS
from bot.gameday.running.timer_types import TimerKind, TimerState
from bot.gameday.timeline import Kind
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

SAY = "the login API answers 500"


def scenario(steps: list[dict[str, Any]], **more: Any) -> str:
    return json.dumps(
        {
            "id": "outbox",
            "title": "Outbox",
            "charter": {"objective": "o", "hypothesis": "h"},
            "guardrails": {"max_duration": "1h"},
            "oncall": {"primary": "@primary", "secondary": "@secondary", **more.pop("oncall", {})},
            "steps": steps,
            **more,
        }
    )


@pytest.fixture
def days(workspace: LocalWorkspace) -> Iterator[SlackGameDays]:
    days = SlackGameDays(workspace)
    yield days
    days.announcer.status_line.close()


def texts(days: SlackGameDays, gameday: str) -> list[str]:
    return [str(m.get("text") or "") for m in days.messages(gameday)]


def post_timers(days: SlackGameDays, gameday: str) -> list[tuple[str, TimerState, int]]:
    return [
        (row.timer.key, row.state, row.attempts)
        for row in days.store.timers.values()
        if row.timer.gameday_id == gameday and row.timer.kind == TimerKind.POST
    ]


def test_a_step_message_is_a_row_committed_with_its_step_and_posted_after_the_commit(
    days: SlackGameDays,
) -> None:
    others_went_through: list[bool] = []
    while_sent: list[list[tuple[TimerState, int]]] = []
    real_say = days.announcer.say

    def say(record: GameDayRecord, text: str, key: str) -> str:
        # committed already claimed by this thread: no poller could have taken it in between
        while_sent.append([(state, attempts) for _, state, attempts in post_timers(days, record.id)])

        # while Slack takes this post, the game day's lock is free: another transaction commits
        def meanwhile() -> None:
            with days.store.transaction(record.id) as tx:
                tx.append(Kind.NOTE, days.clock.now(), "U2", {"kind": "note", "text": "meanwhile"})

        other = threading.Thread(target=meanwhile)
        other.start()
        other.join(3)
        others_went_through.append(not other.is_alive())
        return real_say(record, text, key)

    days.announcer.say = say  # type: ignore[method-assign]  # the real call, watched
    gameday = days.start(scenario([{"at": 0, "say": SAY}]))
    days.advance(1)
    assert sum(SAY in t for t in texts(days, gameday)) == 1
    assert others_went_through == [True]  # Slack was called with the game day unlocked
    assert while_sent == [[(TimerState.FIRING, 1)]]
    assert [(state, attempts) for _, state, attempts in post_timers(days, gameday)] == [(TimerState.DONE, 1)]
    events = days.store.events(gameday)
    (said,) = [e for e in events if e.kind is Kind.SAID]
    message = next(m for m in days.messages(gameday) if SAY in str(m.get("text")))
    assert said.data["message_ts"] == message["ts"] and said.at == float(message["ts"])  # Slack's own time
    assert message["metadata"]["event_payload"]["key"] == f"{gameday}:step:0"  # tagged with its intent
    kinds = [e.kind for e in events]
    assert kinds.index(Kind.NOTE) < kinds.index(Kind.SAID)  # the note committed while Slack answered


@pytest.mark.parametrize("retry_after", [12, 40])
def test_a_rate_limited_post_waits_what_slack_asks_then_goes_out_once(
    days: SlackGameDays, people: WorkspaceClient, retry_after: int
) -> None:
    gameday = days.start(scenario([{"at": 10, "say": SAY}]))
    start = days.clock.now()
    people.fail_api("chat.postMessage", status=429, times=1, retry_after=retry_after)
    days.advance(10)
    (key, state, attempts) = post_timers(days, gameday)[0]
    assert (state, attempts) == (TimerState.PENDING, 1)  # refused once, still owed
    retry_at = next(r.timer for r in days.store.timers.values() if r.timer.key == key)
    assert retry_at.due_at == pytest.approx(start + 10 + max(retry_after, RETRY_AFTER_SECONDS))
    days.advance(retry_after - 1)
    assert SAY not in " ".join(texts(days, gameday))  # not before Slack said it could
    days.advance(6)
    assert sum(SAY in t for t in texts(days, gameday)) == 1


def test_slack_down_for_minutes_loses_nothing_and_posts_in_the_end(
    days: SlackGameDays, people: WorkspaceClient
) -> None:
    gameday = days.start(scenario([{"at": 5, "say": "first"}, {"at": 6, "say": "second"}]))
    people.fail_api("chat.postMessage", status=500, times=8)
    days.advance(400)
    said = texts(days, gameday)
    assert sum("first" in t for t in said) == 1 and sum("second" in t for t in said) == 1
    events = days.store.events(gameday)
    assert sorted(e.data["text"] for e in events if e.kind is Kind.SAID) == ["first", "second"]
    assert all(state is TimerState.DONE for _, state, _ in post_timers(days, gameday))


def test_a_crash_between_posting_and_recording_never_posts_twice(days: SlackGameDays) -> None:
    gameday = days.start(scenario([{"at": 1, "say": SAY}]))
    real = days.store.transaction
    failed: list[str] = []

    def dies_once_after_the_post(gameday_id: str) -> Any:
        if not failed and any(SAY in t for t in texts(days, gameday)):
            failed.append(gameday_id)
            raise ConnectionError("the process died before recording the post")
        return real(gameday_id)

    days.store.transaction = dies_once_after_the_post  # type: ignore[method-assign]
    days.advance(1)
    assert failed == [gameday]
    assert [e for e in days.store.events(gameday) if e.kind is Kind.SAID] == []  # not recorded yet
    days.store.transaction = real  # type: ignore[method-assign]
    days.advance(30)  # the post's timer is retried: it finds its message by its metadata
    assert sum(SAY in t for t in texts(days, gameday)) == 1
    (said,) = [e for e in days.store.events(gameday) if e.kind is Kind.SAID]
    message = next(m for m in days.messages(gameday) if SAY in str(m.get("text")))
    assert said.data["message_ts"] == message["ts"]
    assert [attempts for _, _, attempts in post_timers(days, gameday)] == [2]


def test_a_page_slack_never_took_before_the_end_is_not_posted_after_it(
    days: SlackGameDays, people: WorkspaceClient
) -> None:
    gameday = days.start(
        scenario([{"at": 1, "page": {"severity": "SEV-2", "summary": "s", "to": "@primary"}}])
    )
    people.fail_api("chat.postMessage", status=500, times=1)
    days.advance(2)  # the page is refused
    assert days.engine.end(gameday, "UFAC").ok
    days.advance(120)
    events = days.store.events(gameday)
    assert not [e for e in events if e.kind is Kind.PAGE_SENT]
    (dropped,) = [e for e in events if e.kind is Kind.POST_DROPPED]
    assert dropped.data["why"] == "the game day ended before Slack took it"
    assert not any("SEV-2" in t for t in texts(days, gameday))
    assert any("Debrief" in t for t in texts(days, gameday))  # the end's own posts still go out


def test_an_escalation_is_not_posted_once_its_page_is_acknowledged() -> None:
    h = CoreHarness()  # Slack's ts from the virtual clock: the escalation's instants are known
    gameday = h.engine.start(
        scenario(
            [{"at": 0, "page": {"severity": "SEV-2", "summary": "s", "to": "@primary"}}],
            oncall={"escalate_after": "1m"},
        ),
        "C1",
        "UFAC",
        {"primary": "U1", "secondary": "U2"},
    ).gameday_id
    assert gameday
    origin = h.clock.now()
    tries: list[float] = []
    real = h.announcer.escalation

    def refused(*args: Any) -> str:
        tries.append(h.clock.now())
        raise ConnectionError("Slack answers 500")

    h.announcer.escalation = refused  # type: ignore[method-assign,assignment]
    h.advance_to(origin + 63)  # due 60 s after the page: refused once, retried 5 s later
    assert [round(t - h.page_ts(gameday, "p0")) for t in tries] == [60]
    assert h.engine.acknowledge(gameday, "U1", h.clock.now(), "d-ack").ok
    h.announcer.escalation = real  # type: ignore[method-assign]  # Slack is back
    h.advance_to(origin + 120)
    events = h.store.events(gameday)
    assert not [e for e in events if e.kind is Kind.ESCALATED]
    assert not [p for p in h.announcer.posts if p[0] == "escalation"]
    assert [e.data["why"] for e in events if e.kind is Kind.POST_DROPPED] == [
        "the page was acknowledged before its escalation went out"
    ]


def test_a_message_committed_with_a_transaction_that_rolls_back_is_never_posted(days: SlackGameDays) -> None:
    gameday = days.start(scenario([{"at": 100, "say": SAY}]))
    with pytest.raises(RuntimeError), days.store.transaction(gameday) as tx:
        days.engine.injects.say(tx, "rolled-back", "never said")
        raise RuntimeError("the transaction fails after deciding to post")
    fire_due_timers(days.store, days.engine, days.clock.now() + 50)
    assert not any("never said" in t for t in texts(days, gameday))
    assert not [key for key, _, _ in post_timers(days, gameday) if key.endswith("rolled-back")]


def test_a_game_days_posts_go_out_in_the_order_they_were_committed_even_through_an_outage(
    days: SlackGameDays, people: WorkspaceClient
) -> None:
    said = ["one", "two", "three", "four"]
    gameday = days.start(scenario([{"at": 5 + i, "say": text} for i, text in enumerate(said)]))
    people.fail_api("chat.postMessage", status=500, times=3)  # "one" is refused 3 times
    days.advance(200)
    thread = [t for t in texts(days, gameday) if "[GAME DAY]* " in t]
    assert [next(s for s in said if t.endswith(f"* {s}")) for t in thread] == said
    attempts = {key.rsplit(":", 1)[-1]: n for key, _, n in post_timers(days, gameday)}
    assert attempts == {"0": 4, "1": 1, "2": 1, "3": 1}  # the later ones waited without an attempt


@pytest.mark.parametrize(("retry_after", "waited_in_call"), [(1, True), (2, True), (3, False), (30, False)])
def test_the_client_waits_out_a_short_retry_after_and_hands_a_long_one_back(
    workspace: LocalWorkspace, people: WorkspaceClient, retry_after: int, waited_in_call: bool
) -> None:
    import time

    from slack_sdk.errors import SlackApiError

    from bot.config import Settings
    from bot.gameday.running.retries import retry_delay
    from bot.runtime.service import slack_client

    client = slack_client(
        Settings(
            slack_bot_token=workspace.bot_token, slack_signing_secret="s", slack_api_url=workspace.api_url
        )
    )
    people.fail_api("chat.postMessage", status=429, times=1, retry_after=retry_after)
    began = time.monotonic()
    if waited_in_call:
        assert client.chat_postMessage(channel="C1", text="after a short wait")["ok"]
        assert time.monotonic() - began >= retry_after  # slept in the call, as Slack asked
        return
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="not now")
    assert time.monotonic() - began < 2  # the thread is not held for Slack's wait
    assert retry_delay(1, refused.value) == max(retry_after, RETRY_AFTER_SECONDS)  # the row waits instead


def test_a_post_whose_game_day_cannot_be_read_after_the_commit_goes_back_in_line(days: SlackGameDays) -> None:
    gameday = days.start(scenario([{"at": 1, "say": SAY}]))
    real = days.store.peek
    failed: list[str] = []

    def database_away_once(gameday_id: str) -> Any:
        if not failed:
            failed.append(gameday_id)
            raise ConnectionError("the database did not answer")
        return real(gameday_id)

    days.store.peek = database_away_once  # type: ignore[method-assign]
    days.advance(1)
    assert failed == [gameday]
    assert [state for _, state, _ in post_timers(days, gameday)] == [TimerState.PENDING]  # not left claimed
    days.advance(30)
    assert sum(SAY in t for t in texts(days, gameday)) == 1
    assert [state for _, state, _ in post_timers(days, gameday)] == [TimerState.DONE]

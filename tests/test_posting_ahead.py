"""A step's message goes out before the step takes its game day's lock, and the transaction keeps it
only if it still says what the step says then: otherwise the post is withdrawn (bot/gameday/posting)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from core_harness import CoreHarness, scenario_text
from databases import STORES, make_store
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.gameday.ports import GameDayRecord
from bot.gameday.state import fold
from bot.gameday.timeline import Kind
from bot.slack.announcer import SlackAnnouncer
from bot.workspace.server import LocalWorkspace

ROSTER = {"primary": "U1", "secondary": "U2"}
SAY_AT, HANDOFF_AT = 60, 8 * 60  # pager-stress: step 1 says a log excerpt at 1m, step 3 hands off at 8m


@pytest.fixture(params=STORES)
def h(request: pytest.FixtureRequest, tmp_path: Path) -> CoreHarness:
    return CoreHarness(make_store(request.param, tmp_path))


def start(h: CoreHarness) -> tuple[str, float]:
    outcome = h.engine.start(scenario_text(), "C1", "UFAC", ROSTER)
    assert outcome.ok and outcome.gameday_id
    return outcome.gameday_id, h.clock.now()


def elsewhere(operation: Callable[[], bool]) -> None:
    """An operation from another thread (a command, a click), run to its end."""
    done: list[bool] = []
    other = threading.Thread(target=lambda: done.append(operation()))
    other.start()
    other.join(timeout=10)
    assert done == [True]


def test_a_say_step_posts_while_its_game_day_is_not_locked(h: CoreHarness) -> None:
    gd, t0 = start(h)
    original = h.announcer.say
    lock_free_at_post: list[bool] = []

    def say(record: GameDayRecord, text: str, key: str) -> str:
        def lock_and_leave() -> None:
            with h.store.transaction(gd):
                pass

        other = threading.Thread(target=lock_and_leave, daemon=True)
        other.start()
        other.join(timeout=5)  # another writer gets the game day while the step's message goes out
        lock_free_at_post.append(not other.is_alive())
        return original(record, text, key)

    h.announcer.say = say  # type: ignore[method-assign]  # a test double for this one call
    h.advance_to(t0 + SAY_AT + 1)
    said = [e for e in h.store.events(gd) if e.kind is Kind.SAID]
    assert lock_free_at_post == [True]
    assert len(said) == 1 and said[0].data["step"] == 1
    assert said[0].data["message_ts"] == h.announcer.keyed[f"{gd}:step:1"]
    assert h.announcer.withdrawn == []


def test_a_step_posted_as_its_game_day_is_aborted_is_withdrawn(h: CoreHarness) -> None:
    gd, t0 = start(h)
    original = h.announcer.say
    posted: list[str] = []

    def say_then_abort(record: GameDayRecord, text: str, key: str) -> str:
        ts = original(record, text, key)
        posted.append(ts)
        if len(posted) == 1:  # the facilitator's abort commits between the post and the step's commit
            elsewhere(lambda: h.engine.abort(gd, "UFAC", "enough").ok)
        return ts

    h.announcer.say = say_then_abort  # type: ignore[method-assign]  # a test double for this one call
    h.advance_to(t0 + SAY_AT + 1)
    events = h.store.events(gd)
    assert fold(events).status.is_over
    assert not [e for e in events if e.kind is Kind.SAID or e.kind is Kind.STEP_RAN and e.data["step"] == 1]
    assert posted and h.announcer.withdrawn == [(posted[0], None)]
    assert f"{gd}:step:1" not in h.announcer.keyed


def test_a_handoff_step_that_changed_before_its_commit_is_posted_again(h: CoreHarness) -> None:
    gd, t0 = start(h)
    original = h.announcer.handoff
    calls: list[tuple[str, str, str]] = []

    def handoff(record: GameDayRecord, handoff_id: str, from_user: str | None, to_user: str, key: str) -> str:
        ts = original(record, handoff_id, from_user, to_user, key)
        calls.append((handoff_id, key, ts))
        if len(calls) == 1:  # someone hands off by hand while the step's own handoff is on its way
            elsewhere(lambda: h.engine.request_handoff(gd, "U3", "U1", h.clock.now(), h.delivery()).ok)
        return ts

    h.announcer.handoff = handoff  # type: ignore[method-assign]  # a test double for this one call
    h.advance_to(t0 + HANDOFF_AT + 1)
    handoffs = fold(h.store.events(gd)).handoffs
    assert [(x.handoff_id, x.from_user, x.to_user) for x in handoffs] == [
        ("h1", "U3", "U1"),
        ("h2", "U1", "U2"),
    ]
    ahead, manual, kept = calls
    assert ahead[0] == "h1" and ahead[1] == kept[1] == f"{gd}:step:3" and kept[0] == "h2"
    assert h.announcer.withdrawn == [(ahead[2], None)]
    requested = [e for e in h.store.events(gd) if e.kind is Kind.HANDOFF_REQUESTED]
    assert [e.data["message_ts"] for e in requested] == [manual[2], kept[2]]


def test_a_withdrawn_post_is_deleted_from_the_thread(workspace: LocalWorkspace) -> None:
    client = WebClient(token=workspace.bot_token, base_url=workspace.api_url)
    thread = client.chat_postMessage(channel="C1", text="kickoff")["ts"]
    record = GameDayRecord("gd1", "s", "", "", "C1", "UFAC", {}, 0.0, thread_ts=thread)
    announcer = SlackAnnouncer(client)
    kept = announcer.say(record, "kept", "gd1:step:0")
    gone = announcer.say(record, "withdrawn", "gd1:step:1")
    announcer.withdraw(record, gone)
    assert [m["ts"] for m in workspace.messages("C1", thread_ts=thread)] == [thread, kept]
    assert announcer.find_posted(record, "gd1:step:1") is None  # a replay posts it afresh
    person = workspace.post("U1", "C1", "a person's message", thread_ts=thread)
    with pytest.raises(SlackApiError) as refused:
        client.chat_delete(channel="C1", ts=person["ts"])
    assert refused.value.response["error"] == "cant_delete_message"


def test_a_click_on_a_page_posted_ahead_waits_for_the_page_to_commit(h: CoreHarness) -> None:
    gd, t0 = start(h)
    in_flight = h.engine.injects.in_flight
    original = in_flight.add
    found: list[tuple[str, str] | None] = []
    clicks: list[threading.Thread] = []

    def posted(gameday_id: str, channel: str, ts: str) -> None:
        original(gameday_id, channel, ts)
        if not clicks:  # the responder clicks Acknowledge on the page before it is on the timeline
            click = threading.Thread(target=lambda: found.append(h.engine.find_target(channel, ts)))
            click.start()
            clicks.append(click)
            click.join(timeout=0.2)
            assert click.is_alive()  # still waiting: the page's transaction has not even begun

    in_flight.add = posted  # type: ignore[method-assign]  # a test double for this one call
    h.advance_to(t0 + 1)
    clicks[0].join(timeout=10)
    assert found == [(gd, "p0")]
    assert h.engine.find_target("C1", "1.000000") is None  # no message in flight: no wait, no target


def test_an_ack_written_while_its_page_is_in_flight_acknowledges_that_page(h: CoreHarness) -> None:
    gd, t0 = start(h)
    in_flight = h.engine.injects.in_flight
    original = in_flight.add
    acks: list[bool] = []
    replies: list[threading.Thread] = []

    def posted(gameday_id: str, channel: str, ts: str) -> None:
        original(gameday_id, channel, ts)
        if not replies:  # "ack" in the thread, written by the inbox before the page has committed
            at = float(ts) + 1
            reply = threading.Thread(target=lambda: acks.append(h.engine.acknowledge(gd, "U1", at, "Ev1").ok))
            reply.start()
            replies.append(reply)
            reply.join(timeout=0.2)
            assert reply.is_alive()

    in_flight.add = posted  # type: ignore[method-assign]  # a test double for this one call
    h.advance_to(t0 + 1)
    replies[0].join(timeout=10)
    assert acks == [True]
    page = fold(h.store.events(gd)).pages["p0"]
    assert page.acknowledged_at is not None and abs(page.acknowledged_at - page.paged_at - 1) < 1e-6


def test_with_replicas_a_page_posts_inside_its_lock_and_a_say_still_ahead(h: CoreHarness) -> None:
    h.engine.shared = True  # another replica's "ack" could not wait for a page in flight here
    gd, t0 = start(h)
    lock_free: dict[str, bool] = {}

    def probe(kind: str, post: Callable[..., str]) -> Callable[..., str]:
        def posting(*args: object) -> str:
            def lock_and_leave() -> None:
                with h.store.transaction(gd):
                    pass

            other = threading.Thread(target=lock_and_leave, daemon=True)
            other.start()
            other.join(timeout=1)
            lock_free.setdefault(kind, not other.is_alive())
            return post(*args)

        return posting

    # a test double for this one call:
    h.announcer.page = probe("page", h.announcer.page)  # type: ignore[method-assign]
    # a test double for this one call:
    h.announcer.say = probe("say", h.announcer.say)  # type: ignore[method-assign]
    h.advance_to(t0 + SAY_AT + 1)
    assert lock_free == {"page": False, "say": True}
    assert fold(h.store.events(gd)).pages["p0"].paged_at > 0


def test_abort_never_waits_for_a_post_in_flight_while_a_note_does(h: CoreHarness) -> None:
    gd, t0 = start(h)
    in_flight = h.engine.injects.in_flight
    in_flight.add(gd, "C1", "1800000001.000001")  # a step's post whose transaction has not ended (stuck)
    noted: list[bool] = []
    note = threading.Thread(
        target=lambda: noted.append(h.engine.add_note(gd, "note", "n", "U1", t0 + 1, "Ev1").ok)
    )
    note.start()
    note.join(timeout=0.3)
    assert note.is_alive()  # a note may answer that post: it waits for it
    aborted: list[bool] = []
    abort = threading.Thread(target=lambda: aborted.append(h.engine.abort(gd, "UFAC", "now").ok))
    abort.start()
    abort.join(timeout=5)  # the wait it skips is 10 s
    assert aborted == [True] and fold(h.store.events(gd)).status.is_over
    in_flight.end([("C1", "1800000001.000001")])
    note.join(timeout=10)
    assert noted == [True]  # a note written before the end still counts (accepted after the end)

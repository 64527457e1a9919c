"""A person's reply in a known game-day thread is taken at the door; everything else still goes to Bolt.

The door's own path must do exactly what the message listener does, and nothing for what the listener
would not take: these tests hand it the messages a workspace really carries (a person's reply, the bot's
own post, another app's, a broadcast reply, an edit, a top-level post, a thread no game day owns) and
check the same replies, once each, through signed HTTP.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_security_entry as entry
from bot_process import SIGNING_SECRET
from databases import POSTGRES_URL, fresh_postgres_url
from inprocess_bot import Bot, bot_on

from bot.gameday.ports import GameDayRecord
from bot.gameday.timeline import Kind
from bot.runtime.replay_guard import MemoryReplayGuard
from bot.runtime.server import SlackDoor
from bot.slack.app import create_app
from bot.slack.reply_door import SelfIds, reply_taker
from bot.workspace import payloads
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace
from bot.workspace.state import BOT_ID, BOT_USER_ID, Message
from storage.database import make_engine, migrate
from storage.sql_store import SqlStore


@pytest.fixture
def bot(workspace: LocalWorkspace, tmp_path: Path) -> Iterator[Bot]:
    with bot_on(workspace, tmp_path) as running:
        yield running


def notes(bot: Bot, gameday: str) -> list[str]:
    return [str(e.data.get("text")) for e in bot.services.store.events(gameday) if e.kind.value == "note"]


def reply(
    channel: str, thread: str, user: str = "U1", text: str = "note: at the door", **more: Any
) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": f"{time.time():.6f}",
        "thread_ts": thread,
        **more,
    }


def test_only_a_persons_reply_in_a_known_thread_is_taken_at_the_door(
    bot: Bot, people: WorkspaceClient
) -> None:
    gameday, thread = entry.start_tabletop(bot, people)
    ids = SelfIds()
    take = reply_taker(bot.services, ids)
    assert not take(reply("C1", thread))  # Bolt has not named the bot yet here: Bolt's turn
    ids.bot_id, ids.bot_user_id = BOT_ID, BOT_USER_ID
    left_to_bolt = {
        "the bot's own post": reply("C1", thread, BOT_USER_ID, bot_id=BOT_ID),
        "the bot's user without its bot id": reply("C1", thread, BOT_USER_ID),
        "another app's post": reply("C1", thread, "U1", bot_id="B0OTHER"),
        "an app's message": reply("C1", thread, "U1", subtype="bot_message"),
        "a reply also sent to the channel": reply("C1", thread, subtype="thread_broadcast"),
        "an edit": reply("C1", thread, subtype="message_changed"),
        "a top-level post": {**reply("C1", thread), "ts": thread},
        "no thread": {k: v for k, v in reply("C1", thread).items() if k != "thread_ts"},
        "a thread no game day owns, or not yet looked up": reply("C1", "1700000000.999999"),
        "another channel's thread of the same ts": reply("C9", thread),
        "no user": {k: v for k, v in reply("C1", thread).items() if k != "user"},
        "a user that is no string": reply("C1", thread, user=["U1"]),  # type: ignore[arg-type]
        "a ts that is no time": {**reply("C1", thread), "ts": "yesterday"},
        "a reaction": {**reply("C1", thread), "type": "reaction_added"},
    }
    assert {name: take(event) for name, event in left_to_bolt.items()} == dict.fromkeys(left_to_bolt, False)
    assert take(reply("C1", thread, text="note: the door's own"))
    assert take(reply("C1", thread, text="thanks all"))  # in a game-day thread, no reply: nothing to do
    assert bot.services.inbox.drain(10)
    assert notes(bot, gameday) == ["the door's own"]
    people.slash("UFAC", "/sce", "abort done")


def test_replies_over_signed_http_count_once_each_whichever_way_they_went(
    bot: Bot, people: WorkspaceClient, workspace: LocalWorkspace
) -> None:
    """The first reply in a thread goes through Bolt (which looks the thread up), the rest are taken at the
    door; a replay of either, and the bot's own post in the thread, change nothing."""
    gameday, thread = entry.start_tabletop(bot, people)
    sent = []
    for i in range(5):
        body, kind = entry.event_body(workspace, "U2", thread, f"note: reply {i}")
        headers = entry.signed(body)
        assert entry.post(bot.url, body, kind, headers).status_code == 200
        sent.append((body, kind, headers))
        entry.wait_until(lambda: len(notes(bot, gameday)) > len(sent) - 1, f"reply {i}")
    for body, kind, headers in sent:  # replays: answered 200, no effect
        assert (entry.post(bot.url, body, kind, headers).status_code) == 200
    own = Message(
        "C1", f"{time.time():.6f}", BOT_USER_ID, "note: posing as a reply", None, thread, BOT_ID, None
    )
    posed = json.dumps(payloads.event_callback(workspace.state, payloads.message_event(workspace.state, own)))
    assert (
        entry.post(bot.url, posed.encode(), "application/json", entry.signed(posed.encode())).status_code
        == 200
    )
    assert bot.services.inbox.drain(10)
    time.sleep(0.2)
    assert notes(bot, gameday) == [f"reply {i}" for i in range(5)]
    people.slash("UFAC", "/sce", "abort done")


@pytest.mark.parametrize("backend", ["sqlite"] + (["postgres"] if POSTGRES_URL else []))
def test_a_kickoff_recorded_here_is_a_known_thread_at_once(backend: str, tmp_path: Path) -> None:
    """The process that posts a kickoff knows its thread from that commit on; another process (a
    replica) learns it from its first look-up, and a thread no game day owns is never remembered."""
    url = f"sqlite:///{tmp_path / 'sce.db'}" if backend == "sqlite" else fresh_postgres_url()
    engine = make_engine(url)
    migrate(engine)
    here, replica = SqlStore(engine), SqlStore(engine)
    here.create(GameDayRecord("gd-1", "s", "", "h", "C1", "UFAC", {}, 1.0))
    with here.transaction("gd-1") as tx:
        tx.append(Kind.NOTE, 1.0, "U1", {"text": "before the kickoff"})
    assert here.known_thread("C1", "1700000000.000100") is None
    with here.transaction("gd-1") as tx:
        tx.record.thread_ts = "1700000000.000100"
    assert here.known_thread("C1", "1700000000.000100") == "gd-1"
    assert here.known_thread("C2", "1700000000.000100") is None
    assert replica.known_thread("C1", "1700000000.000100") is None
    assert replica.find_by_thread("C1", "1700000000.000100") == "gd-1"
    assert replica.known_thread("C1", "1700000000.000100") == "gd-1"
    assert replica.find_by_thread("C1", "1700000000.999999") is None
    assert replica.known_thread("C1", "1700000000.999999") is None
    engine.dispose()


def test_a_failure_taking_a_reply_at_the_door_leaves_it_to_bolt_not_a_500(
    bot: Bot, people: WorkspaceClient, workspace: LocalWorkspace, caplog: pytest.LogCaptureFixture
) -> None:
    gameday, thread = entry.start_tabletop(bot, people)

    def failing(event: dict[str, Any]) -> bool:
        raise RuntimeError("the door's own path broke")

    door = SlackDoor(create_app(bot.services), SIGNING_SECRET, MemoryReplayGuard(), take_reply=failing)
    body, kind = entry.event_body(workspace, "U2", thread, "note: through Bolt after all")
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in entry.signed(body).items()}
    environ = {
        "REQUEST_METHOD": "POST",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": "/slack/events",
        "CONTENT_TYPE": kind,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **headers,
    }
    statuses: list[str] = []
    b"".join(door(environ, lambda status, _headers, *_: statuses.append(status)))  # type: ignore[arg-type]
    assert statuses == ["200 OK"]
    assert "could not be taken at the door" in caplog.text
    entry.wait_until(lambda: notes(bot, gameday) == ["through Bolt after all"], "the note, through Bolt")
    people.slash("UFAC", "/sce", "abort done")

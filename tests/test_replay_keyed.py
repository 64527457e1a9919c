"""Messages and reactions: their replay guard is the replica's own, their one effect keyed by what they are.

On PostgreSQL a signed slash command or click waits for the guard's shared table before its ack, so a
replay sent to another replica is refused there (``test_security_entry``). A thread reply or a reaction
does not wait: its effect is recorded with the message or reaction itself as its key, in the game day's
locked transaction, so the same signed request taken by two replicas at once still counts once. These
tests attack that: the same signed replies and reaction sent to both replicas together.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import test_security_entry as entry
from databases import POSTGRES_URL, fresh_postgres_url

from bot.runtime.replay_guard import request_key
from bot.slack.inert import door_class
from bot.workspace import payloads
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace
from bot.workspace.state import Message
from storage.database import make_engine, migrate
from storage.replay_store import WrittenBehindReplayGuard

THREAD = "1700000000.000100"


def event(kind: str, **fields: object) -> bytes:
    return json.dumps({"type": "event_callback", "event": {"type": kind, **fields}}).encode()


def test_the_door_sorts_each_signed_request_before_its_replay_guard() -> None:
    """Only a message or a reaction may skip the shared table; anything else, or anything unclear, waits."""
    alerts = {"CALERT"}.copy
    keyed = {
        "a person's reply": event("message", channel="C1", user="U1", text="gap: x", thread_ts=THREAD),
        "a person's post": event("message", channel="C1", user="U1", text="hello"),
        "an app's post in the alert channel": event("message", channel="CALERT", bot_id="B1", text="FIRING"),
        "a reaction": event("reaction_added", user="U1", reaction="eyes", item={"type": "message"}),
        "padded": b"  \n" + event("message", channel="C1", user="U1", text="x"),
    }
    inert = {
        "an edit": event("message", subtype="message_changed", channel="C1"),
        "an app's post elsewhere": event("message", channel="C1", bot_id="B1", text="gap: not a person"),
    }
    command = urlencode({"command": "/sce", "text": '{"type": "event_callback"}', "trigger_id": "1"})
    checked = {
        "a slash command": command.encode(),
        "a click": urlencode({"payload": json.dumps({"type": "block_actions", "trigger_id": "2"})}).encode(),
        "a new channel (it can halt every game day)": event("channel_created", channel={"name": "inc-1"}),
        "the home tab": event("app_home_opened", user="U1"),
        "a reaction taken away": event("reaction_removed", user="U1", reaction="eyes"),
        "a URL check": json.dumps({"type": "url_verification", "challenge": "x"}).encode(),
        "an event that is no object": json.dumps({"type": "event_callback", "event": "message"}).encode(),
        "an event with no type": json.dumps({"type": "event_callback", "event": {"text": "x"}}).encode(),
        "a list": b'[{"type": "event_callback"}]',
        "not JSON": b"{not json",
        "no body": b"",
    }
    assert {name: door_class(body, alerts) for name, body in keyed.items()} == dict.fromkeys(keyed, "keyed")
    assert {name: door_class(body, alerts) for name, body in inert.items()} == dict.fromkeys(inert, "inert")
    found = {name: door_class(body, alerts) for name, body in checked.items()}
    assert found == dict.fromkeys(checked, "checked")


@pytest.mark.skipif(not POSTGRES_URL, reason="replicas share PostgreSQL; SQLite is one process")
def test_replies_and_a_reaction_taken_by_two_replicas_at_once_count_once(
    workspace: LocalWorkspace, people: WorkspaceClient
) -> None:
    with entry.two_replicas(workspace) as (first, second):
        gameday, thread = entry.start_tabletop(first, people)
        page = entry.wait_until(
            lambda: [m for m in workspace.state.messages["C1"].values() if "you are paged" in m.text],
            "the page",
        )[0]
        # a reaction counts on a page whose message is recorded (the outbox records it after the post)
        entry.wait_until(lambda: first.services.store.find_target("C1", page.ts), "the page's record")
        texts = [f"replayed gap {i}" for i in range(6)]
        bodies = [entry.event_body(workspace, "U1", thread, f"gap: {text}") for text in texts]
        reaction = payloads.reaction_added_event("U1", page, "eyes", f"{time.time():.6f}")
        bodies.append(
            (json.dumps(payloads.event_callback(workspace.state, reaction)).encode(), "application/json")
        )
        sends = [
            (f"{bot.base}/slack/events", body, kind, headers)
            for body, kind in bodies
            for headers in [entry.signed(body)]
            for bot in (first, second)
        ]
        with ThreadPoolExecutor(len(sends)) as pool:
            answers = list(pool.map(lambda send: entry.post(*send).status_code, sends))
        assert answers == [200] * len(sends)

        def recorded(kind: str) -> list[str]:
            return [
                str(e.data.get("text", e.actor))
                for e in first.services.store.events(gameday)
                if e.kind.value == kind
            ]

        entry.wait_until(lambda: len(recorded("note")) >= len(texts), "the notes", timeout=20)
        entry.wait_until(lambda: recorded("acknowledged"), "the acknowledgement", timeout=20)
        assert first.services.inbox.drain(10) and second.services.inbox.drain(10)
        assert sorted(recorded("note")) == texts
        assert recorded("acknowledged") == ["U1"]
        people.slash("UFAC", "/sce", "abort done")


@pytest.mark.skipif(not POSTGRES_URL, reason="the shared table's insert on PostgreSQL")
def test_on_postgresql_the_replicas_own_guard_writes_its_keys_and_a_restart_reads_them_back() -> None:
    engine = make_engine(fresh_postgres_url())
    migrate(engine)
    now = time.time()
    one, other = WrittenBehindReplayGuard(engine), WrittenBehindReplayGuard(engine)
    both, mine = request_key("slack", "v0=both"), request_key("slack", "v0=mine")
    assert one.first_time(both, now + 301, now) and other.first_time(both, now + 301, now)
    assert one.first_time(mine, now + 301, now)
    assert not one.first_time(mine, now + 301, now + 1)
    one.close()
    other.close()  # the same key from two replicas: written once, no error
    assert entry.written(engine, both) and entry.written(engine, mine)
    after = WrittenBehindReplayGuard(engine)
    assert not after.first_time(both, now + 301, now + 5)
    assert not after.first_time(mine, now + 301, now + 5)
    assert after.first_time(request_key("slack", "v0=new"), now + 301, now + 5)
    after.close()
    engine.dispose()


def test_the_workspaces_own_bodies_are_sorted_the_same(workspace: LocalWorkspace) -> None:
    """The bodies above are the workspace's own (the local Slack builds them as Slack documents them)."""
    reply = Message("C1", f"{time.time():.6f}", "U1", "gap: x", None, THREAD, None, None)
    body = json.dumps(
        payloads.event_callback(workspace.state, payloads.message_event(workspace.state, reply))
    )
    assert door_class(body.encode()) == "keyed"
    reaction = payloads.reaction_added_event("U1", reply, "eyes", f"{time.time():.6f}")
    assert door_class(json.dumps(payloads.event_callback(workspace.state, reaction)).encode()) == "keyed"
    created = payloads.channel_created_event(workspace.state.channels["C1"], "U1", int(time.time()), "1.0")
    assert door_class(json.dumps(payloads.event_callback(workspace.state, created)).encode()) == "checked"

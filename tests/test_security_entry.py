"""Every way in authenticates: the HTTP port in HTTP mode and in Socket Mode, Slack's and the alert hooks'.

In HTTP mode every Slack entry (slash command, button, event, message shortcut) refuses an unsigned, a
wrongly signed, a stale, a future-dated and an oversized request, and a signed request sent again within
its 5-minute window has no second effect, also on another replica. In Socket Mode the HTTP port takes no
Slack payload however it is signed. The bot runs in this process over real HTTP against the local
workspace; one test starts `sce serve` itself to find every port the process listens on.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

import pytest
import requests
from bot_process import ROOT, SIGNING_SECRET, BotProcess
from databases import POSTGRES_URL, fresh_postgres_url
from inprocess_bot import HOOK_SECRET, Bot, bot_on, run_bot
from slack_bolt.request import BoltRequest
from sqlalchemy import event, select

from bot.gameday.ports import GameDayRecord
from bot.integrations.hooks import signature as hook_signature
from bot.runtime.replay_guard import MemoryReplayGuard, request_key
from bot.slack import blocks
from bot.slack.app import create_app
from bot.workspace import payloads
from bot.workspace.client import WorkspaceClient
from bot.workspace.delivery import sign
from bot.workspace.server import LocalWorkspace
from bot.workspace.state import Message
from storage.database import make_engine, migrate
from storage.replay_store import SEEN_TABLE, SqlReplayGuard, WrittenBehindReplayGuard

NOWHERE = "http://127.0.0.1:9/unused"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def ws(workspace: LocalWorkspace) -> LocalWorkspace:
    """conftest's local workspace: alice (U1), bob (U2) and carol (UFAC) in #gameday (C1)."""
    return workspace


@pytest.fixture
def bot(ws: LocalWorkspace, tmp_path: Path) -> Iterator[Bot]:
    with bot_on(ws, tmp_path) as running:
        yield running


# --- requests as Slack would sign them ------------------------------------------------------------------


def signed(body: bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": sign(secret, stamp, body)}


def slash_body(ws: LocalWorkspace, user: str, text: str, response_url: str = NOWHERE) -> tuple[bytes, str]:
    state = ws.state
    form = payloads.slash_command_form(
        state.users[user], state.channels["C1"], "/sce", text, response_url, payloads.new_trigger_id()
    )
    return urlencode(form).encode(), FORM


def click_body(ws: LocalWorkspace, user: str, message: Message, action: str, value: str) -> tuple[bytes, str]:
    state = ws.state
    act = payloads.block_action(message, action, f"{time.time():.6f}", value, None, None)
    payload = payloads.block_actions_payload(
        state, state.users[user], message, act, NOWHERE, payloads.new_trigger_id()
    )
    return urlencode({"payload": json.dumps(payload)}).encode(), FORM


def event_body(ws: LocalWorkspace, user: str, thread: str, text: str) -> tuple[bytes, str]:
    state = ws.state
    reply = Message("C1", f"{time.time():.6f}", user, text, None, thread, None, None)
    return json.dumps(payloads.event_callback(state, payloads.message_event(state, reply))).encode(), (
        "application/json"
    )


def shortcut_body(ws: LocalWorkspace, user: str, message: Message) -> tuple[bytes, str]:
    state = ws.state
    payload = payloads.message_shortcut_payload(
        state,
        state.users[user],
        message,
        blocks.ADD_TO_DEBRIEF,
        f"{time.time():.6f}",
        NOWHERE,
        payloads.new_trigger_id(),
    )
    return urlencode({"payload": json.dumps(payload)}).encode(), FORM


def post(url: str, body: bytes, content_type: str, headers: dict[str, str]) -> requests.Response:
    return requests.post(url, data=body, headers={**headers, "Content-Type": content_type}, timeout=10)


def wait_until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def start_tabletop(bot: Bot, people: WorkspaceClient) -> tuple[str, str]:
    answer = people.slash("UFAC", "/sce", "start tabletop-live-logs oncall=<@U1> secondary=<@U2>")
    assert str(answer.get("text", "")).startswith("Starting"), answer
    record = wait_until(lambda: bot.services.store.active_in_channel("C1"), "the game day")[-1]
    thread = wait_until(
        lambda: cast(GameDayRecord, bot.services.store.get(record.id)).thread_ts, "its kickoff message"
    )
    return record.id, thread


EFFECTS = ("note", "paused", "resumed", "role_assigned", "detected", "contained")


def effects(bot: Bot, gameday: str) -> list[str]:
    """What a request from a person could have added (the game day's own steps go on meanwhile)."""
    return [e.kind.value for e in bot.services.store.events(gameday) if e.kind.value in EFFECTS]


def status(bot: Bot, gameday: str) -> str:
    record = bot.services.store.get(gameday)
    assert record is not None
    return record.status


# --- HTTP mode --------------------------------------------------------------------------------------------


def forgeries(body: bytes) -> dict[str, dict[str, str]]:
    now = int(time.time())
    good = signed(body, now)
    return {
        "unsigned": {},
        "wrong secret": signed(body, now, "not-the-signing-secret"),
        "stale (5 minutes 5 s old)": signed(body, now - 305),
        "future (5 minutes 5 s ahead)": signed(body, now + 305),
        "signature of another body": signed(body + b"&x=1", now),
        "signature only": {"X-Slack-Signature": good["X-Slack-Signature"]},
        "timestamp only": {"X-Slack-Request-Timestamp": str(now)},
        "timestamp not a number": {**good, "X-Slack-Request-Timestamp": "1e9"},
        "timestamp with a sign": {**good, "X-Slack-Request-Timestamp": f"+{now}"},
        "v1 instead of v0": {**good, "X-Slack-Signature": good["X-Slack-Signature"].replace("v0=", "v1=")},
        "signature in upper case": {**good, "X-Slack-Signature": good["X-Slack-Signature"].upper()},
        "empty signature": {**good, "X-Slack-Signature": ""},
    }


def test_every_slack_entry_refuses_forged_stale_and_oversized_requests_in_http_mode(
    bot: Bot, ws: LocalWorkspace, people: WorkspaceClient
) -> None:
    gameday, thread = start_tabletop(bot, people)
    kickoff = ws.state.find_message("C1", thread)
    assert kickoff is not None
    entries = {
        "slash command": slash_body(ws, "UFAC", "pause"),
        "button": click_body(ws, "UFAC", kickoff, blocks.PAUSE, gameday),
        "event": event_body(ws, "U1", thread, "gap: forged"),
        "message shortcut": shortcut_body(ws, "U1", kickoff),
    }
    before = effects(bot, gameday)
    url = f"{bot.base}/slack/events"
    refused: dict[tuple[str, str], int] = {}
    for entry, (body, content_type) in entries.items():
        for forgery, headers in forgeries(body).items():
            refused[(entry, forgery)] = post(url, body, content_type, headers).status_code
        huge = body + b"&pad=" + b"x" * (1024 * 1024)
        refused[(entry, "over 1 MiB, signed")] = post(url, huge, content_type, signed(huge)).status_code
    expected = {key: 413 if key[1].startswith("over 1 MiB") else 401 for key in refused}
    assert refused == expected
    assert requests.get(url, timeout=10).status_code == 405
    assert effects(bot, gameday) == before == []
    assert status(bot, gameday) == "running"

    # the same bodies, signed, are taken: the refusals were the signatures
    body, content_type = entries["slash command"]
    assert post(url, body, content_type, signed(body)).status_code == 200
    wait_until(lambda: status(bot, gameday) == "paused", "the signed pause")


def test_a_signed_request_sent_again_within_its_window_has_no_second_effect(
    bot: Bot, ws: LocalWorkspace, people: WorkspaceClient
) -> None:
    url = f"{bot.base}/slack/events"
    start_body = slash_body(ws, "UFAC", "start tabletop-live-logs oncall=<@U1> secondary=<@U2>")
    start_headers = signed(start_body[0])
    assert post(url, *start_body, start_headers).status_code == 200
    gameday = wait_until(lambda: bot.services.store.active_in_channel("C1"), "the game day")[-1].id
    thread = wait_until(lambda: cast(GameDayRecord, bot.services.store.get(gameday)).thread_ts, "its kickoff")
    kickoff = ws.state.find_message("C1", thread)
    assert kickoff is not None

    # a slash command and a button, each replayed after the facilitator undid it
    for name, (body, content_type) in {
        "slash pause": slash_body(ws, "UFAC", "pause"),
        "pause button": click_body(ws, "UFAC", kickoff, blocks.PAUSE, gameday),
    }.items():
        headers = signed(body)
        assert post(url, body, content_type, headers).status_code == 200, name
        wait_until(lambda: status(bot, gameday) == "paused", f"{name} to pause")
        people.slash("UFAC", "/sce", "resume")
        wait_until(lambda: status(bot, gameday) == "running", "the resume")
        for retry in ({}, {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}):
            again = post(url, body, content_type, {**headers, **retry})
            assert (again.status_code, again.text) == (200, ""), name
        time.sleep(0.3)
        assert status(bot, gameday) == "running", f"{name} sent again paused the game day again"

    # an event and a message shortcut: one note each
    gap = event_body(ws, "U1", thread, "gap: only once")
    shortcut = shortcut_body(ws, "U2", kickoff)
    for body, content_type in (gap, shortcut):
        headers = signed(body)
        for _ in range(3):
            assert post(url, body, content_type, headers).status_code == 200
    notes = wait_until(
        lambda: (
            [e for e in bot.services.store.events(gameday) if e.kind.value == "note"][:3]
            if len([e for e in bot.services.store.events(gameday) if e.kind.value == "note"]) >= 2
            else None
        ),
        "the gap and the shortcut's note",
    )
    time.sleep(0.3)
    assert len([e for e in bot.services.store.events(gameday) if e.kind.value == "note"]) == 2, notes

    # the start, sent again after the game day is over, starts nothing
    people.slash("UFAC", "/sce", "abort replay test done")
    wait_until(lambda: status(bot, gameday) == "aborted", "the abort")
    again = post(url, *start_body, start_headers)
    assert (again.status_code, again.text) == (200, "")
    time.sleep(0.3)
    assert bot.services.store.active_in_channel("C1") == []
    assert [r.id for r in bot.services.store.all()] == [gameday]


def test_a_bots_post_or_an_edit_is_answered_at_the_door_with_no_effect(
    bot: Bot, ws: LocalWorkspace, people: WorkspaceClient
) -> None:
    """Slack delivers every post back to the app, the bot's own included: such an event, and an edit,
    is answered 200 after its signature and before the replay guard and Bolt, and changes nothing.
    Forged, it is refused like any request; a person's reply beside it still counts."""
    url = f"{bot.base}/slack/events"
    gameday, thread = start_tabletop(bot, people)
    state = ws.state
    ts = f"{time.time():.6f}"
    own = Message("C1", ts, "UBOT", "gap: written by a bot", None, thread, "B0BOT", None)
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C1",
        "ts": ts,
        "message": {"type": "message", "user": "U1", "text": "gap: an edit", "ts": ts, "thread_ts": thread},
    }
    inert = [
        json.dumps(payloads.event_callback(state, payloads.message_event(state, own))).encode(),
        json.dumps(payloads.event_callback(state, edited)).encode(),
        json.dumps(payloads.event_callback(state, {**edited, "bot_id": "B0BOT", "subtype": None})).encode(),
    ]
    for body in inert:
        assert post(url, body, "application/json", signed(body, secret="not-the-secret")).status_code == 401
        headers = signed(body)
        assert (post(url, body, "application/json", headers).status_code, body[:0]) == (200, b"")
        key = request_key("slack", headers["X-Slack-Signature"])  # never reached the guard: not taken
        assert bot.services.replay.first_time(key, time.time() + 60, time.time())
    person = event_body(ws, "U2", thread, "gap: a person's")
    assert post(url, *person, signed(person[0])).status_code == 200
    notes = wait_until(
        lambda: [e.data.get("text") for e in bot.services.store.events(gameday) if e.kind.value == "note"],
        "the person's gap",
    )
    time.sleep(0.3)
    assert [e.data.get("text") for e in bot.services.store.events(gameday) if e.kind.value == "note"] == notes
    assert notes == ["a person's"]


@contextmanager
def two_replicas(ws: LocalWorkspace) -> Iterator[tuple[Bot, Bot]]:
    """Two bots on one fresh PostgreSQL database; the workspace sends Slack's requests to the first."""
    url = fresh_postgres_url()
    first, second = run_bot(ws, url), run_bot(ws, url)
    try:
        ws.request_url = f"{first.base}/slack/events"
        yield first, second
    finally:
        first.stop()
        second.stop()


@pytest.mark.skipif(not POSTGRES_URL, reason="replicas share PostgreSQL; SQLite is one process")
def test_a_replay_sent_to_another_replica_has_no_effect_there(
    ws: LocalWorkspace, people: WorkspaceClient
) -> None:
    with two_replicas(ws) as (first, second):
        start_tabletop(first, people)
        gameday = first.services.store.active_in_channel("C1")[-1].id
        body, content_type = slash_body(ws, "UFAC", "pause")
        headers = signed(body)
        assert post(f"{first.base}/slack/events", body, content_type, headers).status_code == 200
        wait_until(lambda: status(first, gameday) == "paused", "the pause")
        people.slash("UFAC", "/sce", "resume")
        wait_until(lambda: status(first, gameday) == "running", "the resume")
        again = post(f"{second.base}/slack/events", body, content_type, headers)
        assert (again.status_code, again.text) == (200, "")
        time.sleep(0.3)
        assert status(second, gameday) == "running"
        people.slash("UFAC", "/sce", "abort done")


def test_a_signed_alert_sent_again_counts_once(bot: Bot, people: WorkspaceClient) -> None:
    gameday, _ = start_tabletop(bot, people)
    body = json.dumps({"name": "DNS beacon", "text": f"query for sce-{gameday}.sink.example"}).encode()
    stamp = str(int(time.time()))
    headers = {
        "X-SCE-Timestamp": stamp,
        "X-SCE-Signature": hook_signature(HOOK_SECRET, stamp, body),
        "Content-Type": "application/json",
    }
    answers = [
        requests.post(f"{bot.base}/hooks/alert", data=body, headers=headers, timeout=10) for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all("already received" in a.json()["results"][0] for a in answers[1:])
    assert "already received" not in answers[0].text
    detections = [e for e in bot.services.store.events(gameday) if e.kind.value == "detected"]
    assert len(detections) == 1
    people.slash("UFAC", "/sce", "abort done")


# --- Socket Mode ------------------------------------------------------------------------------------------


def test_in_socket_mode_the_http_port_takes_no_slack_payload_however_signed(
    ws: LocalWorkspace, tmp_path: Path
) -> None:
    bot = run_bot(ws, f"sqlite:///{tmp_path / 'sce.db'}", socket_mode=True)
    try:
        body, content_type = slash_body(ws, "UFAC", "start tabletop-live-logs oncall=<@U1> secondary=<@U2>")
        attempts = {
            "signed with the signing secret": signed(body),
            "signed with the old built-in socket secret": signed(
                body, secret="socket-mode-needs-no-signing-secret"
            ),
            "signed with a guessable secret": signed(body, secret="secret"),
            "unsigned": {},
        }
        for path in ("/slack/events", "/slack/events/", "/slack/commands", "/slack/actions", "/"):
            for name, headers in attempts.items():
                answer = post(f"{bot.base}{path}", body, content_type, headers)
                assert answer.status_code == 404, (path, name)
        assert requests.get(f"{bot.base}/healthz", timeout=10).status_code == 200
        assert requests.get(f"{bot.base}/metrics", timeout=10).status_code == 200
        assert bot.services.store.all() == []

        # were a request to reach the Bolt app itself, nothing anyone knows could sign it
        app = create_app(bot.services)
        for name, headers in attempts.items():
            lowered = {k.lower(): v for k, v in headers.items()}
            response = app.dispatch(
                BoltRequest(body=body.decode(), headers={**lowered, "content-type": content_type})
            )
            assert response.status == 401, name
    finally:
        bot.stop()


# --- the replay guard on its own --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite"] + (["postgres"] if POSTGRES_URL else []))
def test_the_replay_guard_takes_a_key_once_until_its_window_closes(kind: str, tmp_path: Path) -> None:
    if kind == "memory":
        guard: Any = MemoryReplayGuard()
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}" if kind == "sqlite" else fresh_postgres_url())
        migrate(engine)
        guard = SqlReplayGuard(engine)
    now = 1_000_000.0
    a, b = request_key("slack", "v0=aa"), request_key("hook", "v0=aa")
    assert a != b  # the same signature on two doors is two requests
    assert guard.first_time(a, now + 301, now)
    assert not guard.first_time(a, now + 301, now + 1)
    assert not guard.first_time(a, now + 301, now + 300)
    assert guard.first_time(b, now + 301, now + 2)
    # once a minute, keys whose window has closed are forgotten (their requests are refused as stale)
    assert guard.first_time(request_key("slack", "v0=bb"), now + 2000, now + 400)
    assert guard.first_time(a, now + 2000, now + 1000)
    guard.close()


@pytest.mark.skipif(not POSTGRES_URL, reason="needs the PostgreSQL that .ci/run starts")
def test_on_postgresql_requests_arriving_together_share_an_insert_and_each_key_is_first_once() -> None:
    """While one INSERT is in flight, the requests that arrive wait for the next one, which carries all
    of them; of 8 threads asking the same 40 keys at once, exactly one is first for each key."""
    engine = make_engine(fresh_postgres_url())
    migrate(engine)
    guard = SqlReplayGuard(engine)
    inserts: list[int] = []
    held = threading.Event()

    @event.listens_for(guard._writer, "before_cursor_execute")
    def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.startswith("INSERT"):
            inserts.append(len(params[0]))  # rows: the array of keys (the other is their expiries)
            if len(inserts) == 1:  # the first INSERT is slow: everything else queues behind it
                held.wait(5)

    now = time.time()
    keys = [request_key("slack", f"v0={n:02d}") for n in range(40)]
    firsts: list[str] = []
    lock = threading.Lock()

    def ask(offset: int) -> None:
        for n in range(40):
            key = keys[(n + offset * 5) % 40]
            if guard.first_time(key, now + 301, now):
                with lock:
                    firsts.append(key)

    lone = threading.Thread(target=guard.first_time, args=(request_key("slack", "v0=lone"), now + 301, now))
    lone.start()
    wait_until(lambda: len(inserts) == 1, "the first INSERT under way")
    threads = [threading.Thread(target=ask, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    wait_until(lambda: len(guard._asked) == 8, "the 8 first questions queued behind the slow INSERT")
    held.set()
    for t in [lone, *threads]:
        t.join(10)
    assert sorted(firsts) == sorted(keys)  # each key first exactly once, across every thread
    # the lone first INSERT, then the 8 that queued behind it in one; 321 questions in all, each thread
    # asking its next key once answered, in far fewer statements
    assert inserts[:2] == [1, 8] and sum(inserts) <= 1 + 8 * 40, inserts  # a key asked twice in one: a row
    assert len(inserts) < (1 + 8 * 40) / 2, len(inserts)
    guard.close()
    engine.dispose()


def test_on_sqlite_a_replay_just_after_a_restart_is_caught(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    migrate(engine)
    now = time.time()
    before = WrittenBehindReplayGuard(engine)
    taken, closed = request_key("slack", "v0=taken"), request_key("slack", "v0=closed")
    assert before.first_time(taken, now + 301, now)
    assert before.first_time(closed, now - 1, now - 302)  # its window closed a second ago
    before.close()  # SIGTERM: what was taken is written
    after = WrittenBehindReplayGuard(engine)
    assert not after.first_time(taken, now + 301, now + 5)
    assert after.first_time(request_key("slack", "v0=new"), now + 301, now + 5)
    assert after.first_time(closed, now + 301, now + 5)  # not read back: refused as stale anyway
    # written behind: without a close, the next process still finds it within half a second
    fresh = request_key("slack", "v0=fresh")
    assert after.first_time(fresh, now + 301, now + 6)
    wait_until(lambda: written(engine, fresh), "the key written behind", timeout=5)
    another = WrittenBehindReplayGuard(engine)
    assert not another.first_time(fresh, now + 301, now + 7)
    another.close()
    after.close()


def written(engine: Any, key: str) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(select(SEEN_TABLE.c.key).where(SEEN_TABLE.c.key == key)).first())


# --- the process: every port it listens on -----------------------------------------------------------------


def listening_ports(pid: int) -> set[int]:
    """TCP ports in LISTEN state held by the process's sockets (/proc: no tool needed)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if match := re.fullmatch(r"socket:\[(\d+)\]", target):
            inodes.add(match[1])
    ports = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_every_port_sce_serve_listens_on_authenticates_each_request(
    mode: str, ws: LocalWorkspace, tmp_path: Path
) -> None:
    bot = BotProcess(
        ws.api_url,
        f"sqlite:///{tmp_path / 'sce.db'}",
        ROOT / "scenarios",
        tmp_path / "bot.log",
        socket_mode=mode == "socket",
        extra_env={"SCE_ALERT_WEBHOOK_SECRET": HOOK_SECRET},
    )
    bot.start()
    try:
        if mode == "socket":
            bot._wait_healthy()
        assert bot.proc is not None
        ports = wait_until(lambda: listening_ports(bot.proc.pid) if bot.proc else None, "a listening port")
        assert ports == {bot.port}
        body, content_type = slash_body(ws, "UFAC", "list")
        now = int(time.time())
        for port in ports:
            base = f"http://127.0.0.1:{port}"
            answers = {
                name: post(f"{base}/slack/events", body, content_type, headers).status_code
                for name, headers in {
                    "unsigned": {},
                    "wrong secret": signed(body, now, "wrong"),
                    "stale": signed(body, now - 400),
                }.items()
            }
            good = signed(body, now)
            answers["signed"] = post(f"{base}/slack/events", body, content_type, good).status_code
            answers["replayed"] = post(f"{base}/slack/events", body, content_type, good).status_code
            if mode == "socket":
                assert set(answers.values()) == {404}, answers
            else:
                assert answers == {
                    "unsigned": 401,
                    "wrong secret": 401,
                    "stale": 401,
                    "signed": 200,
                    "replayed": 200,
                }
            hook = json.dumps({"name": "x", "text": "y"}).encode()
            unsigned_hook = requests.post(f"{base}/hooks/alert", data=hook, timeout=10)
            assert unsigned_hook.status_code == 401
            assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
            assert requests.get(f"{base}/nothing-here", timeout=10).status_code == 404
    finally:
        bot.stop()

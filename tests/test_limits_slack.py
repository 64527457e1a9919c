"""Slow input never holds up Slack: `/sce start` acks before reading a scenario's attachments,
`/sce abort` answers and reverts while every other command worker is stuck on a slow file, and a note
is acked while the database is held, its answer following once it is written.

In process: the Bolt app behind ``HttpServer`` on port 0, the local workspace over real HTTP with signed
requests; the slow part is the real file read, held back until the test lets it go.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from bot_process import TEST_POSTS_PER_SECOND
from threads import start_gameday, wait_until

import bot.gameday.scenario.attachments as attachments
import bot.gameday.scenario.file_reading as file_reading
import bot.gameday.scenario.loading as scenario_file
from bot.config import Settings
from bot.gameday.timeline import Kind
from bot.runtime.server import HttpServer
from bot.runtime.service import Services, build_services
from bot.slack.app import create_app, slack_over_http
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

CHANNELS = {f"C{i}": f"room{i}" for i in range(1, 10)}
FAULTY = """\
id: faulty
title: A fault to revert
charter: {objective: Abort works., hypothesis: An abort reverts every fault.}
guardrails: {max_duration: 30m}
steps:
  - {at: 0s, fault: {type: simulated.pod-delete, ttl: 20m}}
  - {at: 10m, say: later}
"""
ATTACHED = """\
id: attached
title: Streams a log
charter: {objective: Read slowly., hypothesis: The ack does not wait.}
guardrails: {max_duration: 30m}
steps:
  - at: 0s
    logs: {file: drill.log, every: 1s}
"""


class Gate:
    """Holds every call of a real function until released; counts who is waiting."""

    def __init__(self, real: Callable[..., Any]):
        self.real = real
        self.released = threading.Event()
        self.entered = threading.Semaphore(0)
        self.waiting = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.waiting += 1
        self.entered.release()
        self.released.wait(30)
        return self.real(*args, **kwargs)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Services, WorkspaceClient]]:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "faulty.yaml").write_text(FAULTY)
    (folder / "attached.yaml").write_text(ATTACHED)
    (folder / "drill.log").write_text("first line\nsecond line\n")
    workspace = LocalWorkspace(
        signing_secret="s", users={"U1": "alice", "U2": "bob", "UFAC": "carol"}, channels=CHANNELS
    ).start()
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret="s",
        slack_api_url=workspace.api_url,
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        scenarios_dir=folder,
        rotations_dir=tmp_path / "none",
        slack_posts_per_second=float(TEST_POSTS_PER_SECOND),  # the pace is test_slack_etiquette's
    )
    services = build_services(settings, simulate_faults=True)
    server = HttpServer(slack_over_http(create_app(services), services), "127.0.0.1", 0)
    server.start()
    workspace.request_url = f"http://127.0.0.1:{server.port}/slack/events"
    people = WorkspaceClient(workspace.base_url)
    yield services, people
    people.close()
    server.stop()
    services.stop()
    workspace.stop()


@pytest.mark.timeout(60)
def test_start_acks_before_it_reads_the_scenarios_attachments(
    live: tuple[Services, WorkspaceClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, people = live
    gate = Gate(file_reading.read_regular_file)  # what attachments reads with
    monkeypatch.setattr(attachments, "read_regular_file", gate)
    try:
        ack = people.slash("UFAC", "/sce", "start attached oncall=<@U1> secondary=<@U2>")
        assert ack["text"] == "Starting `attached`...", ack  # not "Working on": nothing waited for the file
        assert gate.entered.acquire(timeout=10)  # the read comes after the ack
        assert services.store.active_in_channel("C1") == []
    finally:
        gate.released.set()
    wait_until(lambda: started(people) == 1, what="the start's own answer")
    assert "second line" in services.store.active_in_channel("C1")[0].scenario_text


def started(people: WorkspaceClient) -> int:
    """How many starts have answered that their game day started."""
    return sum(" started: " in (e.get("text") or "") for e in people.ephemerals("UFAC"))


@pytest.mark.timeout(60)
def test_abort_answers_and_reverts_while_every_other_command_is_stuck_on_a_slow_file(
    live: tuple[Services, WorkspaceClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, people = live
    start_gameday(people, "start faulty oncall=<@U1> secondary=<@U2>", channel="C1")
    gameday = services.store.active_in_channel("C1")[0].id

    def applied() -> bool:
        services.timers.poll()
        return any(e.kind == Kind.FAULT_APPLIED for e in services.store.events(gameday))

    wait_until(applied, what="the fault applied")
    # the scenarios disk turns slow: every start now waits on its scenario file, before its ack
    gate = Gate(file_reading.read_regular_file)  # what scenario_file reads with
    monkeypatch.setattr(scenario_file, "read_regular_file", gate)
    stuck_channels = [f"C{i}" for i in range(2, 10)]  # as many starts as there are command workers
    try:
        with ThreadPoolExecutor(len(stuck_channels)) as senders:
            acks = list(
                senders.map(
                    lambda channel: people.slash(
                        "UFAC", "/sce", "start faulty oncall=<@U1> secondary=<@U2>", channel, answer_wait=0
                    ),
                    stuck_channels,
                )
            )
        assert all(a["status"] == 200 and a["ack_text"] is None for a in acks), acks  # acked, empty
        assert gate.waiting == 8  # every command worker is stuck
        answer = people.slash("UFAC", "/sce", "abort enough", channel="C1")
        assert answer["text"] == "Game day aborted; every fault reverted.", answer
        kinds = [e.kind for e in services.store.events(gameday)]
        assert Kind.FAULT_REVERTED in kinds and Kind.ENDED in kinds
        assert gate.waiting == 8  # the abort did not wait for them, nor they for it
    finally:
        gate.released.set()
    # the stuck starts go on once the disk is back: each starts its game day and says so
    wait_until(lambda: started(people) == 1 + len(stuck_channels), what="every stuck start's answer")


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("tail", "words"),
    [
        ("x: " + "[" * 50_000 + "]" * 50_000 + "\n", "is nested deeper than 32 levels"),
        ("\n".join(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}" for i in range(1, 40)), "aliases (here *m"),
        ("#" * (300 * 1024), "is larger than 256 KiB"),
    ],
    ids=["deep", "merge bomb", "large"],
)
def test_start_refuses_a_hostile_scenario_in_its_ack_with_one_sentence(
    live: tuple[Services, WorkspaceClient], tail: str, words: str
) -> None:
    services, people = live
    folder = services.settings.scenarios_dir
    (folder / "hostile.yaml").write_text("id: hostile\nm0: &m0 {a: 1}\n" + tail + "\n")
    ack = people.slash("UFAC", "/sce", "start hostile oncall=<@U1> secondary=<@U2>")
    assert ack["text"].startswith(f"{folder / 'hostile.yaml'}:") and words in ack["text"], ack
    assert "\n" not in ack["text"] and services.store.active_in_channel("C1") == []


@pytest.mark.timeout(60)
def test_a_note_is_acked_at_once_while_the_database_is_held_and_answered_when_it_is_written(
    live: tuple[Services, WorkspaceClient],
) -> None:
    services, people = live
    start_gameday(people, "start faulty oncall=<@U1> secondary=<@U2>", channel="C1")
    gameday = services.store.active_in_channel("C1")[0].id
    # a quick answer goes out in the ack itself (within 4 ms: a loaded run may need a second try)
    assert any(people.slash("UFAC", "/sce", "help")["ack_text"] for _ in range(10))
    held, release = threading.Event(), threading.Event()

    def hold_the_writer() -> None:
        with services.store.transaction(gameday):  # the game day's lock and SQLite's one write lock
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_writer)
    holder.start()
    try:
        assert held.wait(10)
        notes = [
            people.slash("U1", "/sce", f"note {word}", channel="C1", answer_wait=0)
            for word in ("first", "second", "third")
        ]
        # acked, empty, while nothing could be written: no database work stands before an ack
        assert all(n["status"] == 200 and n["ack_text"] is None for n in notes), notes
        assert not [e for e in services.store.events(gameday) if e.kind == Kind.NOTE]
    finally:
        release.set()
        holder.join(10)

    def answered() -> list[str]:
        texts = [e.get("text") or "" for e in people.ephemerals("U1")]
        return [t for t in texts if t == "Note recorded for the debrief."]

    wait_until(lambda: len(answered()) >= 3, what="the three answers once the notes are written")
    assert len(answered()) == 3
    texts = sorted(str(e.data["text"]) for e in services.store.events(gameday) if e.kind == Kind.NOTE)
    assert texts == ["first", "second", "third"]


@pytest.mark.timeout(60)
def test_a_reaction_slack_is_slow_to_take_holds_up_no_reply_of_any_game_day(
    live: tuple[Services, WorkspaceClient],
) -> None:
    """SQLite has one inbox writer: the reaction on a recorded note used to be sent by it, so while
    Slack sat on one reaction no other reply of any game day was written."""
    services, people = live
    threads = {
        c: start_gameday(people, "start faulty oncall=<@U1> secondary=<@U2>", channel=c) for c in ("C1", "C2")
    }
    ids = {c: services.store.active_in_channel(c)[0].id for c in threads}
    people.fail_api("reactions.add", status=0, times=1, delay=6.0)  # taken, but answered 6 s later
    slow = people.post("U1", "C1", "gap: nobody owns the runbook", thread_ts=threads["C1"])
    wait_until(lambda: people.calls("reactions.add"), what="the bot to ask for the first reaction")

    def notes(channel: str) -> list[str]:
        return sorted(str(e.data["text"]) for e in services.store.events(ids[channel]) if e.kind == Kind.NOTE)

    people.post("U2", "C2", "note: the pager rang twice", thread_ts=threads["C2"])
    people.post("U2", "C1", "decision: page the secondary too", thread_ts=threads["C1"])
    wait_until(
        lambda: notes("C2") == ["the pager rang twice"] and len(notes("C1")) == 2,
        timeout=4,
        what="both game days' later replies written while Slack still holds the first reaction",
    )
    assert services.announcer.follow_ups.drain(10)  # the slow answer came; the rest followed it
    reacted = {
        m["ts"]: [r["name"] for r in m["reactions"]]
        for c in threads
        for m in people.messages(c, thread_ts=threads[c])
        if m.get("reactions")
    }
    assert len(reacted) == 3 and reacted[slow["ts"]] == ["warning"]  # each recorded reply's, once

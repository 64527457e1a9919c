"""Two replicas on one PostgreSQL run 20 game days together: every step, delivery and escalation once."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bot_process import SIGNING_SECRET, BotProcess
from databases import POSTGRES_URL, fresh_postgres_url
from threads import start_gameday, wait_for_block, wait_until

from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

GAMEDAYS = 20
CHANNELS = {f"C{i:02d}": f"drill-{i:02d}" for i in range(GAMEDAYS)}
SCENARIO = """
id: replica-drill
title: Replica drill
charter: {objective: Two replicas share the work., hypothesis: Every step runs once.}
oncall: {escalate_after: 6s}
expect: {acknowledge_within: 1m}
guardrails: {max_duration: 5m}
steps:
  - {at: 0s, page: {severity: SEV-3, summary: "Simulated: replica drill"}}
  - {at: 2s, say: "step two"}
  - {at: 4s, say: "step three"}
"""
pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="needs PostgreSQL (.ci/run provides it)")


@pytest.fixture
def drill_workspace() -> Iterator[LocalWorkspace]:
    ws = LocalWorkspace(
        signing_secret=SIGNING_SECRET, users={"U1": "alice", "U2": "bob", "UFAC": "carol"}, channels=CHANNELS
    ).start()
    yield ws
    ws.stop()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ["http", "socket"])
def test_two_replicas_run_twenty_game_days_without_doubles_or_losses(
    mode: str, drill_workspace: LocalWorkspace, scenarios_dir: Path, tmp_path: Path
) -> None:
    (scenarios_dir / "replica-drill.yaml").write_text(SCENARIO)
    database = fresh_postgres_url()
    socket_mode = mode == "socket"
    bots = [
        BotProcess(
            drill_workspace.api_url,
            database,
            scenarios_dir,
            tmp_path / f"replica{i}.log",
            socket_mode=socket_mode,
        )
        for i in range(2)
    ]
    people = WorkspaceClient(drill_workspace.base_url)
    try:
        _run_drill(bots, drill_workspace, people, socket_mode)
    finally:
        people.close()
        for bot in bots:
            bot.stop()


def _run_drill(
    bots: list[BotProcess], drill_workspace: LocalWorkspace, people: WorkspaceClient, socket_mode: bool
) -> None:
    for bot in bots:
        bot.start()
    if socket_mode:  # both connected; the workspace hands each envelope to one of them, in turn

        def both_connected() -> bool:
            return all(bot.alive() for bot in bots) and drill_workspace.socket_clients >= 2

        try:
            wait_until(both_connected, timeout=90, what="both sockets")
        except TimeoutError:
            logs = "\n".join(f"--- replica {i}:\n{bot.log_tail()}" for i, bot in enumerate(bots))
            raise AssertionError(f"{drill_workspace.socket_clients} of 2 sockets open\n{logs}") from None
    else:
        drill_workspace.request_url = " ".join(bot.url for bot in bots)  # a load balancer taking turns
    threads: dict[str, str] = {}
    for index, channel in enumerate(CHANNELS):
        thread = start_gameday(people, "start replica-drill oncall=<@U1> secondary=<@U2>", channel=channel)
        threads[channel] = thread
        if index % 2 == 0:  # the primary answers in a second
            page = wait_for_block(people, thread, "page:p0", channel=channel, timeout=30)
            sent = people.post("U1", channel, "ack", thread_ts=thread, ts=f"{float(page['ts']) + 1:.6f}")
            people.redeliver(sent["event_id"])  # Slack's retry, to the other replica
    for index, (channel, thread) in enumerate(threads.items()):
        if index % 2 == 1:  # silence: the secondary is paged, and answers after the escalation
            wait_for_block(people, thread, "escalation:p0", channel=channel, timeout=30)
            page = wait_for_block(people, thread, "page:p0", channel=channel)
            sent = people.post("U2", channel, "ack", thread_ts=thread, ts=f"{float(page['ts']) + 8:.6f}")
            people.redeliver(sent["event_id"])

    def finished() -> bool:
        return all(
            any("Debrief" in (m.get("text") or "") for m in people.messages(c, thread_ts=t))
            for c, t in threads.items()
        )

    try:
        wait_until(finished, timeout=120, what="every game day to finish")
    except TimeoutError:  # which game days, where they stopped, and what the replicas said
        unfinished = {
            c: [(m.get("text") or "")[:80] for m in people.messages(c, thread_ts=t)][-3:]
            for c, t in threads.items()
            if not any("Debrief" in (m.get("text") or "") for m in people.messages(c, thread_ts=t))
        }
        logs = "\n".join(f"--- replica {i}:\n{bot.log_tail()}" for i, bot in enumerate(bots))
        raise AssertionError(f"{len(unfinished)} game day(s) not finished: {unfinished}\n{logs}") from None
    time.sleep(1.0)  # anything that would fire twice has had its chance
    for index, (channel, thread) in enumerate(threads.items()):
        texts = [m.get("text") or "" for m in people.messages(channel, thread_ts=thread)]

        def count(marker: str, texts: list[str] = texts) -> int:
            return sum(marker in text for text in texts)

        assert count("you are paged") == 1, (channel, texts)
        assert count("step two") == 1 and count("step three") == 1, (channel, texts)
        assert count("Escalation") == (index % 2), (channel, texts)
        assert count("acknowledged page p0") == 1, (channel, texts)
        assert count("Debrief:") == 1, (channel, texts)
    ids = {
        match[1]
        for c, t in threads.items()
        for m in people.messages(c, thread_ts=t)
        if (match := re.search(r"Debrief: .*\(`(gd-[0-9a-f]+)`\)", m.get("text") or ""))
    }
    assert len(ids) == GAMEDAYS
    for record_id in sorted(ids):
        kinds = [e["kind"] for e in bots[0].debrief_json(record_id)["timeline"]]
        assert kinds.count("step_ran") == 3 and kinds.count("acknowledged") == 1, kinds
        assert kinds.count("gameday_ended") == 1, kinds

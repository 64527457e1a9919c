"""Slack etiquette: paced posts per channel, and 429s with Retry-After honoured without loss or doubles."""

from __future__ import annotations

from pathlib import Path

from inprocess_bot import bot_on
from threads import start_gameday, wait_for_block, wait_for_text

from bot.slack.pacing import ChannelPacer
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_allows_a_burst_then_one_post_per_second_per_channel() -> None:
    fake = FakeTime()
    pacer = ChannelPacer(per_second=1.0, burst=3, sleep=fake.sleep, monotonic=lambda: fake.now)
    waits = [pacer.wait("C1") for _ in range(6)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert [round(w, 6) for w in waits[3:]] == [1.0, 1.0, 1.0]
    assert pacer.wait("C2") == 0.0  # another channel has its own budget
    fake.now += 10
    assert pacer.wait("C1") == 0.0  # the budget refills with time


def test_messages_arrive_in_order_and_once_when_slack_answers_429(
    workspace: LocalWorkspace, people: WorkspaceClient, tmp_path: Path
) -> None:
    with bot_on(workspace, tmp_path) as bot:  # the bot's Slack calls are the point, not its process
        people.fail_api("chat.postMessage", status=429, times=2, retry_after=1)
        thread = start_gameday(people)  # the kickoff itself is refused twice first
        page = wait_for_block(people, thread, "page:p0", timeout=20)
        people.fail_api("chat.postMessage", status=429, times=1, retry_after=1)
        people.post("U1", "C1", "ack", thread_ts=thread, ts=f"{float(page['ts']) + 1:.6f}")
        wait_for_text(people, thread, "acknowledged page p0", timeout=20)
        people.slash("UFAC", "/sce", "end")
        wait_for_text(people, thread, "Debrief", timeout=20)
        texts = [m.get("text") or "" for m in people.messages("C1", thread_ts=thread)]
        kickoffs = [m for m in people.messages("C1") if m.get("thread_ts") in (None, m["ts"])]
        assert len(kickoffs) == 1
        order = ["you are paged", "acknowledged page p0", "Debrief"]
        positions = [next(i for i, t in enumerate(texts) if marker in t) for marker in order]
        assert positions == sorted(positions)
        for marker in order:
            assert sum(marker in t for t in texts) == 1, marker
        refused = [c for c in people.calls("chat.postMessage") if c.get("error") == "http_429"]
        assert len(refused) == 3
        assert bot.debrief_json()["pages"][0]["acknowledged_by"] == "U1"

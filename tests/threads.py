"""Reading a game-day thread on the local workspace, as a person scrolling it would."""

from __future__ import annotations

import re
import time
from typing import Any

from bot.workspace.client import WorkspaceClient

START = "start pager-stress oncall=<@U1|alice> secondary=<@U2|bob>"


def wait_for_block(
    people: WorkspaceClient, thread_ts: str, block_id: str, channel: str = "C1", timeout: float = 15.0
) -> dict[str, Any]:
    """The first message in the thread carrying an actions block with this id (page:p0, handoff:h1)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in people.messages(channel, thread_ts=thread_ts):
            if any(b.get("block_id") == block_id for b in message.get("blocks") or []):
                return message
        time.sleep(0.02)
    raise TimeoutError(f"no message with block {block_id} in thread {thread_ts}")


def wait_for_text(
    people: WorkspaceClient, thread_ts: str, pattern: str, channel: str = "C1", timeout: float = 15.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in people.messages(channel, thread_ts=thread_ts):
            if re.search(pattern, message.get("text") or ""):
                return message
        time.sleep(0.02)
    texts = [m.get("text") for m in people.messages(channel, thread_ts=thread_ts)]
    raise TimeoutError(f"nothing matching {pattern!r} in thread {thread_ts}: {texts}")


def start_gameday(people: WorkspaceClient, text: str = START, channel: str = "C1") -> str:
    """Send `/sce start ...` as the facilitator and return the new game day's thread ts."""
    before = {m["ts"] for m in people.messages(channel)}
    result = people.slash("UFAC", "/sce", text, channel=channel)
    assert result["status"] == 200, result

    def new_kickoff() -> dict[str, Any] | None:
        return next(
            (
                m
                for m in people.messages(channel)
                if m["ts"] not in before
                and m.get("thread_ts") in (None, m["ts"])
                and "[GAME DAY]" in (m.get("text") or "")
                and "Reminder" not in (m.get("text") or "")
            ),
            None,
        )

    kickoff = wait_until(new_kickoff, timeout=15, what=f"a kickoff after /sce {text}")
    return str(kickoff["ts"])


def wait_until(predicate: Any, timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")

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
    """Send `/sce start ...` as the facilitator and return the game day's thread ts."""
    result = people.slash("UFAC", "/sce", text, channel=channel)
    assert result["status"] == 200, result
    kickoff = people.wait_for_message(channel, r"\[GAME DAY\]", timeout=15)
    return str(kickoff["ts"])


def wait_until(predicate: Any, timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")

"""Many game days at once: started by /sce in their own channels, through the workspace as people do."""

from __future__ import annotations

import time
from pathlib import Path

from bot.workspace.client import WorkspaceClient

START = "start {scenario} oncall=<@U1|alice> secondary=<@U2|bob>"


def channels(count: int) -> list[str]:
    return [f"C{i}" for i in range(1, count + 1)]


def start_gamedays(
    people: WorkspaceClient, scenario: str, where: list[str], timeout: float = 120.0
) -> dict[str, str]:
    """Start ``scenario`` in every channel of ``where``; returns channel -> kickoff (thread) ts."""
    for channel in where:
        result = people.slash("UFAC", "/sce", START.format(scenario=scenario), channel=channel)
        if result["status"] != 200:
            raise RuntimeError(f"/sce start in {channel} answered {result}")
    threads: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(threads) < len(where):
        if time.monotonic() > deadline:
            missing = sorted(set(where) - set(threads))
            raise TimeoutError(f"no kickoff within {timeout:g}s in {missing[:5]}...")
        for channel in where:
            if channel in threads:
                continue
            for message in people.messages(channel):
                top = message.get("thread_ts") in (None, message["ts"])
                if top and message.get("bot_id") and "[GAME DAY]" in (message.get("text") or ""):
                    threads[channel] = str(message["ts"])
                    break
        time.sleep(0.05)
    return threads


def write_scenario(folder: Path, scenario_id: str, body: str) -> None:
    (folder / f"{scenario_id}.yaml").write_text(body)

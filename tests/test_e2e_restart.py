"""Durable timers across a crash: SIGKILL between two steps, restart, nothing lost or doubled."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bot_process import BotProcess
from threads import start_gameday, wait_for_text, wait_until

from bot.workspace.client import WorkspaceClient

QUICK = """
id: quick-steps
title: Four quick injects
mode: live
charter: {objective: Steps survive a crash of the bot., hypothesis: Every step runs exactly once.}
oncall: {primary: "@primary", secondary: "@secondary", escalate_after: 5m}
guardrails: {max_duration: 2m}
steps:
  - {at: 0s, say: "inject A"}
  - {at: 2s, say: "inject B"}
  - {at: 6s, say: "inject C"}
  - {at: 8s, say: "inject D"}
"""


def test_sigkill_between_steps_loses_and_doubles_nothing(
    start_bot: Callable[..., BotProcess], people: WorkspaceClient, scenarios_dir: Path
) -> None:
    (scenarios_dir / "quick-steps.yaml").write_text(QUICK)
    bot = start_bot()
    thread = start_gameday(people, "start quick-steps oncall=<@U1> secondary=<@U2>")
    wait_for_text(people, thread, "inject B")
    bot.kill()  # between B (2 s) and C (6 s)
    assert "inject C" not in " ".join(m.get("text") or "" for m in people.messages("C1", thread_ts=thread))
    time.sleep(1.0)
    restarted = start_bot()
    wait_for_text(people, thread, "Debrief", timeout=30)
    texts = [m.get("text") or "" for m in people.messages("C1", thread_ts=thread)]
    counts = Counter(
        name for name in ("inject A", "inject B", "inject C", "inject D") for t in texts if name in t
    )
    assert counts == {"inject A": 1, "inject B": 1, "inject C": 1, "inject D": 1}
    debrief = wait_until(lambda: restarted.debrief_json(), what="debrief")
    steps = [e["data"]["step"] for e in debrief["timeline"] if e["kind"] == "step_ran"]
    assert steps == [0, 1, 2, 3]
    assert debrief["status"] == "completed"
    said = {e["data"]["text"]: e["at"] for e in debrief["timeline"] if e["kind"] == "said"}
    start = debrief["started_at"]
    assert said["inject C"] - start >= 6.0  # C waited for its time even though the bot was dead then

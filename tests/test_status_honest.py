"""The kickoff message's live status line ticks only what the debrief will count: with every fault
simulated, detect_within and contain_within read "not measured", never ✅, however soon people click."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from inprocess_bot import Bot, run_bot

from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

SIMULATED = """
id: simulated-only
title: Simulated only
charter: {objective: o, hypothesis: h}
guardrails: {max_duration: 30m}
oncall: {primary: "@primary", secondary: "@secondary", escalate_after: 20m}
expect: {acknowledge_within: 5m, detect_within: 10m, contain_within: 20m}
steps:
  - at: 0s
    fault: {type: simulated.marker, ttl: 10m}
  - at: 0s
    page: {severity: SEV-2, summary: the login API answers 500, to: "@primary"}
"""


@pytest.fixture
def bot(workspace: LocalWorkspace, tmp_path: Path) -> Iterator[Bot]:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "simulated-only.yaml").write_text(SIMULATED)
    running = run_bot(workspace, f"sqlite:///{tmp_path / 'sce.db'}", scenarios_dir=scenarios)
    workspace.request_url = f"{running.base}/slack/events"
    yield running
    running.stop()


def status_of(ws: LocalWorkspace, thread_ts: str) -> str:
    message = ws.state.find_message("C1", thread_ts)
    assert message is not None
    contexts = [b for b in message.blocks or [] if b.get("type") == "context"]
    return " ".join(str(e.get("text", "")) for b in contexts for e in b["elements"])


def test_a_simulated_fault_is_never_ticked_in_the_status_line(
    bot: Bot, workspace: LocalWorkspace, people: WorkspaceClient
) -> None:
    answer = people.slash("UFAC", "/sce", "start simulated-only oncall=<@U1> secondary=<@U2>")
    assert str(answer.get("text", "")).startswith("Starting"), answer
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        running = bot.services.store.active_in_channel("C1")
        if running and running[0].thread_ts:  # the kickoff message is posted
            break
        time.sleep(0.02)
    (record,) = bot.services.store.active_in_channel("C1")
    assert record.thread_ts
    for command in ("detected", "contain"):  # in time, by a person: the debrief counts neither
        people.slash("U1", "/sce", command)
    people.slash("UFAC", "/sce", "end")
    wanted = "detect_within ➖ not measured"
    while time.monotonic() < deadline + 10:
        line = status_of(workspace, record.thread_ts)
        if wanted in line and "contain_within ➖ not measured" in line:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the status line ticks a simulated expectation: {line}")
    assert "detect_within ✅" not in line and "contain_within ✅" not in line
    debrief = bot.services.engine.debrief_from(record, bot.services.store.events(record.id))
    assert {n.name for n in debrief.not_measured} == {"detect_within", "contain_within"}

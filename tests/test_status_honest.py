"""The kickoff message's live status line ticks only what the debrief will count: with every fault
simulated, detect_within and contain_within read "not measured", never ✅, however soon people click."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from inprocess_bot import Bot, bot_on
from threads import wait_until

from bot.gameday.ports import GameDayRecord
from bot.gameday.timeline import Kind
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
    with bot_on(workspace, tmp_path, {"simulated-only": SIMULATED}) as running:
        yield running


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

    def kicked_off() -> GameDayRecord | None:
        running = bot.services.store.active_in_channel("C1")
        return running[0] if running and running[0].thread_ts else None

    record = wait_until(kicked_off, 20, "the kickoff message")
    wait_until(
        lambda: any(e.kind is Kind.PAGE_SENT for e in bot.services.store.events(record.id)), 20, "the page"
    )
    for command in ("detected", "contain"):  # in time, by a person: the debrief counts neither
        people.slash("U1", "/sce", command)
    people.slash("UFAC", "/sce", "end")

    def over() -> bool:
        now = bot.services.store.get(record.id)
        return now is not None and now.status == "completed"

    wait_until(over, 20, "the end")
    assert bot.services.announcer.status_line.flush(20)  # the final status line is sent, not waiting

    def final_line() -> str | None:
        line = status_of(workspace, record.thread_ts)
        return line if "contain_within" in line else None

    line = wait_until(final_line, 20, "the final status line")
    assert "detect_within ➖ not measured" in line and "contain_within ➖ not measured" in line, line
    assert "detect_within ✅" not in line and "contain_within ✅" not in line
    debrief = bot.services.engine.debrief_from(record, bot.services.store.events(record.id))
    assert {n.name for n in debrief.not_measured} == {"detect_within", "contain_within"}

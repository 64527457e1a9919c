"""The status message costs Slack a chat.update only when what a reader sees changes.

A step that says something changes nothing on the status message: the elapsed time is Slack's own
relative time ("started 3 minutes ago"), which each reader's client keeps current, so no update is
sent for it. A pause, a resume, a page and the end each change what is shown, and each is sent. Run
with the real SlackAnnouncer against the local workspace over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from slack_harness import SlackGameDays

from bot.slack.status_line import StatusLine
from bot.workspace.server import LocalWorkspace
from bot.workspace.web_api import ApiCall


@pytest.fixture
def days(workspace: LocalWorkspace) -> Iterator[SlackGameDays]:
    days = SlackGameDays(workspace)
    days.announcer.status_line.close()
    days.announcer.status_line = StatusLine(min_interval=0.0)  # every change is sent: none coalesced
    yield days
    days.announcer.status_line.close()


def scenario() -> str:
    return json.dumps(
        {
            "id": "status-updates",
            "title": "Status updates",
            "charter": {"objective": "o", "hypothesis": "h"},
            "guardrails": {"max_duration": "1h"},
            "oncall": {"primary": "@primary", "secondary": "@secondary"},
            "steps": [
                {"at": 10, "say": "one"},
                {"at": 20, "say": "two"},
                {"at": 30, "say": "three"},
                {"at": 40, "page": {"severity": "low", "summary": "look"}},
            ],
        }
    )


def kickoff(days: SlackGameDays, gameday: str) -> tuple[str, list[ApiCall]]:
    """What the status message shows, and the chat.update calls it took."""
    record = days.store.get(gameday)
    assert record is not None and record.thread_ts is not None
    ts = record.thread_ts
    updates = [c for c in days.workspace.calls if c.method == "chat.update" and c.params.get("ts") == ts]
    message = days.workspace.state.find_message("C1", record.thread_ts)
    assert message is not None
    return json.dumps(message.blocks), updates


def step(days: SlackGameDays, seconds: float) -> None:
    days.advance(seconds)
    assert days.announcer.status_line.flush(10)


def test_only_a_change_a_reader_sees_costs_a_chat_update(days: SlackGameDays) -> None:
    started = days.clock.now()
    gameday = days.start(scenario())
    step(days, 11)  # the first step: the status message shows the start, as it did from its post
    shown, updates = kickoff(days, gameday)
    at = datetime.fromtimestamp(int(started), UTC).strftime("%H:%M:%S")
    assert f"started <!date^{int(started)}^{{ago}}|at {at} UTC>" in shown  # Slack keeps it current
    assert "elapsed" not in shown
    after_start = len(updates)
    assert after_start == 0  # the kickoff was posted with the started status: the first look changes nothing

    step(days, 21)  # two more `say` steps: nothing on the status message changes
    assert len(kickoff(days, gameday)[1]) == after_start

    assert days.engine.pause(gameday, "UFAC").ok
    step(days, 0)
    shown, updates = kickoff(days, gameday)
    assert "paused" in shown and len(updates) == after_start + 1
    assert days.engine.resume(gameday, "UFAC").ok
    step(days, 0)
    shown, updates = kickoff(days, gameday)
    assert "running" in shown and len(updates) == after_start + 2

    step(days, 10)  # the page: "pages open 1 of 1"
    shown, updates = kickoff(days, gameday)
    assert "pages open 1 of 1" in shown and len(updates) == after_start + 3

    assert days.engine.end(gameday, "UFAC").ok
    days.settle()
    shown, updates = kickoff(days, gameday)
    assert "lasted" in shown and "<!date^" not in shown  # over: a fixed duration, not a moving time
    assert len(updates) == after_start + 4

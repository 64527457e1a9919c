"""Preflight's Slack check: `/sce start` in a channel the bot is not in (public, or private and unseen)
starts nothing and says how to fix it; once the bot is invited, the same command starts the game day.
The bot is `sce serve`'s Bolt app over HTTP, the channel the local workspace's, asked fresh each time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from served_app import local_settings, served_app
from threads import start_gameday, wait_until

from bot.gameday.clock import VirtualClock
from bot.runtime.service import Services
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

ROOT = Path(__file__).resolve().parents[1]
START = "start pager-stress oncall=<@U1> secondary=<@U2>"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Services, WorkspaceClient]]:
    clock = VirtualClock()
    ws = LocalWorkspace(
        signing_secret="s",
        clock=clock.now,
        channels={"C1": "drills", "CPRIV": "secret-drills"},
        private_channels={"CPRIV"},  # hidden from the bot while it is not in it, as Slack does
    ).start()
    with served_app(ws, local_settings(ws, tmp_path, ROOT / "scenarios"), clock) as (services, people):
        yield services, people
    ws.stop()


def answer(people: WorkspaceClient, channel: str) -> str:
    """The start's outcome, after its "Starting ..." (it follows through the response URL)."""
    said = people.slash("UFAC", "/sce", START, channel=channel)
    assert said["status"] == 200, said
    found: str = wait_until(
        lambda: next(
            (
                e["text"]
                for e in people.ephemerals("UFAC")
                if "Preflight failed" in (e.get("text") or "") or " started" in (e.get("text") or "")
            ),
            None,
        ),
        what="the outcome of /sce start",
    )
    return found


@pytest.mark.parametrize("channel", ["C1", "CPRIV"])
def test_a_start_where_the_bot_is_not_a_member_starts_nothing_and_says_to_invite_it(
    served: tuple[Services, WorkspaceClient], channel: str
) -> None:
    services, people = served
    people.set_members(channel, ["UFAC", "U1", "U2"])  # everyone but the bot
    said = answer(people, channel)
    assert "Preflight failed" in said and "I am not in this channel" in said, said
    assert "/invite @" in said
    assert services.store.active_in_channel(channel) == []
    assert not people.messages(channel)  # no kickoff was even tried

    people.set_members(channel, ["UFAC", "U1", "U2", "UBOT"])  # invited: the same command starts
    start_gameday(people, START, channel=channel)
    assert [r.scenario_id for r in services.store.active_in_channel(channel)] == ["pager-stress"]

"""`/sce ticket F-<n>` through `sce serve`'s Bolt app and the local Slack-compatible workspace, against the
local GitHub server (tests/ticket_servers.py): answered at once, the issue opened after the ack and the
result posted to the channel; another channel's finding is not there; a second time names the first."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_findings_slack import ROOT, ask, run_gameday
from ticket_servers import GitHubServer

from bot.config import Settings
from bot.gameday.clock import VirtualClock
from bot.runtime.server import HttpServer
from bot.runtime.service import Services, build_services
from bot.slack.app import create_app, slack_over_http
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace
from storage.finding_store import FindingStore

Served = tuple[Services, WorkspaceClient, dict[str, list[str]], GitHubServer]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    clock = VirtualClock()
    ws = LocalWorkspace(
        signing_secret="s",
        clock=clock.now,
        channels={"C1": "drills", "C2": "red-team"},
        users={"U1": "alice", "U2": "bob", "UFAC": "carol"},
    ).start()
    with GitHubServer() as github:
        settings = Settings(
            slack_bot_token="xoxb-local",
            slack_signing_secret="s",
            slack_api_url=ws.api_url,
            database_url=f"sqlite:///{tmp_path / 's.db'}",
            scenarios_dir=ROOT / "scenarios",
            rotations_dir=tmp_path / "none",
            tickets="github:acme/security",
            github_token=GitHubServer.TOKEN,
            github_api_url=github.url,
        )
        services = build_services(settings, clock)
        server = HttpServer(slack_over_http(create_app(services), services), "127.0.0.1", 0)
        server.start()
        ws.request_url = f"http://127.0.0.1:{server.port}/slack/events"
        people = WorkspaceClient(ws.base_url)
        ids = {channel: run_gameday(services, clock, channel) for channel in ("C1", "C2")}
        yield services, people, ids, github
        people.close()
        server.stop()
        services.stop()
        ws.stop()
        assert github.problems == []


def posted(people: WorkspaceClient, channel: str, needle: str) -> str:
    for _ in range(200):
        for message in people.messages(channel):
            if needle in (message.get("text") or ""):
                return str(message["text"])
        time.sleep(0.02)
    raise AssertionError(f"nothing with {needle!r} was posted to {channel}")


def test_ticket_from_slack_opens_one_issue_and_says_so_in_the_channel(served: Served) -> None:
    services, people, ids, github = served
    c1, c2 = ids["C1"][0], ids["C2"][0]
    assert ask(people, "U1", f"ticket {c1}", "C1") == f"Opening a ticket for `{c1}`..."
    said = posted(people, "C1", "has a ticket now")
    assert said.startswith(f"`{c1}` has a ticket now: https://github.com/acme/security/issues/1")
    assert [path for _, path, _ in github.received] == ["/repos/acme/security/issues"]
    store = FindingStore(services.store.engine)
    assert store.ticket_of(int(c1.removeprefix("F-"))) == "https://github.com/acme/security/issues/1"
    # once: the second time names the first and asks GitHub nothing
    again = ask(people, "U2", f"ticket {c1}", "C1")
    assert again == f"`{c1}` has a ticket already: https://github.com/acme/security/issues/1"
    # another channel's finding is not there, like one that does not exist
    assert ask(people, "U1", f"ticket {c2}", "C1") == f"There is no finding {c2} here."
    assert ask(people, "U1", "ticket F-999999", "C1") == "There is no finding F-999999 here."
    assert ask(people, "U1", "ticket <!channel>", "C1").endswith("finding ids look like F-12.")
    assert "Which finding?" in ask(people, "U1", "ticket", "C1")
    assert len(github.received) == 1
    assert GitHubServer.TOKEN not in " ".join(m.get("text") or "" for m in people.messages("C1"))


def test_a_refused_ticket_is_one_sentence_in_the_channel_and_nothing_stored(served: Served) -> None:
    services, people, ids, github = served
    c1 = ids["C1"][1]
    github.force = 403
    assert ask(people, "U1", f"ticket {c1}", "C1") == f"Opening a ticket for `{c1}`..."
    said = posted(people, "C1", "did not allow")
    assert said == (
        "GitHub did not allow opening an issue in acme/security (403); check the token's permissions."
    )
    assert FindingStore(services.store.engine).ticket_of(int(c1.removeprefix("F-"))) is None
    github.force = None

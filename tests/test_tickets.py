"""Tickets for findings against local GitHub and Jira servers built from the vendors' API descriptions
(tests/ticket_servers.py): `sce findings ticket` opens one ticket per finding with a body the vendor's
schema accepts, `sce findings sync` moves a finding whose ticket is closed (done) to fixed, every failure
is one sentence that changes nothing, hostile finding text arrives as text, and no token is ever shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from core_harness import CoreHarness, scenario_text
from ticket_servers import GitHubServer, JiraServer
from typer.testing import CliRunner

from bot.cli import cli
from bot.gameday.findings.model import FindingState
from bot.gameday.findings.recording import FindingFilter, FindingRecorder
from bot.integrations.tickets.base import TicketError
from bot.integrations.tickets.desk import open_ticket, sync_tickets
from bot.integrations.tickets.github import GitHubIssues
from bot.integrations.tickets.jira import JiraIssues
from storage.database import make_engine, migrate
from storage.finding_store import FindingStore
from storage.sql_store import SqlStore

HOSTILE = (
    "@security-team please look [click](https://evil.example) ![x](https://evil.example/t.png)\n"
    '# not a heading <img src=x onerror=alert(1)> #12 `code` **bold** \\\x1b[2J\x00 }]}"\n'
    '{"type":"mention","attrs":{"id":"all"}} \u202eevil'
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FindingStore:
    url = f"sqlite:///{tmp_path / 'sce.db'}"
    engine = make_engine(url)
    migrate(engine)
    h = CoreHarness(SqlStore(engine))
    findings = FindingStore(engine)
    h.engine.finishing.after_debrief.append(FindingRecorder(findings, h.clock.now))
    gd = h.engine.start(scenario_text(), "C1", "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 60)
    assert h.engine.add_note(gd, "gap", HOSTILE, "U2", h.clock.now(), "d1").ok
    assert h.engine.add_note(gd, "action", "write the revoke runbook", "U1", h.clock.now(), "d2").ok
    assert h.engine.end(gd, "UFAC").ok
    h.posted_debrief()
    monkeypatch.setenv("DATABASE_URL", url)
    for name in ("SCE_TICKETS", "GITHUB_TOKEN", "GITHUB_API_URL", "JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return findings


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        monkeypatch.setenv("SCE_TICKETS", "github:acme/security")
        monkeypatch.setenv("GITHUB_TOKEN", GitHubServer.TOKEN)
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        yield server
        assert server.problems == []


@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Iterator[JiraServer]:
    with JiraServer() as server:
        monkeypatch.setenv("SCE_TICKETS", "jira:SEC")
        monkeypatch.setenv("JIRA_URL", server.url)
        monkeypatch.setenv("JIRA_EMAIL", JiraServer.EMAIL)
        monkeypatch.setenv("JIRA_API_TOKEN", JiraServer.TOKEN)
        yield server
        assert server.problems == []


def sce(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["findings", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def one_sentence(text: str) -> None:
    assert text.count("\n") == 1 and text.strip().endswith(".") and "Traceback" not in text


def tokens_absent(*texts: str) -> None:
    for text in texts:
        for secret in (GitHubServer.TOKEN, JiraServer.TOKEN, "SECRET"):
            assert secret not in text


def test_github_ticket_is_opened_once_with_labels_and_the_finding(
    store: FindingStore, github: GitHubServer
) -> None:
    gap = store.list(FindingFilter(), 0.0)[0]
    code, out, err = sce("ticket", gap.id)
    assert code == 0, err
    assert out == f"{gap.id}: https://github.com/acme/security/issues/1\n"
    ((method, path, body),) = github.received
    assert (method, path) == ("post", "/repos/acme/security/issues")
    assert body["labels"] == ["sce", "sce-finding", "gap"]
    assert body["title"].startswith(f"{gap.id} (gap, pager-stress): ")
    assert f"Evidence: `sce debrief {gap.gameday}`" in body["body"]
    assert f"**Game day:** {gap.gameday.replace('-', chr(92) + '-')}" in body["body"]
    assert store.ticket_of(gap.number) == "https://github.com/acme/security/issues/1"
    # a second time: no new issue, the first one named
    code, out, err = sce("ticket", gap.id)
    assert code == 1 and len(github.received) == 1
    assert err == f"{gap.id} has a ticket already: https://github.com/acme/security/issues/1\n"


def test_hostile_text_reaches_github_as_literal_text(store: FindingStore, github: GitHubServer) -> None:
    gap = store.list(FindingFilter(), 0.0)[0]
    assert sce("ticket", gap.id)[0] == 0
    body = github.received[0][2]["body"]
    # no unescaped mention, link, image, HTML tag, heading or issue reference survives
    assert re.search(r"(?<!\\)@security", body) is None
    assert re.search(r"(?<!\\)\[click(?<!\\)\]", body) is None
    assert re.search(r"(?<!\\)<img", body) is None
    assert re.search(r"(?m)^#", body) is None
    assert re.search(r"(?<!\\)#12", body) is None
    assert "\x1b" not in body and "\x00" not in body and "\u202e" not in body
    # and unescaping CommonMark's backslash escapes gives the text back (control characters shown as U+FFFD)
    unescaped = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", body)
    assert "@security-team please look [click](https://evil.example)" in unescaped
    title = github.received[0][2]["title"]
    assert "\n" not in title and "\x1b" not in title and len(title) <= 200


def test_jira_ticket_has_an_adf_description_and_basic_auth(store: FindingStore, jira: JiraServer) -> None:
    gap = store.list(FindingFilter(), 0.0)[0]
    code, out, err = sce("ticket", gap.id)
    assert code == 0, err
    assert out == f"{gap.id}: {jira.url}/browse/SEC-1\n"
    ((method, path, body),) = jira.received
    assert (method, path) == ("post", "/rest/api/3/issue")
    fields = body["fields"]
    assert fields["project"] == {"key": "SEC"} and fields["issuetype"] == {"name": "Task"}
    assert fields["labels"] == ["sce", "sce-finding", "gap"]
    doc = fields["description"]
    assert (doc["type"], doc["version"]) == ("doc", 1)
    texts = [node.get("text", "\n") for p in doc["content"] for node in p["content"]]
    joined = "".join(texts)
    # the hostile text is text nodes, whole: no mention node, no link mark, no markup read into it
    assert "@security-team please look [click](https://evil.example)" in joined
    assert '{"type":"mention","attrs":{"id":"all"}}' in joined
    assert all(node["type"] in ("text", "hardBreak") for p in doc["content"] for node in p["content"])
    assert f"sce debrief {gap.gameday}" in texts
    assert "\x00" not in joined and "\x1b" not in joined
    assert store.ticket_of(gap.number) == "SEC-1"
    assert sce("ticket", gap.id)[0] == 1 and len(jira.received) == 1


def test_github_sync_moves_a_closed_ticket_to_fixed_and_leaves_an_open_one(
    store: FindingStore, github: GitHubServer
) -> None:
    gap, action = store.list(FindingFilter(), 0.0)[:2]
    assert sce("ticket", gap.id)[0] == 0 and sce("ticket", action.id)[0] == 0
    code, out, _ = sce("sync")
    assert code == 0 and out == "Fixed by their tickets: none; still open: 2.\n"
    github.close(2)
    code, out, _ = sce("sync")
    assert code == 0 and out == f"Fixed by their tickets: {action.id}; still open: 1.\n"
    moved = store.get(action.number)
    assert moved is not None and moved.state is FindingState.FIXED and moved.notes[-1].by == "ticket"
    assert store.get(gap.number).state is FindingState.OPEN  # type: ignore[union-attr]
    # a fixed finding is not asked about again
    before = len(github.received)
    assert sce("sync")[1] == "Fixed by their tickets: none; still open: 1.\n"
    assert len(github.received) == before + 1


def test_jira_sync_moves_only_the_done_category(store: FindingStore, jira: JiraServer) -> None:
    gap, action = store.list(FindingFilter(), 0.0)[:2]
    assert sce("ticket", gap.id)[0] == 0 and sce("ticket", action.id)[0] == 0
    jira.issues["SEC-1"]["category"] = "indeterminate"  # in progress is not done
    jira.issues["SEC-2"]["category"] = "done"
    code, out, _ = sce("sync")
    assert code == 0 and out == f"Fixed by their tickets: {action.id}; still open: 1.\n"
    assert store.get(gap.number).state is FindingState.OPEN  # type: ignore[union-attr]
    assert store.get(action.number).state is FindingState.FIXED  # type: ignore[union-attr]


@pytest.mark.parametrize("status", [401, 403, 404, 500])
def test_a_refusal_is_one_sentence_and_changes_nothing(
    store: FindingStore, github: GitHubServer, status: int
) -> None:
    gap = store.list(FindingFilter(), 0.0)[0]
    github.force = status
    code, out, err = sce("ticket", gap.id)
    assert code == 1 and out == ""
    one_sentence(err)
    assert "GitHub" in err and str(status) in err
    tokens_absent(out, err)
    assert store.ticket_of(gap.number) is None
    # sync failing on a ticket leaves the finding as it was
    github.force = None
    assert sce("ticket", gap.id)[0] == 0
    github.close(1)
    github.force = status
    code, out, err = sce("sync")
    assert code == 1
    one_sentence(err)
    tokens_absent(out, err)
    assert store.get(gap.number).state is FindingState.OPEN  # type: ignore[union-attr]


@pytest.mark.parametrize("status", [401, 403, 404, 500])
def test_a_jira_refusal_is_one_sentence_without_the_token(
    store: FindingStore, jira: JiraServer, status: int
) -> None:
    gap = store.list(FindingFilter(), 0.0)[0]
    jira.force = status
    code, out, err = sce("ticket", gap.id)
    assert code == 1
    one_sentence(err)
    assert "Jira" in err and str(status) in err
    tokens_absent(out, err)
    assert store.ticket_of(gap.number) is None


def test_a_wrong_token_is_refused_by_the_server(
    store: FindingStore, github: GitHubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrongSECRET")
    code, _, err = sce("ticket", store.list(FindingFilter(), 0.0)[0].id)
    assert code == 1 and "refused the credentials (401)" in err
    tokens_absent(err)


def test_a_tracker_that_does_not_answer_in_time_is_one_sentence(store: FindingStore) -> None:
    gap = store.list(FindingFilter(), 0.0)[0]
    with GitHubServer() as server, JiraServer() as jira:
        server.force = jira.force = "hang"
        trackers: list[Any] = [
            GitHubIssues("acme/security", GitHubServer.TOKEN, server.url, timeout=0.2),
            JiraIssues("SEC", jira.url, JiraServer.EMAIL, JiraServer.TOKEN, timeout=0.2),
        ]
        for tracker in trackers:
            with pytest.raises(TicketError) as caught:
                open_ticket(store, tracker, gap.number)
            assert str(caught.value) == f"{tracker.name} could not be asked: it did not answer in time."
            tokens_absent(str(caught.value), repr(tracker))
        assert store.ticket_of(gap.number) is None
        store.set_ticket(gap.number, "https://github.com/acme/security/issues/1")
        result = sync_tickets(store, trackers[0], lambda: 0.0)
        assert (
            result.fixed == []
            and len(result.failures) == 1
            and "did not answer in time" in result.failures[0]
        )


def test_a_redirect_is_not_followed(store: FindingStore) -> None:
    gap = store.list(FindingFilter(), 0.0)[0]
    with GitHubServer() as server:
        server.force = 301
        with pytest.raises(TicketError, match="redirect"):
            open_ticket(store, GitHubIssues("acme/security", GitHubServer.TOKEN, server.url), gap.number)
        assert len(server.received) == 1


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({}, "Tickets are off: set SCE_TICKETS"),
        ({"SCE_TICKETS": "github:acme/security"}, "GITHUB_TOKEN is not set"),
        (
            {"SCE_TICKETS": "jira:SEC", "JIRA_URL": "https://x.example"},
            "JIRA_EMAIL, JIRA_API_TOKEN is not set",
        ),
        ({"SCE_TICKETS": "gitlab:acme/x"}, "must start with github: or jira:"),
        ({"SCE_TICKETS": "github:../../etc", "GITHUB_TOKEN": "t"}, "is not a GitHub repository"),
        ({"SCE_TICKETS": "github:acme/..", "GITHUB_TOKEN": "t"}, "is not a GitHub repository"),
        (
            {
                "SCE_TICKETS": "jira:sec; drop",
                "JIRA_URL": "https://x.example",
                "JIRA_EMAIL": "e",
                "JIRA_API_TOKEN": "t",
            },
            "is not a Jira project key",
        ),
    ],
)
def test_configuration_mistakes_are_one_sentence(
    store: FindingStore, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], said: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = sce("ticket", store.list(FindingFilter(), 0.0)[0].id)
    assert code == 1 and out == "" and said in err
    one_sentence(err)


def test_bad_and_unknown_ids(store: FindingStore, github: GitHubServer) -> None:
    assert sce("ticket", "F-x")[0] == 2
    code, _, err = sce("ticket", "F-999")
    assert code == 1 and err == "There is no finding F-999.\n"
    assert github.received == []


def test_the_servers_check_what_the_vendor_schemas_refuse() -> None:
    """The validation is not a pass-everything: bodies the descriptions refuse are reported."""
    import requests

    with GitHubServer() as gh:
        auth = {"Authorization": f"Bearer {GitHubServer.TOKEN}"}
        requests.post(
            f"{gh.url}/repos/acme/security/issues", json={"body": "no title"}, headers=auth, timeout=5
        )
        requests.post(
            f"{gh.url}/repos/acme/security/issues",
            json={"title": "t", "labels": "sce"},
            headers=auth,
            timeout=5,
        )
        assert len(gh.problems) == 2 and "'title' is a required property" in gh.problems[0]
        gh.problems.clear()
    with JiraServer() as jira:
        import base64

        basic = base64.b64encode(f"{JiraServer.EMAIL}:{JiraServer.TOKEN}".encode()).decode()
        empty_text = {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}],
        }
        fields = {
            "project": {"key": "SEC"},
            "summary": "a\nb",
            "issuetype": {"name": "Task"},
            "description": empty_text,
            "labels": ["two words"],
        }
        requests.post(
            f"{jira.url}/rest/api/3/issue",
            json={"fields": fields},
            headers={"Authorization": f"Basic {basic}"},
            timeout=5,
        )
        assert len(jira.problems) == 3  # the summary's line break, the empty text node, the label's space
        jira.problems.clear()


def test_serve_syncs_every_ten_minutes_off_the_timer_thread(store: FindingStore) -> None:
    from bot.config import Settings
    from bot.integrations.tickets.poller import SYNC_EVERY_SECONDS, TicketPoller
    from bot.runtime.service import _ticket_poller
    from storage.sql_store import SqlStore

    gap = store.list(FindingFilter(), 0.0)[0]
    wall = [1000.0]
    with GitHubServer() as server:
        tracker = GitHubIssues("acme/security", GitHubServer.TOKEN, server.url)
        open_ticket(store, tracker, gap.number)
        server.close(1)
        poller = TicketPoller(store, tracker, wall_clock=lambda: wall[0])
        assert poller.run_due(0.0) == 0 and poller._running is not None
        poller._running.join(5)
        assert store.get(gap.number).state is FindingState.FIXED  # type: ignore[union-attr]
        asked = len(server.received)
        wall[0] += SYNC_EVERY_SECONDS - 1
        poller.run_due(0.0)  # not due yet: nothing asked
        assert len(server.received) == asked
    # serve wires it only when SCE_TICKETS can be used; a mistake is logged, not raised
    sql = SqlStore(store.engine)
    assert _ticket_poller(Settings(tickets="github:acme/security"), sql) == []
    wired = _ticket_poller(Settings(tickets="github:acme/security", github_token="t"), sql)
    assert len(wired) == 1 and isinstance(wired[0], TicketPoller)

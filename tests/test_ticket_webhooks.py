"""`POST /hooks/github` and `POST /hooks/jira` through `sce serve`'s HTTP server (tests/served_app.py), over
real HTTP: a ticket closed in the tracker moves its finding to fixed, and nothing else does.

The bodies are built from the vendors' documents and validated against them before they are sent:
GitHub's from octokit/webhooks (payload-schemas issues/closed, issues/reopened, ping; the reopened and
ping examples), vendored in tests/data/tickets/github-webhooks-issues.json with its commit; Jira's from
the envelope Atlassian's webhook page documents around the REST API's own IssueBean, StatusDetails and
UserDetails schemas (tests/data/tickets/jira-webhook-issue-updated.json). The signatures are computed
here with hashlib's HMAC, independently of the code under test.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from referencing import Registry, Resource
from served_app import served_app
from test_findings_slack import ROOT, run_gameday
from ticket_servers import Described

from bot.config import Settings
from bot.gameday.clock import VirtualClock
from bot.gameday.findings.model import Finding, FindingState
from bot.runtime.service import Services
from bot.workspace.server import LocalWorkspace
from storage.finding_store import FindingStore

DATA = Path(__file__).parent / "data" / "tickets"
SECRET = "whsec-test-0123456789"
REPO = "Codertocat/Hello-World"  # the repository of octokit's example payloads
GITHUB = json.loads((DATA / "github-webhooks-issues.json").read_text())
JIRA = json.loads((DATA / "jira-webhook-issue-updated.json").read_text())
_REGISTRY = Registry().with_resources(
    [(key, Resource.from_contents(schema)) for key, schema in GITHUB["schemas"].items()]
)


def valid_github(payload: dict[str, Any], schema: str) -> dict[str, Any]:
    errors = [
        e.message
        for e in jsonschema.Draft7Validator(GITHUB["schemas"][schema], registry=_REGISTRY).iter_errors(
            payload
        )
    ]
    assert errors == [], errors
    return payload


def valid_jira(payload: dict[str, Any]) -> dict[str, Any]:
    components = Described("jira-issues-openapi.json").doc["components"]
    validator = jsonschema.Draft7Validator({**JIRA["schema"], "components": components})
    errors = [e.message for e in validator.iter_errors(payload)]
    assert errors == [], errors
    return payload


def issue_event(
    number: int, action: str = "closed", reason: str | None = "completed", repo: str = REPO
) -> dict[str, Any]:
    """octokit's reopened example made into the event wanted, then checked against its schema."""
    payload = copy.deepcopy(GITHUB["examples"]["issues.reopened"])
    payload["action"] = action
    issue = payload["issue"]
    issue["number"] = number
    issue["html_url"] = f"https://github.com/{repo}/issues/{number}"
    issue["url"] = f"https://api.github.com/repos/{repo}/issues/{number}"
    payload["repository"]["full_name"] = repo
    if action == "closed":
        issue["state"], issue["closed_at"], issue["state_reason"] = "closed", "2026-03-02T10:00:00Z", reason
        return valid_github(payload, "issues$closed")
    issue["state"], issue["closed_at"], issue["state_reason"] = "open", None, "reopened"
    return valid_github(payload, "issues$reopened")


def jira_event(
    key: str, category: str = "done", event: str = "jira:issue_updated", project: str | None = None
) -> dict[str, Any]:
    names = {"done": "Done", "indeterminate": "In Progress", "new": "To Do"}
    payload = {
        "timestamp": 1772445600000,
        "webhookEvent": event,
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof", "active": True},
        "issue": {
            "id": "10042",
            "self": "https://example.atlassian.net/rest/api/3/issue/10042",
            "key": key,
            "fields": {
                "summary": "F-1 (gap)",
                "project": {"key": project or key.split("-")[0], "name": "Operations"},
                "status": {
                    "name": names[category],
                    "id": "10001",
                    "statusCategory": {
                        "id": 3,
                        "key": category,
                        "name": names[category],
                        "colorName": "green",
                    },
                },
            },
        },
        "changelog": {
            "id": "10301",
            "items": [
                {"field": "status", "fieldtype": "jira", "fromString": "To Do", "toString": names[category]}
            ],
        },
    }
    return valid_jira(payload)


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Hooks:
    """The served app's /hooks/ over HTTP, and its findings."""

    def __init__(self, services: Services, base: str, found: list[str]):
        self.services, self.base, self.ids = services, base, found
        self.store = FindingStore(services.store.engine)

    def number(self, index: int) -> int:
        return int(self.ids[index].removeprefix("F-"))

    def finding(self, index: int) -> Finding:
        found = self.store.get(self.number(index))
        assert found is not None
        return found

    def github(
        self, payload: Any, event: str = "issues", delivery: str | None = None, **headers: str
    ) -> requests.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(body),
            **headers,
        }
        return requests.post(f"{self.base}/hooks/github", data=body, headers=sent, timeout=10)

    def jira(self, payload: Any, delivery: str | None = None, **headers: str) -> requests.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {
            "Content-Type": "application/json",
            "X-Atlassian-Webhook-Identifier": delivery or str(uuid.uuid4()),
            "X-Hub-Signature": sign(body),
            **headers,
        }
        return requests.post(f"{self.base}/hooks/jira", data=body, headers=sent, timeout=10)


Serve = Callable[..., Hooks]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """``serve(tickets=..., secret=...)``: `sce serve`'s app with one finished game day's findings."""
    stack: list[Any] = []

    def start(tickets: str = f"github:{REPO}", secret: str | None = SECRET) -> Hooks:
        clock = VirtualClock()
        ws = LocalWorkspace(
            signing_secret="s",
            clock=clock.now,
            channels={"C1": "drills"},
            users={"U1": "alice", "U2": "bob", "UFAC": "carol"},
        ).start()
        stack.append(ws)
        settings = Settings(
            slack_bot_token="xoxb-local",
            slack_signing_secret="s",
            slack_api_url=ws.api_url,
            database_url=f"sqlite:///{tmp_path / f's{len(stack)}.db'}",
            scenarios_dir=ROOT / "scenarios",
            rotations_dir=tmp_path / "none",
            tickets=tickets,
            tickets_webhook_secret=secret,
            digest=None,
        )
        context = served_app(ws, settings, clock)
        services, _ = context.__enter__()
        stack.append(context)
        found = run_gameday(services, clock, "C1")
        base = str(ws.request_url).removesuffix("/slack/events")
        return Hooks(services, base, found)

    yield start
    for item in reversed(stack):
        if isinstance(item, LocalWorkspace):
            item.stop()
        else:
            item.__exit__(None, None, None)


def ticketed(hooks: Hooks, index: int, number: int, repo: str = REPO) -> str:
    url = f"https://github.com/{repo}/issues/{number}"
    assert hooks.store.set_ticket(hooks.number(index), url)
    return url


def test_a_closed_issue_moves_its_finding_to_fixed_and_nothing_else(serve: Serve) -> None:
    hooks = serve()
    ticketed(hooks, 0, 7)
    ticketed(hooks, 1, 8)
    answer = hooks.github(issue_event(7))
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] is True
    fixed = hooks.finding(0)
    assert fixed.state is FindingState.FIXED and fixed.fixed_at is not None
    assert (fixed.notes[-1].by, fixed.notes[-1].text) == (
        "ticket",
        f"ticket https://github.com/{REPO}/issues/7 closed",
    )
    assert hooks.finding(1).state is FindingState.OPEN  # its own ticket is still open
    # closing it again (a second close event, another delivery) changes nothing and says so
    later = issue_event(7)
    later["issue"]["updated_at"] = "2026-03-03T00:00:00Z"
    again = hooks.github(later, delivery="another")
    assert again.status_code == 200 and again.json()["changed"] is False
    assert hooks.finding(0).version == fixed.version


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


ATTACKS: dict[str, Callable[[Hooks], requests.Response]] = {
    "no signature": lambda h: h.github(issue_event(7), **{"X-Hub-Signature-256": ""}),
    "signed with another secret": lambda h: h.github(
        issue_event(7), **{"X-Hub-Signature-256": sign(body_of(issue_event(7)), "guessed")}
    ),
    "the signature of another body": lambda h: h.github(
        issue_event(7), **{"X-Hub-Signature-256": sign(body_of(issue_event(8)))}
    ),
    "sha1 scheme, correctly computed": lambda h: h.github(
        issue_event(7),
        **{
            "X-Hub-Signature-256": "sha1="
            + hmac.new(SECRET.encode(), body_of(issue_event(7)), hashlib.sha1).hexdigest()
        },
    ),
    "the signature in the sha1 header only": lambda h: h.github(
        issue_event(7), **{"X-Hub-Signature-256": "", "X-Hub-Signature": sign(body_of(issue_event(7)))}
    ),
    "a truncated signature": lambda h: h.github(
        issue_event(7), **{"X-Hub-Signature-256": sign(body_of(issue_event(7)))[:40]}
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_unauthenticated_webhooks_are_refused_and_change_nothing(serve: Serve, attack: str) -> None:
    hooks = serve()
    ticketed(hooks, 0, 7)
    answer = ATTACKS[attack](hooks)
    assert answer.status_code == 401, answer.text
    assert answer.json()["ok"] is False and "X-Hub-Signature-256" in answer.json()["error"]
    assert hooks.finding(0).state is FindingState.OPEN and hooks.finding(0).version == 1


def test_bad_bodies_get_a_sentence_and_change_nothing(serve: Serve) -> None:
    hooks = serve()
    ticketed(hooks, 0, 7)
    too_big = b'{"action": "closed", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    answer = hooks.github(too_big)
    assert answer.status_code == 413 and "1 MiB" in answer.json()["error"]
    for body in (b"{not json", b"\xff\xfe", b'{"a": ' * 5000):
        answer = hooks.github(body)
        assert answer.status_code == 400 and answer.json()["error"].startswith("The body is not JSON")
    payload: object
    for payload in (
        [],
        {"action": "closed"},
        {"action": "closed", "issue": {"html_url": 3}, "repository": {}},
    ):
        answer = hooks.github(payload)
        assert answer.status_code == 400 and "not a GitHub issues event" in answer.json()["error"], (
            answer.text
        )
    # an event naming the configured repository about an issue of another one
    crossed = issue_event(7)
    crossed["issue"]["html_url"] = "https://github.com/evil/repo/issues/7"
    assert hooks.github(crossed).status_code == 400
    assert "Traceback" not in answer.text
    assert hooks.finding(0).state is FindingState.OPEN and hooks.finding(0).version == 1


def test_only_the_configured_repository_and_findings_tickets_count(serve: Serve) -> None:
    hooks = serve()
    ticketed(hooks, 0, 7)
    elsewhere = hooks.github(issue_event(7, repo="evil/Hello-World"))
    assert elsewhere.status_code == 202 and "not the repository" in elsewhere.json()["ignored"]
    nobodys = hooks.github(issue_event(99))
    assert nobodys.status_code == 202 and nobodys.json()["ignored"] == "That issue is no finding's ticket."
    for event in ("push", "issue_comment", ""):
        assert hooks.github(issue_event(7), event=event).status_code == 202
    labeled = issue_event(7)
    labeled["action"] = "labeled"
    assert hooks.github(labeled).status_code == 202
    ping = copy.deepcopy(GITHUB["examples"]["ping"])
    valid_github(ping, "ping$event")
    pong = hooks.github(ping, event="ping")
    assert pong.status_code == 200 and pong.json()["result"] == "pong"
    assert hooks.finding(0).state is FindingState.OPEN and hooks.finding(0).version == 1
    # the same repository in other letters is the same repository (GitHub's names are case-insensitive)
    assert hooks.github(issue_event(7, repo=REPO.lower())).status_code == 202  # the URL stored differs
    assert hooks.finding(0).state is FindingState.OPEN


def test_a_replayed_delivery_counts_once(serve: Serve) -> None:
    hooks = serve()
    ticketed(hooks, 0, 7)
    body = body_of(issue_event(7, reason="not_planned"))
    first = hooks.github(body, delivery="d-1")
    assert first.status_code == 200 and first.json()["changed"] is False
    notes = len(hooks.finding(0).notes)
    for delivery in ("d-1", "d-2-new-id-same-body"):
        again = hooks.github(body, delivery=delivery)
        assert again.status_code == 200 and "already received" in again.json()["result"]
    # the same delivery id on another (validly signed) body is a replay too
    assert "already received" in hooks.github(issue_event(7), delivery="d-1").json()["result"]
    assert len(hooks.finding(0).notes) == notes and hooks.finding(0).state is FindingState.OPEN


@pytest.mark.parametrize("reason", ["not_planned", "duplicate", "<!channel> weird\u202e"])
def test_closed_without_a_fix_is_a_note_not_a_fix(serve: Serve, reason: str) -> None:
    hooks = serve()
    url = ticketed(hooks, 0, 7)
    answer = hooks.github(issue_event(7, reason=reason))
    assert answer.status_code == 200 and answer.json()["changed"] is False
    finding = hooks.finding(0)
    assert finding.state is FindingState.OPEN and finding.fixed_at is None
    shown = reason if reason.isidentifier() else "another reason"
    assert finding.notes[-1].text == f"ticket {url} closed as {shown}: not a fix, {finding.id} stays open"


def test_reopened_ticket_of_a_fixed_finding_is_a_note_and_it_stays_fixed(serve: Serve) -> None:
    hooks = serve()
    url = ticketed(hooks, 0, 7)
    assert hooks.github(issue_event(7)).json()["changed"] is True
    answer = hooks.github(issue_event(7, action="reopened"))
    assert answer.status_code == 200 and answer.json()["changed"] is False
    finding = hooks.finding(0)
    assert finding.state is FindingState.FIXED
    assert finding.notes[-1].text == f"ticket {url} reopened; {finding.id} stays fixed"
    # reopening the ticket of an open finding: nothing to note
    ticketed(hooks, 1, 8)
    assert hooks.github(issue_event(8, action="reopened")).json()["result"].endswith("is open already.")


def test_without_the_secret_or_with_the_other_tracker_the_hooks_are_not_there(serve: Serve) -> None:
    off = serve(secret=None)
    ticketed(off, 0, 7)
    assert off.github(issue_event(7)).status_code == 404
    assert off.jira(jira_event("OPS-1")).status_code == 404
    assert off.finding(0).state is FindingState.OPEN
    github = serve()
    assert github.jira(jira_event("OPS-1")).status_code == 404  # SCE_TICKETS is GitHub
    assert requests.get(f"{github.base}/hooks/github", timeout=5).status_code == 405
    # the alert webhooks still answer as before (503: no alert secret)
    assert requests.post(f"{github.base}/hooks/alert", data=b"{}", timeout=5).status_code == 503


def test_jira_done_fixes_and_nothing_else_does(serve: Serve) -> None:
    hooks = serve(tickets="jira:OPS")
    for index, key in ((0, "OPS-12"), (1, "OPS-13")):
        assert hooks.store.set_ticket(hooks.number(index), key)
    assert hooks.jira(jira_event("OPS-12", "indeterminate")).status_code == 202
    assert hooks.jira(jira_event("OTHER-12")).status_code == 202  # another project
    assert hooks.jira(jira_event("OPS-12", event="jira:issue_created")).status_code == 202
    mismatched = hooks.jira(jira_event("OPS-12", project="OTHER"))
    assert mismatched.status_code == 400 and "does not belong" in mismatched.json()["error"]
    body = body_of(jira_event("OPS-12"))
    wrong_header = hooks.jira(body, **{"X-Hub-Signature": "", "X-Hub-Signature-256": sign(body)})
    assert wrong_header.status_code == 401
    assert hooks.jira(body, **{"X-Hub-Signature": sign(body, "guessed")}).status_code == 401
    assert hooks.finding(0).state is FindingState.OPEN and hooks.finding(0).version == 1
    done = hooks.jira(body, delivery="jira-1")
    assert done.status_code == 200 and done.json()["changed"] is True, done.text
    assert hooks.finding(0).state is FindingState.FIXED
    assert hooks.finding(0).notes[-1].text == "ticket OPS-12 moved to Done"
    assert hooks.finding(1).state is FindingState.OPEN
    assert "already received" in hooks.jira(body, delivery="jira-1").json()["result"]  # Jira's retry
    # moved out of done while fixed: a note, and it stays fixed
    back = hooks.jira(jira_event("OPS-12", "indeterminate") | {"timestamp": 1772445700000})
    assert back.status_code == 200 and hooks.finding(0).state is FindingState.FIXED
    assert hooks.finding(0).notes[-1].text.startswith("ticket OPS-12 reopened")


def test_the_secret_is_read_from_the_environment_and_never_shown() -> None:
    assert Settings.from_env({"SCE_TICKETS_WEBHOOK_SECRET": SECRET}).tickets_webhook_secret == SECRET
    assert Settings.from_env({"SCE_TICKETS_WEBHOOK_SECRET": ""}).tickets_webhook_secret is None
    assert SECRET not in repr(Settings(tickets_webhook_secret=SECRET))

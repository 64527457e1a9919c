"""A tracker's webhook body, read as ticket news: only the fields sce needs, typed, everything else ignored.

GitHub: the ``issues`` event (octokit/webhooks payload-schemas ``issues/closed`` and ``issues/reopened``):
``action``, ``issue.html_url``, ``issue.number``, ``issue.state_reason``, ``repository.full_name``.
Jira Cloud: ``jira:issue_updated`` (the issue as ``GET /rest/api/3/issue`` shows it): ``webhookEvent``,
``issue.key``, ``issue.fields.project.key``, ``issue.fields.status.statusCategory.key``.

``Ignored`` is an event that is well formed but not for sce (another action, another repository or
project): answered 202. ``BadPayload`` is a body that is not the event it says it is: answered 400.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.debrief.findings import printable
from bot.integrations.tickets.news import TicketNews, Verdict

FIX_REASONS = (None, "completed")
"""GitHub ``state_reason`` values that close an issue as done (None: a server older than the field)."""
DONE_CATEGORY = "done"
_REASON = re.compile(r"[a-z_]{1,40}")
_KEY = re.compile(r"([A-Z][A-Z0-9_]{0,49})-[1-9][0-9]{0,17}")


class Ignored(Exception):
    """Well formed, but nothing for sce; the message says why."""


class BadPayload(ValueError):
    """Not the event it claims to be; the message is the sentence to answer."""


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _GitHubIssue(_Loose):
    html_url: str
    number: int
    state_reason: str | None = None


class _GitHubRepository(_Loose):
    full_name: str


class _GitHubIssuesEvent(_Loose):
    action: str
    issue: _GitHubIssue
    repository: _GitHubRepository


class _Category(_Loose):
    key: str


class _Status(_Loose):
    name: str = ""
    statusCategory: _Category  # noqa: N815 (Jira's name)


class _Project(_Loose):
    key: str


class _JiraFields(_Loose):
    status: _Status
    project: _Project | None = None


class _JiraIssue(_Loose):
    key: str
    fields: _JiraFields


class _JiraIssueEvent(_Loose):
    webhookEvent: str  # noqa: N815 (Jira's name)
    issue: _JiraIssue


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "the body"
    return f"{printable(where)[:80]} ({error['msg'].lower()[:80]})"


def github_news(payload: Any, repo: str) -> TicketNews:
    """The news of an ``issues`` event about the configured repository ``repo`` (owner/name)."""
    action = payload.get("action") if isinstance(payload, dict) else None
    if isinstance(action, str) and action not in ("closed", "reopened"):
        raise Ignored(f"issue {printable(action)[:40]} events change no finding")
    try:
        event = _GitHubIssuesEvent.model_validate(payload)
    except ValidationError as exc:
        raise BadPayload(f"The body is not a GitHub issues event: {_first_problem(exc)}.") from None
    if event.repository.full_name.lower() != repo.lower():
        raise Ignored(f"{printable(event.repository.full_name)[:120]} is not the repository in SCE_TICKETS")
    expected_tail = f"/{repo}/issues/{event.issue.number}".lower()
    if not event.issue.html_url.startswith("https://") or not event.issue.html_url.lower().endswith(
        expected_tail
    ):
        raise BadPayload("The issue's html_url is not an issue of the repository the event names.")
    if event.action == "reopened":
        return TicketNews(event.issue.html_url, Verdict.REOPENED, "reopened")
    reason = event.issue.state_reason
    if reason in FIX_REASONS:
        return TicketNews(event.issue.html_url, Verdict.FIXED, "closed")
    shown = reason if _REASON.fullmatch(reason or "") else "another reason"
    return TicketNews(event.issue.html_url, Verdict.NOT_FIXED, f"closed as {shown}")


def jira_news(payload: Any, project: str, fixed_now: bool) -> TicketNews:
    """The news of a ``jira:issue_updated`` event about an issue of ``project``. ``fixed_now``: whether
    the issue's finding is fixed (a status that left ``done`` then reads as reopened)."""
    kind = payload.get("webhookEvent") if isinstance(payload, dict) else None
    if isinstance(kind, str) and kind != "jira:issue_updated":
        raise Ignored(f"{printable(kind)[:60]} events change no finding")
    event = jira_event(payload)
    category = event.issue.fields.status.statusCategory.key
    if category == DONE_CATEGORY:
        name = printable(event.issue.fields.status.name)[:60] or "done"
        return TicketNews(event.issue.key, Verdict.FIXED, f"moved to {name}")
    if fixed_now:
        return TicketNews(event.issue.key, Verdict.REOPENED, "reopened")
    raise Ignored(f"{event.issue.key} is not in a done status; nothing changes")


def jira_event(payload: Any) -> _JiraIssueEvent:
    """The event, checked: well formed, and about an issue whose key belongs to its project."""
    try:
        event = _JiraIssueEvent.model_validate(payload)
    except ValidationError as exc:
        raise BadPayload(f"The body is not a Jira issue event: {_first_problem(exc)}.") from None
    match = _KEY.fullmatch(event.issue.key)
    if match is None:
        raise BadPayload("issue.key is not a Jira issue key (PROJECT-123).")
    project = event.issue.fields.project
    if project is not None and project.key != match[1]:
        raise BadPayload("issue.key does not belong to issue.fields.project.")
    return event


def jira_project_of(payload: Any) -> str:
    """The project of a Jira issue event (checked as ``jira_event`` does)."""
    match = _KEY.fullmatch(jira_event(payload).issue.key)
    assert match is not None
    return match[1]

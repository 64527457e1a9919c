"""Jira Cloud issues as tickets (REST API v3: ``POST /rest/api/3/issue``,
``GET /rest/api/3/issue/{key}?fields=status``), Basic auth with the account's email and API token.

A ticket is a Task with the labels ``sce``, ``sce-finding`` and the finding's kind, its description a
document in Atlassian Document Format; it is done when its status is in the ``done`` category.
"""

from __future__ import annotations

import base64
import re

from bot.gameday.findings.model import Finding
from bot.integrations.tickets import content
from bot.integrations.tickets.base import Ticket, TicketError, call, refusal, session

NAME = "Jira"
SUMMARY_LIMIT = 255
_PROJECT = re.compile(r"[A-Z][A-Z0-9_]{0,49}")
_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,49}-[1-9][0-9]{0,17}")


def check_project(project: str) -> str:
    if not _PROJECT.fullmatch(project):
        raise TicketError(
            f"SCE_TICKETS: {project[:60]!r} is not a Jira project key; write jira:KEY, e.g. jira:SEC."
        )
    return project


class JiraIssues:
    name = NAME

    def __init__(self, project: str, url: str, email: str, token: str, timeout: float = 10.0):
        self.project = check_project(project)
        self.site = url.rstrip("/")
        self.timeout = timeout
        basic = base64.b64encode(f"{email}:{token}".encode()).decode()
        self._headers = {"Authorization": f"Basic {basic}"}
        self.http = session()

    def __repr__(self) -> str:
        return f"JiraIssues({self.project!r})"  # never the token

    def open(self, finding: Finding) -> Ticket:
        fields = {
            "project": {"key": self.project},
            "summary": content.title(finding)[:SUMMARY_LIMIT],
            "description": content.adf_body(finding),
            "issuetype": {"name": "Task"},
            "labels": ["sce", "sce-finding", str(finding.kind)],
        }
        what = f"opening an issue in project {self.project}"
        status, answer = call(
            self.http,
            NAME,
            "POST",
            f"{self.site}/rest/api/3/issue",
            self._headers,
            {"fields": fields},
            self.timeout,
        )
        if status != 201:
            raise refusal(NAME, status, what)
        key = answer.get("key") if isinstance(answer, dict) else None
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise TicketError(f"{NAME} answered {what} without the new issue's key.")
        return Ticket(ref=key, url=f"{self.site}/browse/{key}")

    def is_done(self, ref: str) -> bool:
        if not _KEY.fullmatch(ref):
            raise TicketError(f"{ref[:60]!r} is not a Jira issue key.")
        what = f"reading issue {ref}"
        status, answer = call(
            self.http,
            NAME,
            "GET",
            f"{self.site}/rest/api/3/issue/{ref}?fields=status",
            self._headers,
            timeout=self.timeout,
        )
        if status != 200:
            raise refusal(NAME, status, what)
        try:
            category = answer["fields"]["status"]["statusCategory"]["key"]
        except (KeyError, TypeError):
            raise TicketError(f"{NAME} answered {what} without the issue's status.") from None
        return bool(category == "done")

"""GitHub issues as tickets (REST API: ``POST /repos/{owner}/{repo}/issues``, ``GET .../issues/{n}``).

The stored reference is the issue's ``html_url``; its number is read back from it. The token goes in the
Authorization header and nowhere else (never a URL, never a message).
"""

from __future__ import annotations

import re

from bot.gameday.findings.model import Finding
from bot.integrations.tickets import content
from bot.integrations.tickets.base import Ticket, TicketError, call, refusal, session

DEFAULT_API_URL = "https://api.github.com"
NAME = "GitHub"
_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
_NUMBER = re.compile(r"/issues/([1-9][0-9]{0,18})$")


def check_repo(repo: str) -> str:
    if not _REPO.fullmatch(repo) or repo.split("/")[1] in (".", ".."):
        raise TicketError(f"SCE_TICKETS: {repo[:120]!r} is not a GitHub repository; write github:owner/repo.")
    return repo


class GitHubIssues:
    name = NAME

    def __init__(self, repo: str, token: str, api_url: str = DEFAULT_API_URL, timeout: float = 10.0):
        self.repo = check_repo(repo)
        self.api = api_url.rstrip("/")
        self.timeout = timeout
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        self.http = session()

    def __repr__(self) -> str:
        return f"GitHubIssues({self.repo!r})"  # never the token

    def open(self, finding: Finding) -> Ticket:
        payload = {
            "title": content.title(finding),
            "body": content.markdown_body(finding),
            "labels": ["sce", "sce-finding", str(finding.kind)],
        }
        what = f"opening an issue in {self.repo}"
        status, answer = call(
            self.http,
            NAME,
            "POST",
            f"{self.api}/repos/{self.repo}/issues",
            self._headers,
            payload,
            self.timeout,
        )
        if status != 201:
            raise refusal(NAME, status, what)
        url = answer.get("html_url") if isinstance(answer, dict) else None
        if not isinstance(url, str) or _NUMBER.search(url) is None or not url.startswith("https://"):
            raise TicketError(f"{NAME} answered {what} without the new issue's address.")
        return Ticket(ref=url, url=url)

    def is_done(self, ref: str) -> bool:
        match = _NUMBER.search(ref)
        if match is None:
            raise TicketError(f"{ref[:120]!r} is not a GitHub issue address.")
        what = f"reading issue #{match[1]} of {self.repo}"
        status, answer = call(
            self.http,
            NAME,
            "GET",
            f"{self.api}/repos/{self.repo}/issues/{match[1]}",
            self._headers,
            timeout=self.timeout,
        )
        if status != 200:
            raise refusal(NAME, status, what)
        state = answer.get("state") if isinstance(answer, dict) else None
        if state not in ("open", "closed"):
            raise TicketError(f"{NAME} answered {what} without the issue's state.")
        return bool(state == "closed")

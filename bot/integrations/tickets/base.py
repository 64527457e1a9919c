"""What a ticket tracker is to sce (open a ticket for a finding; is it done?) and the one bounded HTTP call
both trackers make.

Every call has a timeout, reads at most ``LIMIT`` bytes of the answer, follows no redirect (a tracker that
moves answers 3xx and that is a failure: credentials never follow to another host), ignores the
environment's proxies and .netrc, and fails with one ``TicketError`` sentence that names the tracker and
never the token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from bot.gameday.findings.model import Finding
from bot.integrations.bounded_http import reason

LIMIT = 1024 * 1024
"""Bytes of one answer read at most (a ticket is a few KiB; more is not a tracker answering)."""
TIMEOUT = 10.0
"""Seconds one call may take."""


class TicketError(RuntimeError):
    """A ticket could not be opened or read; the message is the one sentence to show."""


@dataclass(frozen=True)
class Ticket:
    ref: str  # what is stored on the finding: the URL (GitHub) or its key (Jira)
    url: str  # where people open it


class TicketTracker(Protocol):
    name: str

    def open(self, finding: Finding) -> Ticket:
        """Open a ticket for ``finding``; TicketError with the sentence to show when it could not."""
        ...

    def is_done(self, ref: str) -> bool:
        """Whether ticket ``ref`` is closed (GitHub) or in a done status (Jira); TicketError if unknown."""
        ...


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # no proxy from the environment, no credentials from .netrc
    return s


def call(
    http: requests.Session,
    tracker: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    payload: object = None,
    timeout: float = TIMEOUT,
) -> tuple[int, Any]:
    """The status and the decoded JSON answer of one call; TicketError for no answer, a redirect, an
    answer over ``LIMIT`` bytes or one that is not JSON. Other statuses are the caller's to judge."""
    try:
        with http.request(
            method,
            url,
            json=payload,
            headers={"User-Agent": "sce game day", "Accept": "application/json", **headers},
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            body = response.raw.read(LIMIT + 1, decode_content=True)
            status = response.status_code
    except requests.RequestException as exc:
        raise TicketError(f"{tracker} could not be asked: {reason(exc)}.") from None
    if 300 <= status < 400:
        raise TicketError(f"{tracker} answered with a redirect ({status}), which is not followed.")
    if len(body) > LIMIT:
        raise TicketError(f"{tracker} answered with more than {LIMIT // 1024} KiB; the answer was dropped.")
    if not body:
        return status, None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def refusal(tracker: str, status: int, what: str) -> TicketError:
    """The sentence for a status that is not the one expected."""
    if status == 401:
        return TicketError(f"{tracker} refused the credentials ({status}) when {what}; check the token.")
    if status == 403:
        return TicketError(f"{tracker} did not allow {what} ({status}); check the token's permissions.")
    if status == 404:
        return TicketError(f"{tracker} knows no such project or ticket ({status}) when {what}.")
    if status in (410, 422, 400):
        return TicketError(f"{tracker} rejected {what} ({status}).")
    return TicketError(f"{tracker} failed when {what} ({status}); try again later.")

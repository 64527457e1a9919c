"""Errors raised inside the local workspace.

Two kinds exist because the two surfaces report failures differently: the Slack Web API
always answers HTTP 200 with ``{"ok": false, "error": code}``, while the driver API (used by
tests and scripted people) uses real HTTP status codes so a broken script fails loudly.
"""

from __future__ import annotations


class SlackApiFailure(Exception):
    """A Web API method failed the way Slack reports it: ``{"ok": false, "error": code}``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class DriverError(Exception):
    """A driver action could not be performed; carries the HTTP status to answer with."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code

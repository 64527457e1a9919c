"""Everything a game day sends outside Slack passes here: the request as the scenario wrote it, and the
one place that asks whether the game day is a dry run.

A dry run sends nothing (no http or webhook call, no PagerDuty event, no cluster write); what it would
have sent is described instead, with ``${env:NAME}`` references shown as written, never resolved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

from bot.gameday.ports import GameDayRecord


def sends(record: GameDayRecord) -> bool:
    """Whether this game day may change anything outside Slack. Every outbound effect asks here."""
    return not record.dry_run


@dataclass(frozen=True)
class OutboundRequest:
    """An HTTP request as the scenario wrote it: ``${env:NAME}`` unresolved, so safe to show and store.

    ``json`` is sent as a JSON body (its strings resolved one by one); otherwise ``body`` as text.
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    json: object = None

    def shown(self) -> dict[str, object]:
        """For the timeline: method, URL, headers and body exactly as they would go, references unresolved."""
        body = json.dumps(self.json, sort_keys=True) if self.json is not None else self.body
        return {"method": self.method, "url": self.url, "headers": dict(self.headers), "body": body}

    def sentence(self) -> str:
        """One line for the thread."""
        shown = self.shown()
        headers = ", ".join(f"{k}: {v}" for k, v in self.headers.items()) or "none"
        body = f"; body {shown['body']}" if shown["body"] is not None else ""
        return f"{self.method} {self.url} (headers {headers}{body})"


@dataclass(frozen=True)
class CallOutcome:
    """What a call got: its status (0 when nothing answered or it was not sent) and, when something
    stopped it (a refused URL or redirect, an unset ``${env:NAME}``), one sentence saying what."""

    status: int
    problem: str | None = None
    redirects: tuple[str, ...] = ()  # the hops followed, each checked against guardrails.hosts


class HttpCaller(Protocol):
    """The one way the core reaches an HTTP target. The caller resolves ``${env:NAME}`` at the moment of
    the call, checks the URL (and every redirect) against ``hosts``, and never raises."""

    def call(self, request: OutboundRequest, hosts: list[str]) -> CallOutcome: ...

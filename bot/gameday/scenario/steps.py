"""A scenario's steps: when each runs and the one thing it does (page, say, fault, handoff, logs,
http, sbom or webhook). Checks that need the whole scenario (order, time box, allowed hosts and
namespaces) are in ``bot/gameday/scenario/model``."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.gameday.sbom.lookup import query_problem
from bot.gameday.scenario.fields import PRIMARY, Duration, StrictModel
from bot.gameday.scenario.outbound_url import UrlRefused, parse_url
from bot.gameday.scenario.secret_refs import reference_problem, strings_in

SHA256 = re.compile(r"[0-9a-f]{64}")


class PageSpec(StrictModel):
    severity: str = "SEV-3"
    summary: str
    runbook: str | None = None
    to: str = PRIMARY


class HandoffSpec(StrictModel):
    to: str = "secondary"
    from_: str = Field("primary", alias="from")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FaultSpec(BaseModel):
    """A fault request; drivers validate their own parameters, so extra keys are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str
    namespace: str | None = None
    selector: dict[str, str] = {}
    ttl: Duration = 10 * 60


class LogsSpec(StrictModel):
    """Log lines streamed into the thread one by one (the article's "tabletop + live logs").

    ``file`` (relative to the scenarios folder) is read when the game day starts and kept with it.
    """

    file: str | None = None
    lines: list[str] = []
    every: Duration = 10.0

    @model_validator(mode="after")
    def _some_lines(self) -> LogsSpec:
        if (self.file is None) == (not self.lines):
            raise ValueError("logs needs either file (a log shipped with the scenario) or lines, not both")
        if self.every <= 0:
            raise ValueError("logs.every must be longer than 0s")
        return self


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _outbound_url(url: str) -> str:
    """An http or webhook URL, read by the one parser calls use (``bot/gameday/scenario/outbound_url``)."""
    problem = reference_problem(url)
    if problem:
        raise ValueError(problem)
    try:
        parse_url(url)
    except UrlRefused as exc:
        raise ValueError(str(exc)) from None
    return url


def _outbound_headers(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"header name {name!r} is not a valid HTTP header name")
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise ValueError(f"header {name} holds a line break or control character")
        problem = reference_problem(value)
        if problem:
            raise ValueError(f"header {name}: {problem}")
    return headers


def _outbound_strings(data: object) -> None:
    for text in strings_in(data):
        problem = reference_problem(text)
        if problem:
            raise ValueError(problem)


class _OutboundCall(StrictModel):
    """A call out of the game day: its url is checked as it will be connected, its headers may name
    secrets as ``${env:NAME}``, read from the environment only when the call is made
    (``bot/gameday/scenario/secret_refs``)."""

    url: str
    headers: dict[str, str] = {}

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _outbound_url(url)

    @field_validator("headers")
    @classmethod
    def _headers(cls, headers: dict[str, str]) -> dict[str, str]:
        return _outbound_headers(headers)


class HttpProbeSpec(_OutboundCall):
    """Requests to a target the scenario allows (guardrails.hosts); each status is checked against expect.
    ``${env:NAME}`` may stand in the url's path and query, a header or the body."""

    method: Literal["GET", "POST", "HEAD"] = "GET"
    count: int = Field(1, ge=1, le=100)
    expect: list[int] = [200]
    body: str | None = None

    @field_validator("body")
    @classmethod
    def _body(cls, body: str | None) -> str | None:
        _outbound_strings(body)
        return body


class SbomFound(StrictModel):
    """What the lookup found, written into the stored scenario when the game day starts."""

    format: str  # e.g. "CycloneDX 1.5 JSON"
    components: int
    matched: list[str] = []  # the matching components' names as the SBOM has them
    versions: list[str] = []
    unversioned: int = 0  # matching components that state no version
    affected: list[str] = []  # every component that contains or depends on one of them


class SbomSpec(StrictModel):
    """Find a package (name, namespaced name or purl) in a CycloneDX or SPDX file shipped with the scenario;
    list what contains it. The file is read when the game day starts; the game day keeps the file's name,
    its SHA-256 and what was found, not a copy. ``sha256`` written in the scenario pins the file's content."""

    file: str
    package: str
    sha256: str | None = None
    found: SbomFound | None = None  # written when the game day starts, never by hand
    document: dict[str, Any] | None = None  # what earlier versions kept: the SBOM itself

    @field_validator("sha256", mode="before")
    @classmethod
    def _sha256(cls, value: object) -> object:
        if value is not None and not (isinstance(value, str) and SHA256.fullmatch(value)):
            raise ValueError(f"`sha256:` must be the file's SHA-256, 64 hex digits in quotes, not {value!r}")
        return value

    @field_validator("package")
    @classmethod
    def _package(cls, package: str) -> str:
        problem = query_problem(package)
        if problem:
            raise ValueError(f"`package:` {package!r} {problem}")
        return package


class WebhookSpec(_OutboundCall):
    """Call the team's pipeline or feature-flag service (a host in guardrails.hosts), on the timeline."""

    payload: dict[str, Any] = {}

    @field_validator("payload")
    @classmethod
    def _payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        _outbound_strings(payload)
        return payload


StepKind = Literal["page", "say", "fault", "handoff", "logs", "http", "sbom", "webhook"]
STEP_KINDS: tuple[StepKind, ...] = ("page", "say", "fault", "handoff", "logs", "http", "sbom", "webhook")


class Step(StrictModel):
    at: Duration
    page: PageSpec | None = None
    say: str | None = None
    fault: FaultSpec | None = None
    handoff: HandoffSpec | None = None
    logs: LogsSpec | None = None
    http: HttpProbeSpec | None = None
    sbom: SbomSpec | None = None
    webhook: WebhookSpec | None = None
    facilitator_note: str | None = None

    @model_validator(mode="after")
    def _exactly_one_action(self) -> Step:
        present = [name for name in STEP_KINDS if getattr(self, name) is not None]
        if len(present) != 1:
            raise ValueError(
                f"a step needs exactly one of {', '.join(STEP_KINDS)}"
                + (f" (found {', '.join(present)})" if present else "")
            )
        return self

    @property
    def kind(self) -> StepKind:
        for name in STEP_KINDS:
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated step without an action")

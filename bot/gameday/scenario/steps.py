"""A scenario's steps: when each runs and the one thing it does (page, say, fault, handoff, logs,
http, sbom or webhook). Checks that need the whole scenario (order, time box, allowed hosts and
namespaces) are in ``bot/gameday/scenario/model``."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.gameday.sbom.lookup import query_problem
from bot.gameday.scenario.fields import PRIMARY, Duration, StrictModel
from bot.gameday.scenario.log_sources import (
    LIVE_EVERY_MIN,
    MAX_PODS_CAP,
    SOURCES,
    SourceFieldError,
    container_problem,
    loki_query_problem,
    match_problem,
    namespace_problem,
    selector_problem,
)
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
    """Log lines in the thread (the article's "tabletop + live logs"): from a file shipped with the
    scenario or inline ``lines``, one line every ``every``; or followed live from a ``source``
    (``kubernetes``: the pods of ``namespace`` matching ``selector``; ``loki``: a LogQL ``query``), the
    lines matching ``match`` posted in one message every ``every``, for ``for`` (default: until the game
    day ends). Checks of the live fields: ``bot/gameday/scenario/log_sources``.

    ``file`` (relative to the scenarios folder) is read when the game day starts and kept with it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    file: str | None = None
    lines: list[str] = []
    every: Duration = 10.0
    source: str | None = None  # file (the default) | kubernetes | loki
    namespace: str | None = None
    selector: dict[str, str] = {}
    container: str | None = None
    query: str | None = None
    match: str | None = None
    for_: Duration | None = Field(None, alias="for")
    max_pods: int = 20

    @field_validator("max_pods")
    @classmethod
    def _max_pods(cls, max_pods: int) -> int:
        if not 1 <= max_pods <= MAX_PODS_CAP:
            raise ValueError(f"max_pods is {max_pods}; follow between 1 and {MAX_PODS_CAP} pods at once")
        return max_pods

    @property
    def live(self) -> bool:
        """Followed from a cluster or Loki while the game day runs, rather than read from the scenario."""
        return self.source not in (None, "file")

    @field_validator("source")
    @classmethod
    def _source(cls, source: str | None) -> str | None:
        if source is not None and source not in SOURCES:
            raise ValueError(f"{source!r} is not a log source; use one of {', '.join(SOURCES)}")
        return source

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, namespace: str | None) -> str | None:
        problem = namespace and namespace_problem(namespace)
        if problem:
            raise ValueError(problem)
        return namespace

    @field_validator("selector", mode="before")
    @classmethod
    def _selector(cls, selector: object) -> object:
        problem = isinstance(selector, dict) and selector_problem(selector)
        if problem:
            raise ValueError(problem)
        return selector

    @field_validator("container")
    @classmethod
    def _container(cls, container: str | None) -> str | None:
        problem = container and container_problem(container)
        if problem:
            raise ValueError(problem)
        return container

    @field_validator("query")
    @classmethod
    def _query(cls, query: str | None) -> str | None:
        problem = query is not None and loki_query_problem(query)
        if problem:
            raise ValueError(problem)
        return query

    @field_validator("match")
    @classmethod
    def _match(cls, match: str | None) -> str | None:
        problem = match is not None and match_problem(match)
        if problem:
            raise ValueError(problem)
        return match

    @model_validator(mode="after")
    def _some_lines(self) -> LogsSpec:
        if self.every <= 0:
            raise SourceFieldError("logs.every must be longer than 0s", "every")
        if self.live:
            self._live_fields()
            return self
        if (self.file is None) == (not self.lines):
            raise ValueError("logs needs either file (a log shipped with the scenario) or lines, not both")
        for name in ("namespace", "selector", "container", "query", "match", "for_"):
            if getattr(self, name):
                field = name.rstrip("_")
                raise SourceFieldError(f"`{field}:` belongs to a live source (kubernetes or loki)", field)
        return self

    def _live_fields(self) -> None:
        """What each live source needs, and nothing that belongs to another."""
        if self.file is not None or self.lines:
            field = "file" if self.file is not None else "lines"
            raise SourceFieldError(
                f"`{field}:` is for logs shipped with the scenario, not source {self.source}", field
            )
        if self.every < LIVE_EVERY_MIN:
            raise SourceFieldError(
                f"a live source posts at most one message every {LIVE_EVERY_MIN:g}s "
                "(Slack's rate per channel)",
                "every",
            )
        if self.for_ is not None and self.for_ <= 0:
            raise SourceFieldError(
                "`for:` must be longer than 0s (leave it out to follow until the end)", "for"
            )
        if self.source == "kubernetes":
            if not self.namespace:
                raise SourceFieldError(
                    "source kubernetes needs `namespace:` (where the pods run)", "namespace"
                )
            if not self.selector:
                raise SourceFieldError(
                    "source kubernetes needs `selector:` (the pods' labels, e.g. {app: web})", "selector"
                )
            if self.query is not None:
                raise SourceFieldError(
                    "`query:` belongs to source loki; kubernetes takes a selector", "query"
                )
        else:
            if not self.query:
                raise SourceFieldError("source loki needs `query:` (LogQL, e.g. '{app=\"web\"}')", "query")
            for name in ("namespace", "container"):
                if getattr(self, name) is not None:
                    raise SourceFieldError(
                        f"`{name}:` belongs to source kubernetes; put it in the query", name
                    )
            if self.selector:
                raise SourceFieldError(
                    "`selector:` belongs to source kubernetes; put it in the query", "selector"
                )


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

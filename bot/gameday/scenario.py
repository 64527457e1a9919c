"""Scenario files (format v1): the experiment charter plus a timeline of steps.

The field names are a product contract (see the README); models reject unknown fields so a typo is
reported instead of silently ignored.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from bot.gameday.alerts import stop_condition_problems
from bot.gameday.durations import parse_duration
from bot.gameday.fault_values import fault_value_problem
from bot.gameday.outbound_url import UrlRefused, check_host, check_url, parse_url
from bot.gameday.secret_refs import reference_problem, strings_in

Duration = Annotated[float, BeforeValidator(parse_duration)]
PRIMARY = "@primary"
SECONDARY = "@secondary"
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "default"})


class StepOrderError(ValueError):
    """A whole-scenario check that blames one step; ``loc`` is where, below the validated field."""

    def __init__(self, message: str, loc: tuple[str | int, ...]):
        super().__init__(message)
        self.loc = loc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Owners(_Strict):
    captain: str | None = None
    rollback: str | None = None
    observer: str | None = None


class Charter(_Strict):
    objective: str
    hypothesis: str
    scope: str | None = None
    method: str | None = None
    owners: Owners = Owners()
    rollback: str | None = None


class Approval(_Strict):
    required: bool = False
    approvers: list[str] = []


class Guardrails(_Strict):
    max_duration: Duration = 45 * 60
    namespaces: list[str] = []
    dry_run: bool = False
    stop_on: list[dict[str, Any]] = []
    hosts: list[str] = []  # the only hosts http and webhook steps may call

    @field_validator("hosts")
    @classmethod
    def _plain_host_names(cls, hosts: list[str]) -> list[str]:
        """Each entry is read by the rule URLs are read by, so the comparison is exact."""
        for host in hosts:
            try:
                check_host(host)
            except UrlRefused as exc:
                sentence = str(exc).replace("the URL's host", "the host")
                raise ValueError(f"{host!r}: {sentence}") from None
        return hosts

    @field_validator("stop_on")
    @classmethod
    def _conditions_that_can_match(cls, stop_on: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A typo in a stop condition would silently disable a guardrail: refuse it instead."""
        problems = stop_condition_problems(stop_on)
        if problems:
            raise ValueError(" ".join(p.replace("guardrails.stop_on", "entry") for p in problems))
        return stop_on


class OnCall(_Strict):
    primary: str = PRIMARY
    secondary: str = SECONDARY
    escalate_after: Duration | None = 5 * 60
    group: str | None = None
    rotation: str | None = None
    pagerduty_schedule: str | None = None  # a PagerDuty schedule id (PAGERDUTY_API_TOKEN)


class Expectations(_Strict):
    acknowledge_within: Duration | None = None
    handoff_within: Duration | None = None
    detect_within: Duration | None = None
    contain_within: Duration | None = None
    update_every: Duration | None = None


class PageSpec(_Strict):
    severity: str = "SEV-3"
    summary: str
    runbook: str | None = None
    to: str = PRIMARY


class HandoffSpec(_Strict):
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


class LogsSpec(_Strict):
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
    """An http or webhook URL, read by the one parser calls use (``bot/gameday/outbound_url``)."""
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


class _OutboundCall(_Strict):
    """A call out of the game day: its url is checked as it will be connected, its headers may name
    secrets as ``${env:NAME}``, read from the environment only when the call is made
    (``bot/gameday/secret_refs``)."""

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


class SbomSpec(_Strict):
    """Find a package in a CycloneDX or SPDX JSON file shipped with the scenario; list what contains it."""

    file: str
    package: str
    document: dict[str, Any] | None = None  # filled from ``file`` when the game day starts


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


class Step(_Strict):
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


class DebriefSpec(_Strict):
    questions: list[str] = []


class Scenario(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    mode: Literal["live", "tabletop"] = "live"
    attack: list[Annotated[str, Field(pattern=r"^T\d{4}(\.\d{3})?$")]] = []
    charter: Charter
    approval: Approval = Approval()
    guardrails: Guardrails = Guardrails()
    oncall: OnCall = OnCall()
    expect: Expectations = Expectations()
    steps: list[Step] = Field(min_length=1)
    debrief: DebriefSpec = DebriefSpec()

    @field_validator("steps")
    @classmethod
    def _steps_in_order(cls, steps: list[Step]) -> list[Step]:
        for index, (earlier, later) in enumerate(zip(steps, steps[1:], strict=False), start=1):
            if later.at < earlier.at:
                raise StepOrderError(
                    f"runs at {later.at:g}s, before the step above it ({earlier.at:g}s); "
                    "steps must be listed in the order of their 'at' times",
                    (index, "at"),
                )
        return steps

    @model_validator(mode="after")
    def _fits_time_box(self) -> Scenario:
        last = self.steps[-1].at
        if last >= self.guardrails.max_duration:
            raise StepOrderError(
                f"the last step runs at {last:g}s, at or after guardrails.max_duration "
                f"({self.guardrails.max_duration:g}s); raise max_duration or move the step",
                ("steps", len(self.steps) - 1, "at"),
            )
        return self

    @model_validator(mode="after")
    def _calls_only_to_allowed_hosts(self) -> Scenario:
        """http and webhook steps reach only hosts the scenario names in guardrails.hosts."""
        for index, step in enumerate(self.steps):
            for kind in ("http", "webhook"):
                spec = getattr(step, kind)
                if spec is None:
                    continue
                try:
                    check_url(spec.url, self.guardrails.hosts)
                except UrlRefused as exc:
                    raise StepOrderError(str(exc), ("steps", index, kind, "url")) from None
        return self

    @model_validator(mode="after")
    def _faults_inside_the_blast_radius(self) -> Scenario:
        """The scenario's own allow-list, checked when the file is read (the deployment's comes at start)."""
        for index, step in enumerate(self.steps):
            fault = step.fault
            if fault is None or fault.type.startswith("simulated"):
                continue
            where = ("steps", index, "fault", "namespace")
            if not fault.namespace:
                raise StepOrderError(
                    f"a {fault.type} fault needs a namespace (one of guardrails.namespaces)", where
                )
            if fault.namespace in SYSTEM_NAMESPACES:
                raise StepOrderError(
                    f"{fault.namespace} is a system namespace; faults never run there", where
                )
            if fault.namespace not in self.guardrails.namespaces:
                allowed = ", ".join(self.guardrails.namespaces) or "none"
                raise StepOrderError(
                    f"{fault.namespace} is not in guardrails.namespaces ({allowed}); add it there first",
                    where,
                )
        return self

    @model_validator(mode="after")
    def _fault_values_have_their_shape(self) -> Scenario:
        """Hosts, ports, Secret names, domains and images a fault hands to the cluster (fault_values)."""
        for index, step in enumerate(self.steps):
            fault = step.fault
            problem = fault and fault_value_problem(fault.type, fault.model_extra or {})
            if problem:
                key, sentence = problem
                raise StepOrderError(sentence, ("steps", index, "fault", key))
        return self


def content_hash(text: str) -> str:
    """The hash that binds a game day (and its approval) to the exact scenario text it ran."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

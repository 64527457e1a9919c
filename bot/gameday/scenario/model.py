"""Scenario files (format v1): the experiment charter plus a timeline of steps.

The field names are a product contract (see the README); models reject unknown fields so a typo is
reported instead of silently ignored. Here: the whole file and the checks that need all of it; the
sections around the steps are in ``scenario_sections``, the steps in ``step_specs``, what both are
built from in ``scenario_fields`` (every name is re-exported here).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from bot.gameday.scenario.attack_ids import technique_problem
from bot.gameday.scenario.chaos_mesh_params import chaos_mesh_problem
from bot.gameday.scenario.dashboards import Dashboard, bounded_dashboards
from bot.gameday.scenario.fault_values import fault_value_problem
from bot.gameday.scenario.fields import PRIMARY, SECONDARY, Duration, StrictModel
from bot.gameday.scenario.governance import Change, Comms
from bot.gameday.scenario.outbound_url import UrlRefused, check_url
from bot.gameday.scenario.panels import Panel, bounded_panels
from bot.gameday.scenario.preflight_spec import PreflightSpec
from bot.gameday.scenario.sections import (
    Approval,
    Charter,
    DebriefSpec,
    Expectations,
    Guardrails,
    OnCall,
    Owners,
)
from bot.gameday.scenario.steady_state import SteadyProbe
from bot.gameday.scenario.steps import (
    STEP_KINDS,
    FaultSpec,
    HandoffSpec,
    HttpProbeSpec,
    LogsSpec,
    PageSpec,
    SbomFound,
    SbomSpec,
    Step,
    StepKind,
    WebhookSpec,
)
from bot.gameday.scenario.target_share import share_problem
from bot.gameday.scenario.window import Window

# the models of the other scenario modules are imported from here too
__all__ = [
    "PRIMARY",
    "SECONDARY",
    "STEP_KINDS",
    "SYSTEM_NAMESPACES",
    "Approval",
    "Charter",
    "DebriefSpec",
    "Duration",
    "Expectations",
    "FaultSpec",
    "Guardrails",
    "HandoffSpec",
    "HttpProbeSpec",
    "LogsSpec",
    "OnCall",
    "Owners",
    "PageSpec",
    "SbomFound",
    "SbomSpec",
    "Scenario",
    "Step",
    "StepKind",
    "StepOrderError",
    "WebhookSpec",
    "content_hash",
]

SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "default"})


def _current_technique(technique_id: str, info: ValidationInfo) -> str:
    """A technique id of the form T1234 or T1234.001 must also be a current technique (not revoked, not
    deprecated) of the ATT&CK Enterprise release in ``data/`` (``attack_ids``); each id is checked on
    its own, so every wrong one is reported at its line. A game day's stored scenario is not checked
    again: a later release may revoke an id it started with, and it must still end and be debriefed."""
    if (info.context or {}).get("stored"):
        return technique_id
    problem = technique_problem(technique_id)
    if problem:
        raise ValueError(problem)
    return technique_id


# the form first (a pattern error says what an id looks like), then the release's data
TechniqueId = Annotated[str, Field(pattern=r"^T\d{4}(\.\d{3})?$"), AfterValidator(_current_technique)]


class StepOrderError(ValueError):
    """A whole-scenario check that blames one step; ``loc`` is where, below the validated field."""

    def __init__(self, message: str, loc: tuple[str | int, ...]):
        super().__init__(message)
        self.loc = loc


class Scenario(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    mode: Literal["live", "tabletop"] = "live"
    attack: list[TechniqueId] = []
    charter: Charter
    approval: Approval = Approval()
    guardrails: Guardrails = Guardrails()
    oncall: OnCall = OnCall()
    expect: Expectations = Expectations()
    steady_state: list[SteadyProbe] = []  # PromQL with a tolerance: checked before the game day starts
    panels: list[Panel] = []  # PromQL the debrief draws over the game day, faults as bands (panels.py)
    dashboards: list[Dashboard] = []  # the team's Grafana dashboards, linked in the thread (dashboards.py)
    preflight: PreflightSpec = PreflightSpec()  # a canary alert the game day waits for before it runs
    steps: list[Step] = Field(min_length=1)
    debrief: DebriefSpec = DebriefSpec()
    window: Window | None = None  # when its game days may start (window.py)
    change: Change | None = None  # the change ticket that approves it (governance.py)
    comms: Comms | None = None  # who is told before and while it runs (governance.py)

    @field_validator("panels")
    @classmethod
    def _panels_bounded(cls, panels: list[Panel]) -> list[Panel]:
        return bounded_panels(panels)

    @field_validator("dashboards")
    @classmethod
    def _dashboards_bounded(cls, dashboards: list[Dashboard]) -> list[Dashboard]:
        return bounded_dashboards(dashboards)

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
    def _approved_changes_have_a_ticket(self, info: ValidationInfo) -> Scenario:
        """A change board approves a ticket: a scenario that needs approval names its change ticket.
        A game day's stored text is not checked again (it started under the rules of its day)."""
        if self.approval.required and self.change is None and not (info.context or {}).get("stored"):
            raise StepOrderError(
                "is true, so change.ticket is required: add `change: {ticket: CAB-1234}` "
                "(the change board's ticket for this game day)",
                ("approval", "required"),
            )
        return self

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
        """http and webhook steps, and steady-state HTTP probes, reach only hosts in guardrails.hosts."""
        for index, step in enumerate(self.steps):
            for kind in ("http", "webhook"):
                spec = getattr(step, kind)
                if spec is None:
                    continue
                try:
                    check_url(spec.url, self.guardrails.hosts)
                except UrlRefused as exc:
                    raise StepOrderError(str(exc), ("steps", index, kind, "url")) from None
        for index, probe in enumerate(self.steady_state):
            if probe.http is not None:
                try:
                    check_url(probe.http.url, self.guardrails.hosts)
                except UrlRefused as exc:
                    raise StepOrderError(str(exc), ("steady_state", index, "http", "url")) from None
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
        """A fault's share of targets (target_share), then the hosts, ports, Secret names, domains and
        images it hands to the cluster (fault_values)."""
        for index, step in enumerate(self.steps):
            fault = step.fault
            extra = (fault.model_extra or {}) if fault else {}
            problem = fault and (
                share_problem(fault.type, extra)
                or fault_value_problem(fault.type, extra)
                or chaos_mesh_problem(fault.type, extra)
            )
            if problem:
                key, sentence = problem
                raise StepOrderError(sentence, ("steps", index, "fault", key))
        return self


def content_hash(text: str) -> str:
    """The hash that binds a game day (and its approval) to the exact scenario text it ran."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

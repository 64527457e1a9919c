"""The scenario's sections around its steps: charter, approval, guardrails, on-call, expectations and
the debrief's questions (``bot/gameday/scenario/model`` puts them together and checks the whole file)."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from bot.gameday.measuring.alerts import stop_condition_problems
from bot.gameday.scenario.fields import PRIMARY, SECONDARY, Duration, StrictModel
from bot.gameday.scenario.outbound_url import UrlRefused, check_host


class Owners(StrictModel):
    captain: str | None = None
    rollback: str | None = None
    observer: str | None = None


class Charter(StrictModel):
    objective: str
    hypothesis: str
    scope: str | None = None
    method: str | None = None
    owners: Owners = Owners()
    rollback: str | None = None


class Approval(StrictModel):
    required: bool = False
    approvers: list[str] = []


class Guardrails(StrictModel):
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


class OnCall(StrictModel):
    primary: str = PRIMARY
    secondary: str = SECONDARY
    escalate_after: Duration | None = 5 * 60
    group: str | None = None
    rotation: str | None = None
    pagerduty_schedule: str | None = None  # a PagerDuty schedule id (PAGERDUTY_API_TOKEN)


class Expectations(StrictModel):
    acknowledge_within: Duration | None = None
    handoff_within: Duration | None = None
    detect_within: Duration | None = None
    contain_within: Duration | None = None
    update_every: Duration | None = None


class DebriefSpec(StrictModel):
    questions: list[str] = []

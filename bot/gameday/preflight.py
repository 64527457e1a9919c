"""Preflight: what must hold before a game day starts, or it does not start ("if you can't measure it,
don't run it"). Each check is one line: its name, whether it passed, and a sentence saying what it found
or how to fix it. ``sce preflight <scenario>`` and ``/sce start`` run the same checks.

The scenario's steady state (``steady_state:``): against the team's Prometheus, Prometheus is configured
and answers, every probe returns data and every value is within its tolerance; an HTTP probe answers one
of its statuses. (The cluster's permissions are ``bot/faults/access``'s checks.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.gameday.running.outbound import HttpCaller, OutboundRequest
from bot.gameday.scenario.model import Scenario
from bot.gameday.scenario.steady_state import SteadyHttp, Tolerance

Query = Callable[[str], list[float]]
UNMEASURED = (
    "not measured: SCE_PROMETHEUS_URL is not set; no fault here changes anything real, so the game day "
    "runs with its PromQL steady state unmeasured"
)
HttpStatus = Callable[[str, str, dict[str, str], list[str]], tuple[int, str | None]]


class ProbeFailed(Exception):
    """A metric source could not answer a probe; the message is one sentence."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    sentence: str
    blind: bool = False  # it could not be measured (no Prometheus, no data, a refused query)
    finding: str = ""  # what was measured, short: "50 is outside < 10"

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.sentence}"


def preflight(
    scenario: Scenario, query: Query | None, http: HttpStatus | None = None, changes_nothing: bool = False
) -> list[Check]:
    """Every check for this scenario, in order; empty when it declares nothing to check. ``http`` makes
    an HTTP probe's request (``(method, url, headers, hosts) -> (status, problem)``).

    ``changes_nothing``: every fault would be simulated (no cluster, a demo, a dry run), so nothing real
    is at risk: without Prometheus the steady state is then not measured (said, and listed as such in the
    debrief) instead of keeping the game day from starting.
    """
    checks: list[Check] = []
    promql = [probe for probe in scenario.steady_state if probe.promql is not None]
    if promql and query is None and changes_nothing:
        checks.append(Check("prometheus", True, UNMEASURED, blind=True))
    elif promql and query is None:
        checks.append(
            Check(
                "prometheus",
                False,
                "the scenario declares a steady state, and SCE_PROMETHEUS_URL is not set: set it to the "
                "Prometheus that holds those metrics (or remove steady_state)",
                blind=True,
            )
        )
    for probe in scenario.steady_state:
        if probe.promql is not None and query is not None:
            checks.append(_probe(probe.name, probe.promql, probe.tolerance, query))
        elif probe.http is not None:
            checks.append(_http_probe(probe.name, probe.http, list(scenario.guardrails.hosts), http))
    return checks


def _http_probe(name: str, spec: SteadyHttp, hosts: list[str], http: HttpStatus | None) -> Check:
    label = f"steady state: {name}"
    if http is None:
        return Check(label, False, "no HTTP caller is configured to probe it", blind=True)
    status, problem = http(spec.method, spec.url, dict(spec.headers), hosts)
    if problem:
        return Check(label, False, problem, blind=True)
    if not status:
        return Check(label, False, f"{spec.url} answered nothing", blind=True)
    expected = " or ".join(str(code) for code in spec.expect)
    if status not in spec.expect:
        finding = f"{status} is outside {expected}"
        return Check(
            label,
            False,
            f"{spec.url} answered {status}, not {expected}: the system is not in its steady state",
            finding=finding,
        )
    return Check(label, True, f"{spec.url} answered {status}", finding=f"{status} is within {expected}")


def _probe(name: str, promql: str, tolerance: Tolerance, query: Query) -> Check:
    label = f"steady state: {name}"
    try:
        values = query(promql)
    except ProbeFailed as exc:
        return Check(label, False, str(exc), blind=True)
    if not values:
        return Check(
            label,
            False,
            "the query returns no data: check the metric's name and labels, and that Prometheus scrapes it",
            blind=True,
        )
    outside = [value for value in values if not tolerance.holds(value)]
    shown = ", ".join(f"{value:g}" for value in (outside or values)[:5])
    if outside:
        return Check(
            label,
            False,
            f"{shown} is outside {tolerance}: the system is not in its steady state, so the game day could "
            "not tell its effect from what is already wrong; fix it or wait, then start again",
            finding=f"{shown} is outside {tolerance}",
        )
    return Check(label, True, f"{shown} is within {tolerance}", finding=f"{shown} is within {tolerance}")


def passed(checks: list[Check]) -> bool:
    return all(check.ok for check in checks)


def veto(checks: list[Check]) -> str:
    """What the thread says when a check failed: the game day did not start, and why."""
    failed = [check for check in checks if not check.ok]
    lines = "\n".join(f"• *{check.name}*: {check.sentence}" for check in failed)
    return f"Preflight failed, so the game day did not start (`sce preflight` shows every check):\n{lines}"


def http_status(caller: HttpCaller) -> HttpStatus:
    """An HTTP probe's request through the game day's own caller (guardrails.hosts, secrets, redirects)."""

    def ask(method: str, url: str, headers: dict[str, str], hosts: list[str]) -> tuple[int, str | None]:
        outcome = caller.call(OutboundRequest(method, url, headers), hosts)
        return outcome.status, outcome.problem

    return ask

"""Preflight: what must hold before a game day starts, or it does not start ("if you can't measure it,
don't run it"). Each check is one line: its name, whether it passed, and a sentence saying what it found
or how to fix it. ``sce preflight <scenario>`` and ``/sce start`` run the same checks.

Today: the scenario's steady state (``steady_state:``), against the team's Prometheus: Prometheus is
configured and answers, every probe returns data, and every value is within its tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.gameday.scenario.model import Scenario
from bot.gameday.scenario.steady_state import Tolerance

Query = Callable[[str], list[float]]


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


def preflight(scenario: Scenario, query: Query | None) -> list[Check]:
    """Every check for this scenario, in order; empty when it declares nothing to check."""
    if not scenario.steady_state:
        return []
    if query is None:
        return [
            Check(
                "prometheus",
                False,
                "the scenario declares a steady state, and SCE_PROMETHEUS_URL is not set: set it to the "
                "Prometheus that holds those metrics (or remove steady_state)",
                blind=True,
            )
        ]
    return [_probe(probe.name, probe.promql, probe.tolerance, query) for probe in scenario.steady_state]


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

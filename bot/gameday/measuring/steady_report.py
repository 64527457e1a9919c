"""The steady state's section of the debrief, from the timeline's ``steady_state`` events: what each look
while the game day ran found, and whether (and how soon) it all held again after the end."""

from __future__ import annotations

from typing import Any

from bot.gameday.measuring.report_models import SteadyProbeReport, SteadyStateReport
from bot.gameday.scenario.model import Scenario
from bot.gameday.timeline import Event, Kind

PREFIX = "steady state: "


def steady_state_report(scenario: Scenario, events: list[Event]) -> SteadyStateReport:
    probes = {probe.name: SteadyProbeReport(name=probe.name) for probe in scenario.steady_state}
    report = SteadyStateReport(probes=list(probes.values()))
    for event in events:
        if event.kind is not Kind.STEADY_STATE:
            continue
        looks = [look for look in _list(event.data.get("probes")) if isinstance(look, dict)]
        if event.data.get("phase") == "unmeasured":
            report.not_measured_reason = str(event.data.get("reason") or "")
            continue
        if event.data.get("phase") == "after":
            if report.recovered is not True:
                report.recovered = bool(event.data.get("recovered"))
                if report.recovered:
                    report.recovered_after_seconds = _number(event.data.get("after_seconds"))
            for look in looks:
                probe = probes.get(str(look.get("name", "")).removeprefix(PREFIX))
                if probe is not None and look.get("ok") and probe.recovered_after_seconds is None:
                    probe.recovered_after_seconds = _number(event.data.get("after_seconds"))
            continue
        report.breached = report.breached or bool(event.data.get("breached"))
        for look in looks:
            probe = probes.get(str(look.get("name", "")).removeprefix(PREFIX))
            if probe is None:
                continue
            probe.looks += 1
            probe.last_finding = str(look.get("finding") or "")
            if look.get("ok"):
                probe.held += 1
            elif not look.get("blind"):
                probe.breached += 1
                if probe.first_breach_at is None:
                    probe.first_breach_at = event.at
            else:
                probe.not_measured += 1
    return report


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []

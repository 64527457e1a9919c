"""The simulated driver: records and announces a fault, touches nothing. Works everywhere."""

from __future__ import annotations

from typing import Any

from bot.gameday.ports import Observation
from bot.gameday.scenario.model import FaultSpec


class SimulatedDriver:
    name = "simulated"
    probes = False  # nothing runs, so no outcome ever comes back

    def __init__(self, reason: str | None = None) -> None:
        """``reason`` says why a fault meant for a real system is simulated instead (no cluster)."""
        self.reason = reason
        self.active: dict[tuple[str, str], FaultSpec] = {}

    def plan(
        self, gameday_id: str, fault_id: str, spec: FaultSpec, expires_at: float
    ) -> list[dict[str, Any]]:
        return [
            {
                "verb": "simulate",
                "type": spec.type,
                "namespace": spec.namespace,
                "selector": dict(spec.selector),
            }
        ]

    def apply(self, gameday_id: str, fault_id: str, spec: FaultSpec, expires_at: float) -> str:
        self.active[(gameday_id, fault_id)] = spec
        where = f" in {spec.namespace}" if spec.namespace else ""
        if self.reason:
            return f"simulated {spec.type}{where}: {self.reason}"
        return f"simulated {spec.type}{where} (nothing in any cluster was changed)"

    def observe(self, gameday_id: str, fault_id: str) -> Observation | None:
        return None  # nothing ran, so nothing was blocked or allowed

    def revert(self, gameday_id: str, fault_id: str) -> str:
        self.active.pop((gameday_id, fault_id), None)
        return "simulated fault reverted"

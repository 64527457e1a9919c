"""The simulated driver: records and announces a fault, touches nothing. Works everywhere."""

from __future__ import annotations

from bot.gameday.scenario import FaultSpec


class SimulatedDriver:
    name = "simulated"

    def __init__(self) -> None:
        self.active: dict[tuple[str, str], FaultSpec] = {}

    def apply(self, gameday_id: str, fault_id: str, spec: FaultSpec, expires_at: float) -> str:
        self.active[(gameday_id, fault_id)] = spec
        where = f" in {spec.namespace}" if spec.namespace else ""
        return f"simulated {spec.type}{where} (nothing in any cluster was changed)"

    def revert(self, gameday_id: str, fault_id: str) -> str:
        self.active.pop((gameday_id, fault_id), None)
        return "simulated fault reverted"

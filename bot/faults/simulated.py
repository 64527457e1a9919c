"""The simulated driver: records and announces a fault, touches nothing. Works everywhere.

A fault with a share of targets (``percent``/``count``, see ``bot/gameday/scenario/target_share``) is
drawn here too, over ``STAND_INS`` named stand-ins (``simulated-001`` ...), never real objects: the
demo shows the draw, its seed and its names on the timeline exactly as a cluster run would.
"""

from __future__ import annotations

from typing import Any

from bot.gameday.ports import FaultRejected, Observation
from bot.gameday.scenario.model import FaultSpec
from bot.gameday.scenario.target_share import AppliedFault, ShareError, draw_targets, fresh_seed, read_share

STAND_INS = tuple(f"simulated-{n:03d}" for n in range(1, 101))


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
        try:
            share = read_share(spec.model_extra or {})
        except ShareError as exc:
            raise FaultRejected(f"{spec.type}: {exc.key}: {exc}") from None
        self.active[(gameday_id, fault_id)] = spec
        where = f" in {spec.namespace}" if spec.namespace else ""
        if self.reason:
            detail = f"simulated {spec.type}{where}: {self.reason}"
        else:
            detail = f"simulated {spec.type}{where} (nothing in any cluster was changed)"
        if share is None:
            return detail
        draw = draw_targets(STAND_INS, share, fresh_seed())
        return AppliedFault.of(f"{detail}; {draw.sentence('simulated stand-ins')}", draw)

    def observe(self, gameday_id: str, fault_id: str) -> Observation | None:
        return None  # nothing ran, so nothing was blocked or allowed

    def revert(self, gameday_id: str, fault_id: str) -> str:
        self.active.pop((gameday_id, fault_id), None)
        return "simulated fault reverted"

"""Which driver runs which fault type, chosen once from what this deployment can reach.

``k8s.*`` faults go to the kubernetes driver and ``chaos-mesh.*`` to the chaos-mesh driver when a
cluster is configured; without one (``sce demo``, a laptop) they go to a simulated driver that says
so in the sentence it returns. ``simulated*`` faults are always simulated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.faults.chaos_mesh import CHAOS_KINDS, ChaosMeshDriver
from bot.faults.cluster import Cluster
from bot.faults.kubernetes_driver import KubernetesDriver
from bot.faults.reaper import ReapReport, revert_expired
from bot.faults.simulated import SimulatedDriver
from bot.faults.undo import CORE_KINDS
from bot.gameday.ports import FaultDriver, FaultRejected, Observation
from bot.gameday.scenario.model import FaultSpec

NO_CLUSTER = (
    "no Kubernetes cluster is configured (no KUBECONFIG and not running in a cluster), "
    "so it was simulated and nothing was changed"
)
FAMILIES = {"k8s.": "kubernetes", "chaos-mesh.": "chaos-mesh", "simulated": "simulated"}


class FaultDrivers:
    """The drivers of one deployment; also a FaultDriver itself, routing each call to the right one.

    ``revert`` and ``observe`` get no fault type, so the router asks every real driver: each finds its
    own objects by their labels and does nothing for a fault that is not its own.
    """

    name = "router"
    probes = True  # it routes to drivers that may; fault steps ask the driver `driver_for` returns

    def __init__(self, cluster: Cluster | None, chaos_mesh: bool = True, **kubernetes_options: Any):
        """``chaos_mesh=False`` where Chaos Mesh (or deploy/chaos-mesh-role.yaml) is not installed."""
        self.cluster = cluster
        self.simulated = SimulatedDriver()
        self.unconfigured = SimulatedDriver(reason=NO_CLUSTER)
        self.kubernetes = KubernetesDriver(cluster, **kubernetes_options) if cluster else None
        self.chaos_mesh = ChaosMeshDriver(cluster) if cluster and chaos_mesh else None

    @classmethod
    def from_environment(
        cls,
        allowed_namespaces: Iterable[str],
        env: dict[str, str] | None = None,
        chaos_mesh: bool = True,
        **kubernetes_options: Any,
    ) -> FaultDrivers:
        return cls(Cluster.from_environment(allowed_namespaces, env), chaos_mesh, **kubernetes_options)

    def changes_nothing(self, fault_types: Iterable[str]) -> bool:
        """Whether every one of these faults would be simulated here (none changes anything real)."""
        try:
            return all(isinstance(self.driver_for(t), SimulatedDriver) for t in fault_types)
        except FaultRejected:
            return False

    def driver_for(self, spec_type: str) -> FaultDriver:
        """The driver that runs faults of ``spec_type``; FaultRejected for a type no driver knows."""
        family = next((name for prefix, name in FAMILIES.items() if spec_type.startswith(prefix)), None)
        if family == "simulated":
            return self.simulated
        if family == "kubernetes":
            return self.kubernetes or self.unconfigured
        if family == "chaos-mesh":
            if self.cluster is not None and self.chaos_mesh is None:
                raise FaultRejected(f"{spec_type}: Chaos Mesh faults are not enabled for this deployment")
            return self.chaos_mesh or self.unconfigured
        raise FaultRejected(
            f"unknown fault type {spec_type}: use simulated, k8s.* ({', '.join(KubernetesDriver.TYPES)}) "
            f"or chaos-mesh.* ({', '.join(ChaosMeshDriver.TYPES)})"
        )

    def named(self, name: str) -> FaultDriver:
        """The driver recorded as ``name`` when a fault was applied (for revert and observe)."""
        drivers: dict[str, FaultDriver | None] = {
            "simulated": self.simulated,
            "kubernetes": self.kubernetes,
            "chaos-mesh": self.chaos_mesh,
        }
        return drivers.get(name) or self.unconfigured

    def _real(self) -> list[FaultDriver]:
        return [d for d in (self.kubernetes, self.chaos_mesh) if d is not None]

    def plan(
        self, gameday_id: str, fault_id: str, spec: FaultSpec, expires_at: float
    ) -> list[dict[str, Any]]:
        return self.driver_for(spec.type).plan(gameday_id, fault_id, spec, expires_at)

    def apply(self, gameday_id: str, fault_id: str, spec: FaultSpec, expires_at: float) -> str:
        return self.driver_for(spec.type).apply(gameday_id, fault_id, spec, expires_at)

    def observe(self, gameday_id: str, fault_id: str) -> Observation | None:
        for driver in self._real():
            seen = driver.observe(gameday_id, fault_id)
            if seen is not None:
                return seen
        return None

    def revert(self, gameday_id: str, fault_id: str) -> str:
        self.simulated.revert(gameday_id, fault_id)
        sentences = [driver.revert(gameday_id, fault_id) for driver in self._real()]
        done = [s for s in sentences if not s.startswith("nothing left")]
        return "; ".join(done) or (sentences[0] if sentences else "simulated fault reverted")

    def revert_expired(self, namespaces: Iterable[str], now: float) -> ReapReport:
        """The reaper over this deployment's cluster; an empty report when there is none."""
        if self.cluster is None:
            return ReapReport()
        kinds = CORE_KINDS + (CHAOS_KINDS if self.chaos_mesh else ())
        return revert_expired(self.cluster, namespaces, now, kinds)

"""Where live logs steps read from (``bot/gameday/live_logs/sources``): a cluster's pod logs
(``kubernetes``) or the team's Loki (``loki``)."""

from __future__ import annotations

from collections.abc import Callable

from bot.faults.cluster import Cluster
from bot.gameday.live_logs.batching import Batcher
from bot.gameday.live_logs.sources import Following, SourceFailed
from bot.gameday.scenario.steps import LogsSpec
from bot.integrations.log_sources.kubernetes import open_kubernetes
from bot.integrations.log_sources.loki import LokiFollowing, open_loki


class EdgeLogSources:
    """The deployment's log sources: its cluster (None: no cluster configured) and SCE_LOKI_URL."""

    def __init__(
        self,
        cluster: Cluster | None,
        loki_url: str | None,
        loki: Callable[[str, LogsSpec, Batcher], LokiFollowing] | None = None,
    ):
        self.cluster = cluster
        self.loki_url = loki_url
        self._loki = loki

    def open(self, gameday_id: str, spec: LogsSpec, sink: Batcher) -> Following:
        if spec.source == "kubernetes":
            if self.cluster is None:
                raise SourceFailed("no Kubernetes cluster is configured (no KUBECONFIG and not in a cluster)")
            return open_kubernetes(self.cluster, gameday_id, spec, sink)
        if spec.source == "loki":
            if self._loki is not None and self.loki_url:
                return self._loki(self.loki_url, spec, sink)
            return open_loki(self.loki_url, spec, sink)
        raise SourceFailed(f"{spec.source} is not a live log source")

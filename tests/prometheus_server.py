"""The tests' real Prometheus (bench/prometheus_server): one per module, scraping a target it controls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.prometheus_server import PROMETHEUS, MetricsTarget, PrometheusServer

__all__ = ["MetricsTarget", "PrometheusServer", "metrics", "needs_prometheus"]

needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None, reason="needs Debian's prometheus (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrometheusServer, MetricsTarget]]:
    target = MetricsTarget()
    target.values.update({"http_error_ratio": 0.002, "checkout_up": 1.0, "queue_depth": 50.0})
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus"), target)
    try:
        server.wait_for('http_error_ratio{job="target"}')
        yield server, target
    finally:
        server.stop()
        target.close()

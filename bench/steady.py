"""A steady-state probe round: 20 probes (PromQL with a tolerance) against a real, local Prometheus, as the
preflight and every 15-s look while a game day runs ask them.

The baseline is the same 20 queries sent as bare HTTP GETs on one session, their answers not read: what
asking Prometheus costs at the least. The target is the issue's: a round of 20 under 200 ms.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import requests

from bench.prometheus_server import PROMETHEUS, MetricsTarget, PrometheusServer
from bench.results import Row, Section
from bench.stats import median
from bot.gameday.preflight import passed, preflight
from bot.gameday.scenario.loading import parse_scenario
from bot.integrations.prometheus import Prometheus

PROBES = 20
TARGET_MS = 200.0
SCENARIO = """id: probes
title: Probe round
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m}}
steady_state:
{probes}steps:
  - {{at: 0s, say: hello}}
"""


def run(quick: bool) -> Section:
    section = Section("Steady-state probes", f"{PROBES} bare HTTP GETs of the same queries")
    if PROMETHEUS is None:
        section.notes.append("Not measured: Debian's prometheus is not installed (.ci/run installs it).")
        section.add(Row(f"round of {PROBES} probes", None, "ms", None, f"< {TARGET_MS:g} ms", None))
        return section
    rounds = 5 if quick else 50
    target = MetricsTarget()
    target.values.update({f"service_{i}_error_ratio": 0.001 * i for i in range(PROBES)})
    with tempfile.TemporaryDirectory() as folder:
        server = PrometheusServer(Path(folder), target)
        try:
            server.wait_for(f"service_{PROBES - 1}_error_ratio")
            queries = [f'service_{i}_error_ratio{{job="target"}}' for i in range(PROBES)]
            lines = "".join(
                f"  - {{name: s{i}, promql: '{q}', expect: '< 0.5'}}\n" for i, q in enumerate(queries)
            )
            scenario = parse_scenario(SCENARIO.format(probes=lines))
            query = Prometheus(server.url).query
            assert passed(preflight(scenario, query))
            session = requests.Session()
            bare = median(
                [
                    _ms(
                        lambda: [
                            session.get(f"{server.url}/api/v1/query", params={"query": q}) for q in queries
                        ]
                    )
                    for _ in range(rounds)
                ]
            )
            ours = median([_ms(lambda: preflight(scenario, query)) for _ in range(rounds)])
        finally:
            server.stop()
            target.close()
    section.add(Row(f"round of {PROBES} probes", ours, "ms", bare, f"< {TARGET_MS:g} ms", ours < TARGET_MS))
    section.notes.append(
        f"Median of {rounds} rounds against Debian's Prometheus on this machine, scraping a local target; "
        "each probe is one GET /api/v1/query, its JSON read and every value checked against the tolerance."
    )
    return section


def _ms(call: object) -> float:
    start = time.perf_counter()
    call()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000

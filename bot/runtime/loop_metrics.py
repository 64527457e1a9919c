"""The learning loop in `/metrics`: findings by state, and the median seconds from found to fixed and
from fixed to verified, per scenario and per team (the channel its game days run in).

Read from the database at a scrape, like the game days by state, so every replica reports the same; kept
for ``FRESH_SECONDS`` so a scrape every few seconds does not read 50,000 findings each time. A database
that is away leaves these out of the scrape (logged); the counters are served all the same.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from bot.gameday.findings.loop import LoopFact
from bot.gameday.findings.model import FindingState
from bot.gameday.findings.speed import loop_speed
from bot.runtime.observability import REGISTRY

log = logging.getLogger(__name__)
FRESH_SECONDS = 30.0
STAGES = ("found_to_fixed", "fixed_to_verified")


def _families(facts: Sequence[LoopFact]) -> list[Metric]:
    by_state = GaugeMetricFamily(
        "sce_findings", "Findings by state (an expired acceptance is open).", labels=["state"]
    )
    for state in FindingState:
        by_state.add_metric([str(state)], sum(1 for f in facts if f.state == state))
    families: list[Metric] = [by_state]
    for scope, key in (("scenario", "scenario"), ("team", "channel")):
        family = GaugeMetricFamily(
            f"sce_learning_loop_{scope}_seconds",
            f"Median seconds per {scope} from a finding found to fixed, and from fixed to verified by a "
            "regression run (a stage no finding reached yet is left out).",
            labels=[scope, "stage"],
        )
        groups: dict[str, list[LoopFact]] = {}
        for fact in facts:
            groups.setdefault(getattr(fact, key), []).append(fact)
        for name in sorted(groups):
            speed = loop_speed(name, groups[name])
            for stage, value in zip(STAGES, (speed.found_to_fixed, speed.fixed_to_verified), strict=True):
                if value is not None:
                    family.add_metric([name, stage], value)
        families.append(family)
    return families


class LoopCollector:
    def __init__(self) -> None:
        self.source: Callable[[float], Sequence[LoopFact]] | None = None
        self.clock: Callable[[], float] = time.monotonic
        self._kept: tuple[float, list[Metric]] | None = None
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return []  # read at scrape time, like the game-day states: nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        source = self.source
        if source is None:
            return
        with self._lock:
            now = self.clock()
            if self._kept is None or now - self._kept[0] >= FRESH_SECONDS:
                try:
                    self._kept = (now, _families(source(time.time())))
                except Exception:
                    log.warning("could not read the findings for /metrics", exc_info=True)
                    return
            yield from self._kept[1]


LOOP = LoopCollector()
REGISTRY.register(LOOP)


def watch_loop(source: Callable[[float], Sequence[LoopFact]]) -> None:
    """Read the findings at scrapes (``lambda now: loop_rows(engine, now)``); last call wins."""
    with LOOP._lock:
        LOOP.source, LOOP._kept = source, None

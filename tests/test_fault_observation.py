"""An attack pod's outcome is read back on the game day's timers until it reports, and only where a
probe can ever report: a simulated fault (no cluster, a demo) is never polled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from core_harness import CoreHarness
from test_faults_kmock import NAMESPACE, KubeTestServer

from bot.faults.labels import object_name
from bot.faults.registry import FaultDrivers
from bot.gameday.memory_store import MemoryStore
from bot.gameday.running.fault_steps import OBSERVE_EVERY
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.state import fold
from bot.gameday.timeline import Kind

SCENARIO = f"""
id: probe-drill
title: Probe drill
charter:
  objective: See whether the metadata service answers a pod.
  hypothesis: The egress policy blocks it.
guardrails: {{namespaces: [{NAMESPACE}], max_duration: 30m}}
steps:
  - {{at: 0s, fault: {{type: k8s.attack-pod, namespace: {NAMESPACE}, probe: metadata, ttl: 10m}}}}
  - {{at: 5m, say: "look at the egress logs"}}
"""


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def observe_timers(h: CoreHarness) -> list[str]:
    assert isinstance(h.store, MemoryStore)
    return sorted(r.timer.key for r in h.store.timers.values() if r.timer.kind == TimerKind.OBSERVE)


def start(h: CoreHarness) -> str:
    outcome = h.engine.start(SCENARIO, "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    assert outcome.ok and outcome.gameday_id, outcome
    return outcome.gameday_id


def test_a_probe_is_polled_until_it_reports_then_never_again(kube: KubeTestServer) -> None:
    h = CoreHarness(allowed_namespaces=frozenset({NAMESPACE}), faults=FaultDrivers(kube.cluster()))
    gd = start(h)
    began = h.clock.now()
    h.advance_to(began + 3 * OBSERVE_EVERY + 1)  # the pod has not written its result: three looks
    assert not any(e.kind == Kind.FAULT_OBSERVED for e in h.store.events(gd))
    looks = observe_timers(h)
    assert len(looks) == 4, looks  # one scheduled at the apply, one more after each look that saw nothing
    pod = object_name(gd, "f0", "probe")
    assert kube.read("pods", NAMESPACE, pod) is not None
    kube.logs[(NAMESPACE, pod)] = "SCE-PROBE-RESULT blocked the metadata service did not answer\n"
    h.advance_to(began + 10 * OBSERVE_EVERY)
    observed = [e for e in h.store.events(gd) if e.kind == Kind.FAULT_OBSERVED]
    assert [(e.data["outcome"], e.data["detail"]) for e in observed] == [
        ("blocked", "the metadata service did not answer")
    ]
    applied = next(e for e in h.store.events(gd) if e.kind == Kind.FAULT_APPLIED)
    assert observed[0].at == applied.at + 4 * OBSERVE_EVERY  # read at the first look after it wrote
    assert len(observe_timers(h)) == 4  # and never looked at again
    assert fold(h.store.events(gd)).faults["f0"].outcome == "blocked"


def test_a_simulated_attack_pod_is_never_polled() -> None:
    h = CoreHarness(allowed_namespaces=frozenset({NAMESPACE}), faults=FaultDrivers(None))
    gd = start(h)
    began = h.clock.now()
    h.advance_to(began + 6 * 60)
    events = h.store.events(gd)
    applied = [e for e in events if e.kind == Kind.FAULT_APPLIED]
    assert len(applied) == 1 and applied[0].data["driver"] == "simulated"
    assert observe_timers(h) == []
    assert not any(e.kind == Kind.FAULT_OBSERVED for e in events)
    assert any(e.kind == Kind.STEP_RAN and e.data["step"] == 1 for e in events)  # the drill goes on

"""PagerDuty on failure: a revert that fails, a guardrail that trips, a fault left past its lease each page
one real incident (Events API v2, checked by the local PagerDuty server of test_pagerduty, which refuses
what PagerDuty's Events API v2 documentation would refuse), once, and resolve it once the cluster is clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kmock
import pytest
from core_harness import CoreHarness
from test_faults_kmock import NAMESPACE, KubeTestServer
from test_more_steps import Target
from test_pagerduty import ROUTING_KEY, FakePagerDuty

from bot.faults.reaper_service import FaultReaper
from bot.faults.registry import FaultDrivers
from bot.faults.simulated import SimulatedDriver
from bot.gameday.running.failure_paging import MAX_PAGE_TRIES, PAGE_RETRY_SECONDS, REVERT_RETRY_SECONDS
from bot.gameday.running.poller import fire_due_timers
from bot.gameday.running.steady_watch import STEADY_EVERY
from bot.gameday.timeline import Kind
from bot.integrations.failure_pager import PagerDutyFailurePager

HEAD = """id: risky
title: Risky drill
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m, hosts: [127.0.0.1], namespaces: [chaos-lab]}}
{steady}steps:
  - at: 0s
    fault: {{type: {fault}, ttl: 10m{where}}}
  - {{at: 20m, say: later}}
"""
ROSTER = {"primary": "U1", "secondary": "U2"}


class StuckDriver(SimulatedDriver):
    """The simulated driver, but its revert fails until ``healed`` (an API server refusing the delete)."""

    def __init__(self) -> None:
        super().__init__()
        self.healed = False
        self.tries = 0

    def revert(self, gameday_id: str, fault_id: str) -> str:
        self.tries += 1
        if not self.healed:
            raise RuntimeError("403 Forbidden: networkpolicies.networking.k8s.io is forbidden")
        return super().revert(gameday_id, fault_id)


@pytest.fixture
def pd() -> Iterator[FakePagerDuty]:
    server = FakePagerDuty()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def scenario(fault: str = "simulated.pod-delete", steady: str = "", where: str = "") -> str:
    return HEAD.format(fault=fault, steady=steady, where=where)


def paging(h: CoreHarness, pd: FakePagerDuty) -> None:
    h.engine.failure_paging.pager = PagerDutyFailurePager(
        ROUTING_KEY, f"{pd.url}/v2/enqueue", sleep=lambda _: None
    )


def started(h: CoreHarness, text: str, dry_run: bool = False) -> tuple[str, str]:
    outcome = h.engine.start(text, "C1", "UFAC", ROSTER, dry_run=dry_run)
    assert outcome.ok and outcome.gameday_id, outcome.message
    h.advance_to(h.clock.now() + 1)
    applied = [e for e in h.store.events(outcome.gameday_id) if e.kind is Kind.FAULT_APPLIED]
    return outcome.gameday_id, str(applied[0].data["fault_id"]) if applied else ""


def kinds(h: CoreHarness, gameday: str, kind: Kind) -> list[dict[str, Any]]:
    return [e.data for e in h.store.events(gameday) if e.kind is kind]


def said(h: CoreHarness) -> list[str]:
    return [text for _, text in h.announcer.posts]


def test_a_failed_revert_pages_once_however_often_it_fails_and_resolves_once_when_clean(
    pd: FakePagerDuty,
) -> None:
    driver = StuckDriver()
    h = CoreHarness(faults=driver)
    paging(h, pd)
    gameday, fault = started(h, scenario())
    assert fault and pd.events == []  # a fault that applies well pages nothing
    h.engine.abort(gameday, "UFAC", "enough")
    fire_due_timers(h.store, h.engine, h.clock.now())
    assert pd.problems == []
    (trigger,) = pd.actions("trigger")
    assert trigger["dedup_key"] == f"sce-failure-{gameday}-{fault}"
    assert trigger["routing_key"] == ROUTING_KEY
    payload = trigger["payload"]
    assert payload["severity"] == "critical"
    assert payload["summary"].startswith("[NOT A DRILL] sce:") and "[GAME DAY]" not in payload["summary"]
    assert f"the revert of fault {fault} FAILED" in payload["summary"] and gameday in payload["summary"]
    assert "403 Forbidden" in payload["summary"]
    details = payload["custom_details"]
    assert (details["gameday_id"], details["fault_id"], details["cause"]) == (gameday, fault, "revert_failed")
    assert any("PagerDuty paged, NOT a drill" in text for text in said(h))
    # it goes on failing: retried after the end, and the reaper finds it still there past its lease
    h.advance_to(h.clock.now() + 3 * REVERT_RETRY_SECONDS)
    assert driver.tries >= 4  # the end's revert and three retries
    for _ in range(2):  # the reaper says so at each pass: recorded once, paged never again
        h.engine.failure_paging.reaper_found(gameday, fault, False, "could not revert: 403 Forbidden")
        fire_due_timers(h.store, h.engine, h.clock.now())
    assert len(kinds(h, gameday, Kind.FAULT_LEFT_OVER)) == 1
    assert len(pd.actions("trigger")) == 1 and pd.actions("resolve") == []
    driver.healed = True  # the next retry gets through: the cluster is clean
    h.advance_to(h.clock.now() + 2 * REVERT_RETRY_SECONDS)
    (resolve,) = pd.actions("resolve")
    assert resolve == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": trigger["dedup_key"],
    }
    h.advance_to(h.clock.now() + 10 * REVERT_RETRY_SECONDS)
    assert len(pd.events) == 2  # one trigger, one resolve, nothing after
    paged = kinds(h, gameday, Kind.FAILURE_PAGED)
    assert paged == [{"key": trigger["dedup_key"], "sent": True, "cause": "revert_failed", "fault_id": fault}]
    assert kinds(h, gameday, Kind.FAILURE_RESOLVED) == [{"key": trigger["dedup_key"], "sent": True}]
    assert any("The cluster is clean again: the PagerDuty incident" in text for text in said(h)), said(h)


def test_a_stop_condition_pages_the_guardrail_and_resolves_once_every_fault_is_reverted(
    pd: FakePagerDuty,
) -> None:
    h = CoreHarness()
    paging(h, pd)
    gameday, _ = started(h, scenario())
    outcome = h.engine.stop_on_condition(gameday, "alert PaymentsDown fired (a real incident)", "alert:1")
    assert outcome.ok
    h.advance_to(h.clock.now() + 2)
    assert pd.problems == []
    (trigger,) = pd.actions("trigger")
    assert trigger["dedup_key"] == f"sce-failure-{gameday}-guardrail"
    assert "a guardrail stopped the game day" in trigger["payload"]["summary"]
    assert "PaymentsDown" in trigger["payload"]["summary"]
    (resolve,) = pd.actions("resolve")  # every fault was reverted with the stop: clean at once
    assert resolve["dedup_key"] == trigger["dedup_key"]
    assert pd.events.index(trigger) < pd.events.index(resolve)


def test_the_halt_lever_stops_a_game_day_without_paging_a_failure(pd: FakePagerDuty) -> None:
    h = CoreHarness()
    paging(h, pd)
    gameday, _ = started(h, scenario())
    h.engine.stop_on_condition(gameday, "halted by pagerduty: SEV1", "halt:1:x", guardrail=False)
    h.advance_to(h.clock.now() + 5)
    assert h.store.get(gameday).status == "aborted"  # type: ignore[union-attr]
    assert pd.events == [] and kinds(h, gameday, Kind.FAILURE_PAGED) == []


def test_a_steady_state_breach_pages_and_resolves_only_once_the_steady_state_holds_again(
    pd: FakePagerDuty,
) -> None:
    web = Target(200)
    try:
        steady = f"steady_state:\n  - {{name: web up, http: {{url: '{web.url}/healthz', expect: 200}}}}\n"
        h = CoreHarness()
        paging(h, pd)
        gameday, _ = started(h, scenario(steady=steady))
        h.advance_to(h.clock.now() + STEADY_EVERY)
        assert pd.events == []  # held
        web.status = 503  # the drill hurts more than it may
        h.advance_to(h.clock.now() + STEADY_EVERY)
        assert h.store.get(gameday).status == "aborted"  # type: ignore[union-attr]
        (trigger,) = pd.actions("trigger")
        assert trigger["dedup_key"] == f"sce-failure-{gameday}-guardrail"
        assert "steady state breached" in trigger["payload"]["summary"]
        h.advance_to(h.clock.now() + 2 * STEADY_EVERY)
        assert pd.actions("resolve") == []  # faults reverted, but the service is still down
        web.status = 200
        h.advance_to(h.clock.now() + STEADY_EVERY)
        assert [r["dedup_key"] for r in pd.actions("resolve")] == [trigger["dedup_key"]]
        assert pd.problems == []
    finally:
        web.server.shutdown()
        web.server.server_close()


def test_the_steady_state_unmeasured_is_no_guardrail_trip(pd: FakePagerDuty) -> None:
    steady = "steady_state:\n  - {name: web up, http: {url: 'http://127.0.0.1:9/healthz', expect: 200}}\n"
    h = CoreHarness()
    paging(h, pd)
    outcome = h.engine.start(scenario(steady=steady), "C1", "UFAC", ROSTER)
    assert outcome.ok and outcome.gameday_id
    h.advance_to(h.clock.now() + 4 * STEADY_EVERY + 1)
    assert h.store.get(outcome.gameday_id).status == "aborted"  # type: ignore[union-attr]
    assert pd.events == []  # stopped because it could not look, not because anything broke


def test_a_dry_run_pages_nothing_whatever_goes_wrong(pd: FakePagerDuty) -> None:
    driver = StuckDriver()
    h = CoreHarness(faults=driver)
    paging(h, pd)
    gameday, _ = started(h, scenario(), dry_run=True)
    h.engine.stop_on_condition(gameday, "alert PaymentsDown fired", "alert:1")
    h.advance_to(h.clock.now() + 3 * REVERT_RETRY_SECONDS)
    assert pd.attempts == 0 and kinds(h, gameday, Kind.FAILURE_PAGED) == []


def test_without_a_failure_routing_key_nothing_is_paged_but_the_revert_is_still_retried(
    pd: FakePagerDuty,
) -> None:
    driver = StuckDriver()
    h = CoreHarness(faults=driver)
    gameday, fault = started(h, scenario())
    h.engine.abort(gameday, "UFAC")
    driver.healed = True
    h.advance_to(h.clock.now() + REVERT_RETRY_SECONDS + 1)
    assert pd.attempts == 0
    reverted = kinds(h, gameday, Kind.FAULT_REVERTED)
    assert [r["fault_id"] for r in reverted] == [fault]
    assert any(f"Fault {fault} reverted at last" in text for text in said(h))


def test_pagerduty_down_is_said_in_the_thread_recorded_and_tried_again_never_raised(
    pd: FakePagerDuty,
) -> None:
    driver = StuckDriver()
    h = CoreHarness(faults=driver)
    paging(h, pd)
    gameday, fault = started(h, scenario())
    pd.fail_next = [(503, {})] * 3  # one try of three attempts, all refused
    outcome = h.engine.abort(gameday, "UFAC")
    assert outcome.ok  # the engine never sees PagerDuty's trouble
    fire_due_timers(h.store, h.engine, h.clock.now())
    assert pd.actions("trigger") == []
    failed = kinds(h, gameday, Kind.FAILURE_PAGED)
    assert [(f["sent"], "503" in f["error"]) for f in failed] == [(False, True)]
    assert any("PagerDuty could not be paged" in text and "by hand" in text for text in said(h))
    h.advance_to(h.clock.now() + PAGE_RETRY_SECONDS + 1)
    assert [t["dedup_key"] for t in pd.actions("trigger")] == [f"sce-failure-{gameday}-{fault}"]
    assert [f["sent"] for f in kinds(h, gameday, Kind.FAILURE_PAGED)] == [False, True]


def test_a_pagerduty_that_never_answers_is_tried_a_bounded_number_of_times(pd: FakePagerDuty) -> None:
    h = CoreHarness(faults=StuckDriver())
    paging(h, pd)
    gameday, _ = started(h, scenario())
    pd.fail_next = [(500, {})] * 1000
    h.engine.abort(gameday, "UFAC")
    h.advance_to(h.clock.now() + (MAX_PAGE_TRIES + 3) * PAGE_RETRY_SECONDS, step=5.0)
    assert len(kinds(h, gameday, Kind.FAILURE_PAGED)) == MAX_PAGE_TRIES
    assert pd.attempts == MAX_PAGE_TRIES * 3  # three attempts per try


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def test_a_fault_the_reaper_finds_past_its_lease_and_cannot_undo_pages_then_resolves(
    pd: FakePagerDuty, kube: KubeTestServer
) -> None:
    drivers = FaultDrivers(kube.cluster(), chaos_mesh=False)
    h = CoreHarness(faults=drivers, allowed_namespaces=frozenset({NAMESPACE}))
    paging(h, pd)
    where = f", namespace: {NAMESPACE}, selector: {{app: web}}"
    gameday, fault = started(h, scenario(fault="k8s.network-deny", where=where))
    (policy,) = kube.names("networkpolicies", NAMESPACE)
    # the bot's own expiry timer has not fired (a crash, a stalled process); the reaper's clock is real time
    expires_at = float(kinds(h, gameday, Kind.FAULT_APPLIED)[0]["expires_at"])
    reaper = FaultReaper(drivers, [NAMESPACE], wall_clock=lambda: expires_at + 5)
    reaper.on_fault = h.engine.failure_paging.reaper_found
    refusals = iter([kmock.KubernetesError(status=403, reason="Forbidden", message="RBAC says no")])
    assert kube.emulator is not None
    kube.emulator["delete", kmock.name(policy)] << (lambda: next(refusals))  # once, then the real server
    reaper.reap()
    fire_due_timers(h.store, h.engine, h.clock.now())
    (left,) = kinds(h, gameday, Kind.FAULT_LEFT_OVER)
    assert left["fault_id"] == fault and "403 Forbidden" in left["error"]
    (trigger,) = pd.actions("trigger")
    assert trigger["dedup_key"] == f"sce-failure-{gameday}-{fault}"
    assert "still in the cluster after its lease" in trigger["payload"]["summary"]
    assert pd.actions("resolve") == []
    h.advance_to(h.clock.now() + REVERT_RETRY_SECONDS + 1)  # the retry gets through: nothing is left
    assert kube.names("networkpolicies", NAMESPACE) == []
    assert [r["dedup_key"] for r in pd.actions("resolve")] == [trigger["dedup_key"]]
    reaper.reap()  # a later pass finds nothing: nothing more is said
    h.advance_to(h.clock.now() + 5)
    assert len(pd.events) == 2 and pd.problems == []

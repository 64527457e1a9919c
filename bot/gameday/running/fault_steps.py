"""Fault steps: the intent committed before a driver is called, applying (or planning, on a dry run),
observing a probe's outcome, and reverting, one fault or many side by side.

Each method works inside the caller's locked transaction and records what it did on the timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.gameday.ports import FaultRejected, FaultRouter, GameDayRecord, GameDayTx
from bot.gameday.running.outbound import sends
from bot.gameday.running.outbox import Outbox, Payload, PostKind
from bot.gameday.running.scheduling import Scheduler
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.scenario.guardrails import DEFAULT_MAX_TTL, check_fault_allowed, ttl_refusal
from bot.gameday.scenario.model import FaultSpec, Scenario, Step
from bot.gameday.scenario.target_share import drawn
from bot.gameday.state import FaultState, GameDayState, fold
from bot.gameday.timeline import Kind

log = logging.getLogger(__name__)
REVERT_WORKERS = 8  # driver reverts in flight at once when a game day ends with many faults
OBSERVE_EVERY = 15.0  # seconds between looks at a probe's result
OBSERVED_TYPES = frozenset({"k8s.attack-pod"})  # faults whose outcome (blocked / allowed) is read back


def describe_plan(plan: list[dict[str, Any]]) -> str:
    """What a dry run would have done, one line per API call, for the thread."""
    lines = []
    for call in plan[:20]:
        what = call.get("kind") or call.get("type") or "object"
        name = (call.get("body") or {}).get("metadata", {}).get("name") or call.get("name") or ""
        where = f" in {call['namespace']}" if call.get("namespace") else ""
        lines.append(f"{call.get('verb', '?')} {what} {name}{where}".replace("  ", " ").strip())
    more = f" (+{len(plan) - 20} more)" if len(plan) > 20 else ""
    return "would " + "; ".join(lines) + more + " (dry run: nothing applied)"


class FaultSteps:
    """``max_ttl`` (SCE_MAX_TTL) is checked again at apply: a fault over it is never applied."""

    def __init__(
        self,
        faults: FaultRouter,
        clock: Callable[[], float],
        allowed_namespaces: frozenset[str],
        scheduler: Scheduler,
        outbox: Outbox,
        max_ttl: float = DEFAULT_MAX_TTL,
    ):
        self.faults = faults
        self.now = clock
        self.allowed_namespaces = allowed_namespaces
        self.scheduler = scheduler
        self.outbox = outbox
        self.max_ttl = max_ttl
        outbox.register("fault", PostKind(self._send_notice))

    def _tell(self, tx: GameDayTx, spec: FaultSpec, verb: str, detail: str) -> None:
        """A fault's news in the thread (refused, planned, applied, observed), once."""
        payload = {"type": spec.type, "namespace": spec.namespace, "verb": verb, "detail": detail}
        self.outbox.post(tx, f"fault:{len(tx.events)}:{verb}", "fault", payload)

    def _send_notice(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, payload: Payload, key: str
    ) -> str:
        spec = FaultSpec(type=str(payload["type"]), namespace=payload.get("namespace"))
        return self.outbox.announcer.fault(record, spec, str(payload["verb"]), str(payload["detail"]), key)

    def fault_intent(self, tx: GameDayTx, scenario: Scenario, index: int) -> dict[str, Any] | None:
        """What a fault step is about to do, to be committed before any driver is called.

        None when the step will not touch anything (refused, dry run, unknown type): nothing to reap.
        """
        step = scenario.steps[index]
        spec = step.fault
        if spec is None or not sends(tx.record) or self._refusal(spec, scenario):
            return None
        try:
            driver = self.faults.driver_for(spec.type)
        except FaultRejected:
            return None
        now = self.now()
        return {
            "fault_id": f"f{index}",
            "step": index,
            "type": spec.type,
            "driver": driver.name,
            "namespace": spec.namespace,
            "expires_at": now + spec.ttl,
        }

    def _refusal(self, spec: FaultSpec, scenario: Scenario) -> str | None:
        """The last line: a fault outside the allow-lists or over SCE_MAX_TTL is never applied."""
        return check_fault_allowed(spec, scenario, self.allowed_namespaces) or ttl_refusal(spec, self.max_ttl)

    def apply_fault(self, tx: GameDayTx, scenario: Scenario, index: int, step: Step) -> None:
        """Apply a fault step (or record its plan on a dry run) and schedule its expiry and probes."""
        spec = step.fault
        assert spec is not None
        refusal = self._refusal(spec, scenario)
        if refusal:
            self._tell(tx, spec, "refused", refusal)
            return
        fault_id = f"f{index}"
        now = self.now()
        expires_at = now + spec.ttl
        try:
            driver = self.faults.driver_for(spec.type)
            if not sends(tx.record):
                plan = driver.plan(tx.record.id, fault_id, spec, expires_at)
                tx.append(Kind.WOULD_SEND, now, None, {"step": index, "to": driver.name, "calls": plan})
                self._tell(tx, spec, "dry-run", describe_plan(plan))
                return
            detail = driver.apply(tx.record.id, fault_id, spec, expires_at)
        except FaultRejected as exc:
            reason = str(exc)
            self._tell(tx, spec, "refused", reason)
            return
        first_inject = fold(tx.events).t0 is None
        tx.append(
            Kind.FAULT_APPLIED,
            now,
            None,
            {
                "fault_id": fault_id,
                "step": index,
                "type": spec.type,
                "expires_at": expires_at,
                "driver": driver.name,
                "detail": detail,
                **drawn(detail),  # a fault that picks targets: targets, candidates, seed, rule
            },
        )
        self._tell(tx, spec, "applied", detail)
        schedule = self.scheduler.schedule
        schedule(tx, f"fault_expiry:{fault_id}", expires_at, TimerKind.FAULT_EXPIRY, {"fault_id": fault_id})
        if spec.type in OBSERVED_TYPES and driver.probes:
            schedule(
                tx,
                f"observe:{fault_id}:1",
                now + OBSERVE_EVERY,
                TimerKind.OBSERVE,
                {"fault_id": fault_id, "n": 1},
            )
        if first_inject:
            self.scheduler.inject_checks(tx, scenario, now)

    def observe_fault(self, tx: GameDayTx, state: GameDayState, fault_id: str, attempt: int) -> None:
        """A probe's outcome, once it has one: blocked or allowed goes on the timeline (control efficacy)."""
        fault = state.faults.get(fault_id)
        if fault is None or fault.reverted_at is not None or fault.outcome is not None:
            return
        seen = self.faults.named(fault.driver).observe(tx.record.id, fault_id)
        now = self.now()
        if seen is None:
            if now + OBSERVE_EVERY < fault.expires_at:
                self.scheduler.schedule(
                    tx,
                    f"observe:{fault_id}:{attempt + 1}",
                    now + OBSERVE_EVERY,
                    TimerKind.OBSERVE,
                    {"fault_id": fault_id, "n": attempt + 1},
                )
            return
        tx.append(
            Kind.FAULT_OBSERVED,
            now,
            None,
            {"fault_id": fault_id, "outcome": seen.outcome, "detail": seen.detail},
        )
        self._tell(tx, FaultSpec(type=fault.type), f"observed {seen.outcome}", seen.detail)

    def revert_calls(
        self, gameday_id: str, faults: list[FaultState]
    ) -> list[tuple[FaultState, str | Exception]]:
        """Every fault's driver revert, side by side (an abort of many faults waits for the slowest, not
        the sum); each fault's sentence, or the exception its driver raised, in the order given."""

        def one(fault: FaultState) -> tuple[str, str | Exception]:
            try:
                return fault.fault_id, self.faults.named(fault.driver).revert(gameday_id, fault.fault_id)
            except Exception as exc:  # reported per fault: one failure must not stop the others
                return fault.fault_id, exc

        results = self._revert_batches(gameday_id, faults)
        rest = [fault for fault in faults if fault.fault_id not in results]
        if len(rest) <= 1:
            results.update(one(fault) for fault in rest)
        else:
            with ThreadPoolExecutor(min(REVERT_WORKERS, len(rest)), thread_name_prefix="revert") as pool:
                results.update(pool.map(one, rest))
        return [(fault, results[fault.fault_id]) for fault in faults]

    def _revert_batches(self, gameday_id: str, faults: list[FaultState]) -> dict[str, str | Exception]:
        """Faults whose driver undoes many at once (``revert_many``: one listing for all of them);
        when such a batch fails, its faults are left to be reverted one by one."""
        reverted: dict[str, str | Exception] = {}
        for name in sorted({fault.driver for fault in faults}):
            ids = [fault.fault_id for fault in faults if fault.driver == name]
            revert_many = getattr(self.faults.named(name), "revert_many", None)
            if revert_many is None or len(ids) < 2:
                continue
            try:
                reverted.update(revert_many(gameday_id, ids))
            except Exception:
                log.warning("batch revert of %d faults failed; reverting one by one", len(ids), exc_info=True)
        return reverted

    def revert_fault(self, tx: GameDayTx, scenario: Scenario, fault_id: str) -> None:
        """A fault's lease ran out: revert it (a failure fails the timer, which is retried)."""
        fault = fold(tx.events).faults.get(fault_id)
        if fault is None or fault.reverted_at is not None:
            return
        detail = self.faults.named(fault.driver).revert(tx.record.id, fault_id)
        tx.append(Kind.FAULT_REVERTED, self.now(), None, {"fault_id": fault_id, "detail": detail})

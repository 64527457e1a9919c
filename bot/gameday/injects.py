"""The injects of a game day: running its steps (pages, log lines, handoffs, faults) and escalating.

Each function works inside the caller's locked transaction and records what it did on the timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.gameday import posting
from bot.gameday.best_effort import best_effort
from bot.gameday.guardrails import DEFAULT_MAX_TTL, check_fault_allowed, ttl_refusal
from bot.gameday.more_steps import HttpCaller, MoreSteps
from bot.gameday.outbound import sends
from bot.gameday.ports import Announcer, FaultRejected, FaultRouter, GameDayRecord, GameDayTx
from bot.gameday.posting import InFlight, What
from bot.gameday.roster import roster_at
from bot.gameday.scenario import FaultSpec, Scenario, Step
from bot.gameday.scenario_file import cached_scenario
from bot.gameday.state import FaultState, GameDayState, fold
from bot.gameday.timeline import Kind
from bot.gameday.timer_types import TimerKind

STEP, ESCALATE, CHECK, TIME_BOX = TimerKind.STEP, TimerKind.ESCALATE, TimerKind.CHECK, TimerKind.TIME_BOX
FAULT_EXPIRY, PUBLISH, OBSERVE = TimerKind.FAULT_EXPIRY, TimerKind.PUBLISH, TimerKind.OBSERVE
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


class Injector:
    def __init__(
        self,
        announcer: Announcer,
        faults: FaultRouter,
        clock: Callable[[], float],
        allowed_namespaces: frozenset[str],
        on_timer_scheduled: Callable[[float], None],
        http: HttpCaller | None = None,
        max_ttl: float = DEFAULT_MAX_TTL,
    ):
        self.max_ttl = max_ttl
        self.announcer = announcer
        self.faults = faults
        self.now = clock
        self.allowed_namespaces = allowed_namespaces
        self.on_timer_scheduled = on_timer_scheduled
        self.in_flight = InFlight()  # posts made ahead of their transaction (bot/gameday/posting)
        self.more = MoreSteps(announcer, clock, http, self.schedule, self.posted_once)

    def posted_once(
        self, tx: GameDayTx, key: str, replay: bool, what: What, post: Callable[[str], str]
    ) -> str:
        """Post a step's message, or take the one posted ahead of the lock (``bot/gameday/posting``),
        or after a crash find the one the dead process already posted. ``what`` is what the message
        says: a post made ahead is taken only if it says the same."""
        full_key = f"{tx.record.id}:{key}"
        ahead = posting.current()
        if ahead is not None and not ahead.locked:  # the scratch run: post now, before the lock
            ts = self._find_or_post(tx.record, full_key, replay, post)
            self.in_flight.add(tx.record.id, tx.record.channel, ts)
            ahead.posted.append((tx.record.channel, ts))
            ahead.made[full_key] = (what, ts)
            return ts
        made = ahead.made.pop(full_key, None) if ahead is not None else None
        if made is not None:
            if made[0] == what:
                return made[1]
            self.withdraw(tx.record, made)  # said something else: gone before the replay looks for it
        return self._find_or_post(tx.record, full_key, replay, post)

    def _find_or_post(
        self, record: GameDayRecord, full_key: str, replay: bool, post: Callable[[str], str]
    ) -> str:
        if replay:
            found = self.announcer.find_posted(record, full_key)
            if found is not None:
                return found
        return post(full_key)

    def withdraw(self, record: GameDayRecord, made: tuple[What, str]) -> None:
        """Take back a post made ahead that its transaction did not want."""
        what, ts = made
        page_id = str(what[1]) if what and what[0] == "page" else None
        best_effort(lambda: self.announcer.withdraw(record, ts, page_id), "taking back a post")

    def run_step(
        self, tx: GameDayTx, scenario: Scenario, state: GameDayState, index: int, replay: bool = False
    ) -> None:
        if index in state.steps_ran:
            return
        step = scenario.steps[index]
        key = f"step:{index}"
        if step.page is not None:
            self.page(tx, scenario, state, index, step, replay)
        elif step.say is not None:
            text = step.say
            ts = self.posted_once(
                tx, key, replay, ("say", text), lambda k: self.announcer.say(tx.record, text, k)
            )
            tx.append(Kind.SAID, float(ts), None, {"step": index, "text": step.say, "message_ts": ts})
        elif step.handoff is not None:
            roster = roster_at(tx.record.roster, self.now())
            from_user = roster.get(step.handoff.from_)
            to_user = roster[step.handoff.to]
            self.request_handoff(tx, state, from_user, to_user, float(self.now()), None, key, replay)
        elif step.fault is not None:
            self.apply_fault(tx, scenario, index, step)
        elif step.logs is not None:
            self.more.stream_log(tx, scenario, index, 0, replay)
            return  # the step has run once its last line is out
        elif step.http is not None:
            self.more.http_probe(tx, index, step.http, scenario.guardrails.hosts)
        elif step.sbom is not None:
            self.more.sbom(tx, index, step.sbom)
        elif step.webhook is not None:
            self.more.webhook(tx, index, step.webhook, scenario.guardrails.hosts)
        tx.append(Kind.STEP_RAN, self.now(), None, {"step": index, "kind": step.kind})

    def page(
        self, tx: GameDayTx, scenario: Scenario, state: GameDayState, index: int, step: Step, replay: bool
    ) -> None:
        spec = step.page
        assert spec is not None
        page_id = f"p{index}"
        roster = roster_at(tx.record.roster, self.now())
        responder = roster.get(spec.to.lstrip("@"), roster["primary"])
        first_inject = state.t0 is None
        ts = self.posted_once(
            tx,
            f"step:{index}",
            replay,
            ("page", page_id, responder),
            lambda k: self.announcer.page(tx.record, page_id, spec, responder, k),
        )
        paged_at = float(ts)
        tx.append(
            Kind.PAGE_SENT,
            paged_at,
            None,
            {
                "page_id": page_id,
                "step": index,
                "responder": responder,
                "severity": spec.severity,
                "summary": spec.summary,
                "message_ts": ts,
            },
        )
        tx.index_message(page_id, tx.record.channel, ts)
        if not sends(tx.record):
            for request in self.announcer.page_outbound(tx.record, page_id, spec):
                tx.append(
                    Kind.WOULD_SEND, paged_at, None, {"step": index, "to": "pagerduty", "request": request}
                )
        secondary = roster.get("secondary")
        if scenario.oncall.escalate_after is not None and secondary and secondary != responder:
            self.schedule(
                tx,
                f"escalate:{page_id}",
                paged_at + scenario.oncall.escalate_after,
                ESCALATE,
                {"page_id": page_id},
            )
        if scenario.expect.acknowledge_within is not None:
            self.schedule(
                tx, f"check:ack:{page_id}", paged_at + scenario.expect.acknowledge_within + 0.001, CHECK
            )
        if first_inject:
            self.schedule_inject_checks(tx, scenario, paged_at)

    def schedule_inject_checks(self, tx: GameDayTx, scenario: Scenario, t0: float) -> None:
        for name, target in (
            ("detect", scenario.expect.detect_within),
            ("contain", scenario.expect.contain_within),
        ):
            if target is not None:
                self.schedule(tx, f"check:{name}", t0 + target + 0.001, CHECK)

    def escalate(self, tx: GameDayTx, state: GameDayState, page_id: str, replay: bool = False) -> None:
        page = state.pages.get(page_id)
        secondary = roster_at(tx.record.roster, self.now()).get("secondary")
        if page is None or page.acknowledged_at is not None or page.escalated_at is not None or not secondary:
            return
        ts = self.posted_once(
            tx,
            f"escalate:{page_id}",
            replay,
            ("escalation", page_id, secondary),
            lambda k: self.announcer.escalation(tx.record, page, secondary, k),
        )
        tx.append(Kind.ESCALATED, float(ts), None, {"page_id": page_id, "to": secondary, "message_ts": ts})
        tx.index_message(page_id, tx.record.channel, ts)

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
        spec = step.fault
        assert spec is not None
        refusal = self._refusal(spec, scenario)
        if refusal:
            best_effort(lambda: self.announcer.fault(tx.record, spec, "refused", refusal), "a refusal")
            return
        fault_id = f"f{index}"
        now = self.now()
        expires_at = now + spec.ttl
        try:
            driver = self.faults.driver_for(spec.type)
            if not sends(tx.record):
                plan = driver.plan(tx.record.id, fault_id, spec, expires_at)
                tx.append(Kind.WOULD_SEND, now, None, {"step": index, "to": driver.name, "calls": plan})
                best_effort(
                    lambda: self.announcer.fault(tx.record, spec, "dry-run", describe_plan(plan)), "a plan"
                )
                return
            detail = driver.apply(tx.record.id, fault_id, spec, expires_at)
        except FaultRejected as exc:
            reason = str(exc)
            best_effort(lambda: self.announcer.fault(tx.record, spec, "refused", reason), "a refusal")
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
            },
        )
        best_effort(lambda: self.announcer.fault(tx.record, spec, "applied", detail), "a fault notice")
        self.schedule(tx, f"fault_expiry:{fault_id}", expires_at, FAULT_EXPIRY, {"fault_id": fault_id})
        if spec.type in OBSERVED_TYPES:
            self.schedule(
                tx, f"observe:{fault_id}:1", now + OBSERVE_EVERY, OBSERVE, {"fault_id": fault_id, "n": 1}
            )
        if first_inject:
            self.schedule_inject_checks(tx, scenario, now)

    def observe_fault(self, tx: GameDayTx, state: GameDayState, fault_id: str, attempt: int) -> None:
        """A probe's outcome, once it has one: blocked or allowed goes on the timeline (control efficacy)."""
        fault = state.faults.get(fault_id)
        if fault is None or fault.reverted_at is not None or fault.outcome is not None:
            return
        seen = self.faults.named(fault.driver).observe(tx.record.id, fault_id)
        now = self.now()
        if seen is None:
            if now + OBSERVE_EVERY < fault.expires_at:
                self.schedule(
                    tx,
                    f"observe:{fault_id}:{attempt + 1}",
                    now + OBSERVE_EVERY,
                    OBSERVE,
                    {"fault_id": fault_id, "n": attempt + 1},
                )
            return
        tx.append(
            Kind.FAULT_OBSERVED,
            now,
            None,
            {"fault_id": fault_id, "outcome": seen.outcome, "detail": seen.detail},
        )
        spec_type = FaultSpec(type=fault.type)
        best_effort(
            lambda: self.announcer.fault(tx.record, spec_type, f"observed {seen.outcome}", seen.detail),
            "a probe",
        )

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
        fault = fold(tx.events).faults.get(fault_id)
        if fault is None or fault.reverted_at is not None:
            return
        detail = self.faults.named(fault.driver).revert(tx.record.id, fault_id)
        tx.append(Kind.FAULT_REVERTED, self.now(), None, {"fault_id": fault_id, "detail": detail})

    def request_handoff(
        self,
        tx: GameDayTx,
        state: GameDayState,
        from_user: str | None,
        to_user: str,
        at: float,
        requested_by: str | None,
        key: str | None = None,
        replay: bool = False,
    ) -> None:
        scenario = cached_scenario(tx.record.scenario_text)
        owned = [p.page_id for p in state.pages.values() if p.owner == from_user and p.contained_at is None]
        handoff_id = f"h{len(state.handoffs) + 1}"
        ts = self.posted_once(
            tx,
            key or f"handoff:{handoff_id}",
            replay,
            ("handoff", handoff_id, from_user, to_user),
            lambda k: self.announcer.handoff(tx.record, handoff_id, from_user, to_user, k),
        )
        requested_at = at if requested_by else float(ts)
        tx.append(
            Kind.HANDOFF_REQUESTED,
            requested_at,
            requested_by,
            {
                "handoff_id": handoff_id,
                "page_ids": owned,
                "from": from_user,
                "to": to_user,
                "message_ts": ts,
            },
        )
        tx.index_message(handoff_id, tx.record.channel, ts)
        if scenario.expect.handoff_within is not None:
            self.schedule(
                tx, f"check:{handoff_id}", requested_at + scenario.expect.handoff_within + 0.001, CHECK
            )

    def schedule(
        self, tx: GameDayTx, key: str, due_at: float, kind: TimerKind, payload: dict[str, Any] | None = None
    ) -> None:
        tx.schedule(f"{tx.record.id}:{key}", due_at, kind, payload or {})
        tx.after_commit(lambda: self.on_timer_scheduled(due_at))  # woken before, it would find nothing

"""The injects of a game day: running its steps (pages, log lines, handoffs, faults) and escalating.

Each function works inside the caller's locked transaction and records what it did on the timeline;
its messages go through the outbox (``bot/gameday/running/outbox``), posted once the transaction
has committed.
The ``Injector`` runs a step by its kind; the effects live by concept:
``paging`` (pages, escalations, handoffs), ``fault_steps`` (apply, observe, revert), ``more_steps``
(log lines, HTTP probes, SBOMs, webhooks) and ``scheduling`` (durable timers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.gameday.people.roster import roster_at
from bot.gameday.ports import Announcer, FaultRouter, GameDayRecord, GameDayTx
from bot.gameday.running.fault_steps import FaultSteps
from bot.gameday.running.more_steps import HttpCaller, MoreSteps
from bot.gameday.running.outbox import Outbox, Payload, PostKind, over
from bot.gameday.running.paging import Paging
from bot.gameday.running.scheduling import Scheduler
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.scenario.guardrails import DEFAULT_MAX_TTL
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState
from bot.gameday.timeline import Kind

STEP, ESCALATE, CHECK, TIME_BOX = TimerKind.STEP, TimerKind.ESCALATE, TimerKind.CHECK, TimerKind.TIME_BOX
FAULT_EXPIRY, PUBLISH, OBSERVE = TimerKind.FAULT_EXPIRY, TimerKind.PUBLISH, TimerKind.OBSERVE


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
        self.announcer = announcer
        self.faults = faults
        self.now = clock
        self.allowed_namespaces = allowed_namespaces
        self.outbox = Outbox(announcer, clock, on_timer_scheduled)
        self.scheduler = Scheduler(on_timer_scheduled)
        self.paging = Paging(announcer, clock, self.scheduler, self.outbox)
        self.fault_steps = FaultSteps(faults, clock, allowed_namespaces, self.scheduler, self.outbox, max_ttl)
        self.more = MoreSteps(clock, http, self.schedule, self.outbox)
        self.outbox.register("say", PostKind(self._send_say, self._said, self._say_moot))
        self.outbox.register("role", PostKind(self._send_role))

    @property
    def max_ttl(self) -> float:
        """SCE_MAX_TTL as checked at apply; a deployment may lower it while game days run."""
        return self.fault_steps.max_ttl

    @max_ttl.setter
    def max_ttl(self, value: float) -> None:
        self.fault_steps.max_ttl = value

    @property
    def on_timer_scheduled(self) -> Callable[[float], None]:
        return self.scheduler.on_timer_scheduled

    def say(self, tx: GameDayTx, key: str, text: str, step: int | None = None) -> None:
        """A message in the thread, once (``key``); a step's (``step``) is recorded as said at its ts."""
        self.outbox.post(tx, key, "say", {"text": text, "step": step})

    def _send_say(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, payload: Payload, key: str
    ) -> str:
        return self.announcer.say(record, str(payload["text"]), key)

    @staticmethod
    def _said(tx: GameDayTx, scenario: Scenario, state: GameDayState, payload: Payload, ts: str) -> None:
        index = payload.get("step")
        if index is not None and int(index) not in state.steps_ran:
            data = {"step": index, "text": payload["text"], "message_ts": ts}
            tx.append(Kind.SAID, float(ts), None, data)
            tx.append(Kind.STEP_RAN, float(ts), None, {"step": index, "kind": "say"})

    @staticmethod
    def _say_moot(state: GameDayState, payload: Payload) -> str | None:
        return over(state, payload) if payload.get("step") is not None else None

    def announce_role(self, tx: GameDayTx, role: str, user: str) -> None:
        """``user`` now holds ``role``: said in the thread with a real mention."""
        self.outbox.post(tx, f"role:{role}:{len(tx.events)}", "role", {"role": role, "user": user})

    def _send_role(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, payload: Payload, key: str
    ) -> str:
        return self.announcer.role(record, str(payload["role"]), str(payload["user"]), key)

    def run_step(self, tx: GameDayTx, scenario: Scenario, state: GameDayState, index: int) -> None:
        """Run one step by its kind, once (a step that ran before does nothing)."""
        if index in state.steps_ran:
            return
        step = scenario.steps[index]
        if step.page is not None:  # a step whose message is its effect has run once Slack has it
            self.paging.page(tx, scenario, state, index, step)
            return
        if step.say is not None:
            self.say(tx, f"step:{index}", step.say, index)
            return
        if step.handoff is not None:
            roster = roster_at(tx.record.roster, self.now())
            from_user = roster.get(step.handoff.from_)
            to_user = roster[step.handoff.to]
            self.paging.request_handoff(tx, state, from_user, to_user, float(self.now()), None, index)
            return
        if step.fault is not None:
            self.fault_steps.apply_fault(tx, scenario, index, step)
        elif step.logs is not None and step.logs.live:  # followed by its own timer (running/live_logs)
            now = self.now()
            payload = {"step": index, "started_at": now, "n": 0}
            self.schedule(tx, f"logs:{index}:0", now, TimerKind.LOG_BATCH, payload)
        elif step.logs is not None:
            self.more.stream_log(tx, scenario, index, 0)
            return  # the step has run once its last line is out
        elif step.http is not None:
            self.more.http_probe(tx, index, step.http, scenario.guardrails.hosts)
        elif step.sbom is not None:
            self.more.sbom(tx, index, step.sbom)
        elif step.webhook is not None:
            self.more.webhook(tx, index, step.webhook, scenario.guardrails.hosts)
        tx.append(Kind.STEP_RAN, self.now(), None, {"step": index, "kind": step.kind})

    def schedule(
        self, tx: GameDayTx, key: str, due_at: float, kind: TimerKind, payload: dict[str, Any] | None = None
    ) -> None:
        """A durable timer of this game day (``bot/gameday/running/scheduling``)."""
        self.scheduler.schedule(tx, key, due_at, kind, payload)

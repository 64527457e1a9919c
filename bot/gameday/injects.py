"""The injects of a game day: running its steps (pages, log lines, handoffs, faults) and escalating.

Each function works inside the caller's locked transaction and records what it did on the timeline.
The ``Injector`` runs a step by its kind and posts each message once; the effects live by concept:
``paging`` (pages, escalations, handoffs), ``fault_steps`` (apply, observe, revert), ``more_steps``
(log lines, HTTP probes, SBOMs, webhooks) and ``scheduling`` (durable timers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.gameday import posting
from bot.gameday.best_effort import best_effort
from bot.gameday.fault_steps import FaultSteps
from bot.gameday.guardrails import DEFAULT_MAX_TTL
from bot.gameday.more_steps import HttpCaller, MoreSteps
from bot.gameday.paging import Paging
from bot.gameday.ports import Announcer, FaultRouter, GameDayRecord, GameDayTx
from bot.gameday.posting import InFlight, What
from bot.gameday.roster import roster_at
from bot.gameday.scenario import Scenario, Step
from bot.gameday.scheduling import Scheduler
from bot.gameday.state import FaultState, GameDayState
from bot.gameday.timeline import Kind
from bot.gameday.timer_types import TimerKind

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
        self.in_flight = InFlight()  # posts made ahead of their transaction (bot/gameday/posting)
        self.scheduler = Scheduler(on_timer_scheduled)
        self.paging = Paging(announcer, clock, self.scheduler, self.posted_once)
        self.fault_steps = FaultSteps(announcer, faults, clock, allowed_namespaces, self.scheduler, max_ttl)
        self.more = MoreSteps(announcer, clock, http, self.schedule, self.posted_once)

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
        """Run one step by its kind, once (a step that ran before does nothing)."""
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

    # -- each concept's effects, under the names the engine and the responders call ---------------
    def schedule(
        self, tx: GameDayTx, key: str, due_at: float, kind: TimerKind, payload: dict[str, Any] | None = None
    ) -> None:
        """A durable timer of this game day (``bot/gameday/scheduling``)."""
        self.scheduler.schedule(tx, key, due_at, kind, payload)

    def schedule_inject_checks(self, tx: GameDayTx, scenario: Scenario, t0: float) -> None:
        """The checks of detect_within and contain_within, from the first inject."""
        self.scheduler.inject_checks(tx, scenario, t0)

    def page(
        self, tx: GameDayTx, scenario: Scenario, state: GameDayState, index: int, step: Step, replay: bool
    ) -> None:
        """A page step (``bot/gameday/paging``)."""
        self.paging.page(tx, scenario, state, index, step, replay)

    def escalate(self, tx: GameDayTx, state: GameDayState, page_id: str, replay: bool = False) -> None:
        """Page the secondary for a page still unacknowledged (``bot/gameday/paging``)."""
        self.paging.escalate(tx, state, page_id, replay)

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
        """A handoff between responders (``bot/gameday/paging``)."""
        self.paging.request_handoff(tx, state, from_user, to_user, at, requested_by, key, replay)

    def fault_intent(self, tx: GameDayTx, scenario: Scenario, index: int) -> dict[str, Any] | None:
        """What a fault step is about to do (``bot/gameday/fault_steps``)."""
        return self.fault_steps.fault_intent(tx, scenario, index)

    def apply_fault(self, tx: GameDayTx, scenario: Scenario, index: int, step: Step) -> None:
        """A fault step (``bot/gameday/fault_steps``)."""
        self.fault_steps.apply_fault(tx, scenario, index, step)

    def observe_fault(self, tx: GameDayTx, state: GameDayState, fault_id: str, attempt: int) -> None:
        """A look at a probe's outcome (``bot/gameday/fault_steps``)."""
        self.fault_steps.observe_fault(tx, state, fault_id, attempt)

    def revert_calls(
        self, gameday_id: str, faults: list[FaultState]
    ) -> list[tuple[FaultState, str | Exception]]:
        """Every fault's revert, side by side (``bot/gameday/fault_steps``)."""
        return self.fault_steps.revert_calls(gameday_id, faults)

    def revert_fault(self, tx: GameDayTx, scenario: Scenario, fault_id: str) -> None:
        """A fault whose lease ran out (``bot/gameday/fault_steps``)."""
        self.fault_steps.revert_fault(tx, scenario, fault_id)

"""The state machine of a game day: start, run steps, page, acknowledge, hand off, escalate, finish.

Every operation is one locked transaction on one game day: it reads the timeline, decides, appends
events and schedules durable timers. Slack input carries its own ``at`` (Slack's ts) and a delivery
id, so a retried delivery changes nothing and queueing never biases a metric.

The ``Engine`` is the one front the edges call; each concern lives in its own module:
``starting`` (start, approval), ``firing`` (due timers), ``operations`` (input under the lock),
``facilitation`` (pause, resume, next, end, abort), ``finishing`` (settle, end, debrief) and
``responses`` (responders' input).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

from bot.gameday.live_logs.sources import LogSources
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import (
    Announcer,
    FaultDriver,
    FaultRouter,
    GameDayRecord,
    GameDayStore,
    SingleDriver,
    Timer,
)
from bot.gameday.preflight import Query
from bot.gameday.running.annotating import Annotating, GrafanaPort
from bot.gameday.running.canary import CanaryWait
from bot.gameday.running.delivery_delays import DeliveryDelays
from bot.gameday.running.facilitation import Facilitation
from bot.gameday.running.failure_paging import FailurePaging
from bot.gameday.running.finishing import Finishing, build_debrief_for
from bot.gameday.running.firing import TimerFiring
from bot.gameday.running.inbox import Action, Input
from bot.gameday.running.injects import Injector
from bot.gameday.running.live_logs import LiveLogs
from bot.gameday.running.more_steps import HttpCaller
from bot.gameday.running.operations import Operations
from bot.gameday.running.outcome import Outcome
from bot.gameday.running.panel_capture import RangeQuery
from bot.gameday.running.responses import ResponderInput
from bot.gameday.running.standing import StandingApproval
from bot.gameday.running.starting import Starting
from bot.gameday.running.steady_watch import SteadyWatch
from bot.gameday.running.timer_outcomes import TimerOutcomes
from bot.gameday.scenario.guardrails import DEFAULT_MAX_TTL
from bot.gameday.timeline import Event

__all__ = ["Engine", "build_debrief_for"]


class Engine(ResponderInput):
    def __init__(
        self,
        store: GameDayStore,
        announcer: Announcer,
        clock: Callable[[], float],
        faults: FaultDriver | FaultRouter,
        allowed_namespaces: frozenset[str] = frozenset(),
        on_timer_scheduled: Callable[[float], None] | None = None,
        approvers: frozenset[str] = frozenset(),
        http: HttpCaller | None = None,
        shared: bool = False,
        attack_images: frozenset[str] = frozenset(),
        max_ttl: float = DEFAULT_MAX_TTL,
        steady_query: Query | None = None,
        range_query: RangeQuery | None = None,
        grafana: GrafanaPort | None = None,
        log_sources: LogSources | None = None,
    ):
        """``shared``: other processes write to the same store (PostgreSQL replicas): this one then
        looks for timers a dead replica left half-fired.
        ``attack_images``: the images attack pods may run (SCE_ATTACK_IMAGES); empty leaves the check
        to the driver, at apply. ``max_ttl`` (SCE_MAX_TTL) is the ceiling of every fault ttl and of
        the time box. ``steady_query`` and ``range_query`` ask the team's Prometheus (SCE_PROMETHEUS_URL):
        the steady state, and the panels drawn in the debrief."""
        self.store = store
        self.announcer = announcer
        self.now = clock
        self.allowed_namespaces = allowed_namespaces
        self.attack_images = attack_images
        self.delays = DeliveryDelays(store, announcer, clock)  # failing posts, told once Slack is back
        self.outcomes = TimerOutcomes(store, self.delays, clock)  # retries with backoff, surfacing
        router = cast(FaultRouter, faults) if hasattr(faults, "driver_for") else SingleDriver(faults)
        self.injects = Injector(
            announcer,
            router,
            clock,
            allowed_namespaces,
            on_timer_scheduled or (lambda due: None),
            http=http,
            max_ttl=max_ttl,
        )
        self.finishing = Finishing(store, announcer, clock, self.injects)
        self.finishing.range_query = range_query  # the panels at the end (panel_capture)
        self.operations = Operations(store, self.injects.outbox.in_flight, self.finishing.settle)
        self.injects.outbox.attach(
            store, self.outcomes, self.finishing.settle
        )  # the sender claims, records, retries
        self.starting = Starting(
            store,
            announcer,
            clock,
            self.injects,
            self.finishing,
            allowed_namespaces,
            attack_images,
            max_ttl,
            approvers,
        )
        self.steady = SteadyWatch(store, steady_query, clock, self.injects, self.finishing, http)
        self.starting.steady = self.steady
        self.canary = CanaryWait(
            self.operations, self.injects, self.finishing, clock, self.starting.schedule_steps
        )
        self.starting.canary = self.canary
        self.firing = TimerFiring(
            store, self.injects, clock, self.finishing, shared, self.steady, self.canary
        )
        self.facilitation = Facilitation(self.operations, self.finishing, self.injects, clock)
        self.live_logs = LiveLogs(store, log_sources, clock, self.injects, self.finishing)  # logs: steps
        self.firing.live_logs = self.live_logs
        # Grafana annotations and dashboard links (SCE_GRAFANA_URL), on timers of their own
        self.annotating = Annotating(store, grafana, clock, self.injects, self.finishing)
        self.firing.annotating = self.annotating
        # PagerDuty on failure: a real incident when a revert fails or a guardrail trips (its pager is set
        # by the wiring, SCE_PAGERDUTY_FAILURE_ROUTING_KEY); failed reverts are retried after the end
        self.failure_paging = FailurePaging(store, clock, self.injects, self.finishing)
        self.firing.failure_paging = self.failure_paging

    # settings a deployment (or a test) may change while the engine runs
    @property
    def max_ttl(self) -> float:
        return self.starting.max_ttl

    @max_ttl.setter
    def max_ttl(self, value: float) -> None:
        self.starting.max_ttl = value

    @property
    def approvers(self) -> frozenset[str]:
        return self.starting.approvers

    @approvers.setter
    def approvers(self, value: frozenset[str]) -> None:
        self.starting.approvers = value

    @property
    def shared(self) -> bool:
        return self.firing.shared

    @shared.setter
    def shared(self, value: bool) -> None:
        self.firing.shared = value

    # -- starting -------------------------------------------------------------------------------
    def start(
        self,
        scenario_text: str,
        channel: str,
        started_by: str,
        roster: dict[str, str],
        dry_run: bool = False,
        unattended: bool = False,
        standing: StandingApproval | None = None,
    ) -> Outcome:
        """Create the game day, post its kickoff message (the thread) and schedule its steps;
        ``unattended``: nobody is waited for (`sce run`); ``standing``: the standing approval it runs on."""
        return self.starting.start(scenario_text, channel, started_by, roster, dry_run, unattended, standing)

    def approve(
        self, gameday_id: str, user: str, at: float, delivery_id: str, approvers: frozenset[str] | None = None
    ) -> Outcome:
        """Two-person rule: an approver other than the starter lets the steps (and faults) run."""
        return self.starting.approve(gameday_id, user, at, delivery_id, approvers)

    # -- timers ---------------------------------------------------------------------------------
    def fire(self, timer: Timer) -> None:
        """Run one due timer; running it again after a crash is harmless."""
        self.firing.fire(timer)

    def find_target(self, channel: str, message_ts: str) -> tuple[str, str] | None:
        """(game day, page or handoff) of a message, waiting for one Slack has just taken to be recorded."""
        return self.firing.find_target(channel, message_ts)

    # -- operations -----------------------------------------------------------------------------
    def _operate(
        self,
        gameday_id: str,
        delivery_id: str | None,
        action: Action,
        when_over: str = "This game day is over.",
        urgent: bool = False,
    ) -> Outcome:
        return self.operations.operate(gameday_id, delivery_id, action, when_over, urgent)

    def operate_many(self, gameday_id: str, inputs: Sequence[Input], urgent: bool = False) -> list[Outcome]:
        """Several operations on one game day, in order, in one locked transaction."""
        return self.operations.operate_many(gameday_id, inputs, urgent)

    def operate_across(
        self, batches: Mapping[str, Sequence[Input]], urgent: bool = False
    ) -> dict[str, list[Outcome]]:
        """Each game day's operations in order, all game days in one transaction (the inbox's batches)."""
        return self.operations.operate_across(batches, urgent)

    # -- facilitation ---------------------------------------------------------------------------
    def pause(self, gameday_id: str, user: str) -> Outcome:
        """Stop the game-day clock: later steps and escalations wait until resume."""
        return self.facilitation.pause(gameday_id, user)

    def resume(self, gameday_id: str, user: str) -> Outcome:
        """Start the clock again; every held timer moves later by the time spent paused."""
        return self.facilitation.resume(gameday_id, user)

    def next_step(self, gameday_id: str, user: str) -> Outcome:
        """Tabletop mode: run the next step now."""
        return self.facilitation.next_step(gameday_id, user)

    def end(self, gameday_id: str, user: str) -> Outcome:
        """The facilitator ends the game day; outcomes still open count as missed."""
        return self.facilitation.end(gameday_id, user)

    def abort(self, gameday_id: str, user: str, reason: str = "") -> Outcome:
        """Stop at once, revert every fault; the verdict is inconclusive."""
        return self.facilitation.abort(gameday_id, user, reason)

    def canary_arrived(self, gameday_id: str, name: str, labels: dict[str, str], delivery_id: str) -> Outcome:
        """The preflight's canary alert came: the game day goes on to its approval or its steps."""
        return self.canary.arrived(gameday_id, name, labels, delivery_id)

    def stop_on_condition(
        self, gameday_id: str, reason: str, delivery_id: str, guardrail: bool = True
    ) -> Outcome:
        """A guardrail's stop condition fired (a real incident): abort at once, revert every fault;
        ``guardrail`` False for the halt lever (a PagerDuty failure incident is only for guardrails)."""
        return self.facilitation.stop_on_condition(gameday_id, reason, delivery_id, guardrail)

    # -- the end --------------------------------------------------------------------------------
    def debrief_from(self, record: GameDayRecord, events: list[Event], now: float | None = None) -> Debrief:
        """The debrief of a game day as of ``now`` (default: the clock)."""
        return self.finishing.debrief_from(record, events, now)

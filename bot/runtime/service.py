"""Wiring: one place that builds the store, the engine, the Slack client and the timer service."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient

from bot.config import Settings, data_dir
from bot.faults.reaper_service import FaultReaper
from bot.faults.registry import FaultDrivers
from bot.gameday.clock import Clock, SystemClock
from bot.gameday.findings.joining import LoopJoiner
from bot.gameday.findings.recording import FindingRecorder
from bot.gameday.findings.verifying import RegressionVerifier
from bot.gameday.ports import Announcer
from bot.gameday.preflight import Check, HttpStatus, Query, http_status
from bot.gameday.running.engine import Engine
from bot.gameday.running.inbox import Inbox
from bot.gameday.running.outbox import PostKind
from bot.gameday.scenario.catalog import RotationCatalog, ScenarioCatalog
from bot.gameday.scenario.model import Scenario
from bot.integrations.alert_intake import AlertIntake
from bot.integrations.failure_pager import PagerDutyFailurePager
from bot.integrations.grafana import Grafana
from bot.integrations.grafana_annotations import GrafanaAnnotations
from bot.integrations.http_caller import RequestsCaller
from bot.integrations.log_sources import EdgeLogSources
from bot.integrations.pagerduty import OnCallSchedule, PagerDuty
from bot.integrations.prometheus import Prometheus
from bot.integrations.tickets.poller import TicketPoller
from bot.runtime.halting import HaltLever
from bot.runtime.observability import CountedRetries, ObservedWebClient
from bot.runtime.policy_wiring import apply_policy
from bot.runtime.replay_guard import MemoryReplayGuard, ReplayGuard
from bot.runtime.timer_service import TimerService
from bot.slack.announcer import SlackAnnouncer
from bot.slack.budget import Budget
from bot.slack.channel_members import ChannelMembers
from bot.slack.comms import ChannelAnnouncer, register_comms
from bot.slack.debrief_links import DebriefLinks
from bot.slack.finding_buttons import POST as FINDINGS_POST
from bot.slack.finding_buttons import FindingButtons
from bot.slack.finding_digest import FindingDigest
from bot.slack.pacing import ChannelPacer
from bot.slack.rate_limits import ShortRateLimitRetry
from bot.slack.scheduled_starts import ScheduledStarts
from bot.slack.start_checks import StartChecks
from bot.slack.status_line import StatusLine
from bot.slack.ticket_links import register_ticket_links
from storage.database import make_engine, migrate, sqlite_file
from storage.digest_store import DigestStore
from storage.finding_store import FindingStore
from storage.halt_store import HaltStore
from storage.replay_store import SqlReplayGuard, WrittenBehindReplayGuard
from storage.schedule_store import ScheduleStore
from storage.sql_store import SqlStore

# a step now waits on I/O (its post, then its commit), not on the interpreter: with two workers a wave
# of 100 steps queued up to 250 ms on PostgreSQL, with four it keeps up (measured: bench/timers.py)
TIMER_WORKERS = 4
CLAIM_AHEAD_SECONDS = 0.015  # a claim and its hand-over take 2-3 ms, more in a wave of steps


@dataclass
class Services:
    settings: Settings
    clock: Clock
    store: SqlStore
    engine: Engine
    catalog: ScenarioCatalog
    client: WebClient
    timers: TimerService
    rotations: RotationCatalog
    schedules: ScheduleStore
    intake: AlertIntake
    announcer: SlackAnnouncer
    inbox: Inbox
    members: ChannelMembers
    pagerduty_schedule: OnCallSchedule | None = None
    replay: ReplayGuard = field(default_factory=MemoryReplayGuard)  # signed requests already taken
    links: DebriefLinks = field(default_factory=DebriefLinks.unlinked)  # to the hosted HTML debriefs
    drivers: FaultDrivers | None = None  # the fault drivers: preflight asks their cluster for permissions
    finding_buttons: FindingButtons | None = None  # the findings under a debrief; None without Slack
    halt: HaltLever | None = None  # the lever that stops every game day (bot/runtime/halting.py)
    comms: ChannelAnnouncer | None = None  # posts to scenarios' comms.announce channels (bot/slack/comms.py)
    keyed_replay: ReplayGuard | None = None  # messages and reactions if not ``replay`` (bot/slack/inert.py)

    def preflight_http(self) -> HttpStatus:
        """How preflight makes a steady-state HTTP probe: as the game day's http steps do."""
        return http_status(RequestsCaller(referable=self.settings.scenario_secrets))

    def preflight_query(self) -> Query | None:
        """How preflight asks the team's Prometheus; None when SCE_PROMETHEUS_URL is not set."""
        url = self.settings.prometheus_url
        return Prometheus(url).query if url else None

    def start_checks(self, scenario: Scenario, channel: str, dry_run: bool = False) -> list[Check]:
        """The preflight of a start (`/sce start`, a scheduled one): it starts only if every check passes."""
        checks = StartChecks(
            self.client, self.preflight_query, self.preflight_http, self.drivers, self.settings.loki_url
        )
        return checks(scenario, channel, dry_run)

    def stop(self) -> None:
        """Write the Slack input already acknowledged, then stop waking timers."""
        self.inbox.close()
        self.timers.stop()
        self.announcer.follow_ups.close()
        self.announcer.status_line.close()
        self.replay.close()  # the signatures taken are written, so a replay after a restart is caught too
        if self.keyed_replay is not None:
            self.keyed_replay.close()
        self.engine.live_logs.close()  # live logs steps: their streams closed, their threads ended


def slack_client(settings: Settings) -> WebClient:
    """The one Web API client: base URL from config, Slack's short rate-limit answers retried in the call
    (a long one fails the call: an outbox post is due again when Slack said, ``bot/slack/rate_limits``)."""
    client = ObservedWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=max(1, round(settings.slack_timeout)),  # the SDK takes whole seconds
    )
    handlers = [*client.retry_handlers, ShortRateLimitRetry(max_retry_count=5)]
    client.retry_handlers = [CountedRetries(handler) for handler in handlers]
    return client


def fault_drivers(settings: Settings) -> FaultDrivers:
    """Drivers for the cluster of in-cluster config or KUBECONFIG; without one, simulated (and says so)."""
    options: dict[str, Any] = {
        "sinkhole_domain": settings.sinkhole_domain,
        "sinkhole_cidr": settings.sinkhole_cidr,
        "attack_images": settings.allowed_attack_images,
        **({"probe_image": settings.probe_image} if settings.probe_image else {}),
    }
    return FaultDrivers.from_environment(
        settings.allowed_namespaces, chaos_mesh=settings.chaos_mesh, **options
    )


def open_store(settings: Settings) -> SqlStore:
    """The store on DATABASE_URL, migrated to the newest schema; sce's data folder is made on first use."""
    file = sqlite_file(settings.database_url)
    if file is not None and file.parent.is_relative_to(data_dir()):
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    migrate(engine)
    return SqlStore(engine)


def grafana_annotations(settings: Settings, announcer: SlackAnnouncer) -> GrafanaAnnotations | None:
    """The team's Grafana (SCE_GRAFANA_URL, SCE_GRAFANA_TOKEN) for annotations and links; None when unset."""
    if not settings.grafana_url:
        return None
    return GrafanaAnnotations(Grafana(settings.grafana_url, settings.grafana_token), announcer)


def build_services(
    settings: Settings,
    clock: Clock | None = None,
    simulate_faults: bool = False,
    unattended: bool = False,
    announcer_override: Announcer | None = None,
) -> Services:
    """Everything `sce serve` runs on; ``simulate_faults`` keeps any configured cluster out of reach.

    ``unattended`` (`sce run`): the timers fired are only those of the game days the store is told are
    its own (``SqlStore.own_timers``), with no scheduled starts and no reaper (`sce serve`'s work);
    ``announcer_override``: the engine's announcer instead of Slack's (a run without Slack)."""
    clock = clock or SystemClock()
    store = open_store(settings)
    if unattended:
        store.own_timers(())  # none until the run's game day exists
    client = slack_client(settings)
    holder: list[TimerService] = []
    drivers = FaultDrivers(None) if simulate_faults else fault_drivers(settings)
    pager = PagerDuty(settings.pagerduty_events_url, settings.pagerduty_routing_key)
    announcer = SlackAnnouncer(
        client,
        pagerduty=pager if settings.pagerduty_routing_key else None,
        pacer=ChannelPacer(per_second=settings.slack_posts_per_second),
        status_line=StatusLine(min_interval=settings.status_interval, per_minute=settings.status_per_minute),
        reactions=Budget(settings.reactions_per_minute),
    )
    concurrent = store.engine.dialect.name != "sqlite"  # SQLite has one writer; PostgreSQL locks rows
    engine = Engine(
        store,
        announcer_override or announcer,
        clock.now,
        drivers,
        settings.allowed_namespaces,
        on_timer_scheduled=lambda due: holder[0].wake_at(due) if holder else None,
        approvers=settings.approvers,
        attack_images=settings.allowed_attack_images,
        http=RequestsCaller(referable=settings.scenario_secrets),
        shared=concurrent,
        max_ttl=settings.max_ttl,
        steady_query=Prometheus(settings.prometheus_url).query if settings.prometheus_url else None,
        range_query=Prometheus(settings.prometheus_url).query_range if settings.prometheus_url else None,
        grafana=grafana_annotations(settings, announcer) if announcer_override is None else None,
        log_sources=EdgeLogSources(drivers.cluster, settings.loki_url),  # logs: steps' live sources
    )
    register_ticket_links(engine, client)  # `/sce ticket`'s answer goes out through the outbox
    comms = ChannelAnnouncer(client, clock.now)  # comms.announce: no surprise chaos (bot/slack/comms.py)
    if announcer_override is None:
        register_comms(engine, announcer, comms)
    # a finished game day's gaps, action items and misses become findings as its debrief is built
    engine.finishing.after_debrief.append(FindingRecorder(FindingStore(store.engine), clock.now))
    # an unattended run's end verifies the fixes it now meets (bot/gameday/findings/verifying.py)
    engine.finishing.after_debrief.append(RegressionVerifier(FindingStore(store.engine), clock.now))
    buttons = FindingButtons(
        FindingStore(store.engine), store, announcer, client, clock.now, tickets=bool(settings.tickets)
    )
    if announcer_override is None:  # then the findings and their buttons follow the debrief in its thread
        engine.injects.outbox.register(FINDINGS_POST, PostKind(buttons.send))
        engine.finishing.after_publish.append(buttons.wanted)
    engine.finishing.debrief_extras.append(LoopJoiner(FindingStore(store.engine), clock.now))
    if settings.pagerduty_failure_routing_key:  # PagerDuty on failure: real incidents, a key of their own
        engine.failure_paging.pager = PagerDutyFailurePager(
            settings.pagerduty_failure_routing_key, settings.pagerduty_events_url
        )
    timers = TimerService(
        store,
        engine,
        clock,
        workers=TIMER_WORKERS,
        shared=concurrent,
        retry_after=settings.timer_retry_seconds,
        # only the wall clock keeps a lane's wait for the claimed timer's moment exact; the demo's and the
        # tests' clocks jump
        claim_ahead=CLAIM_AHEAD_SECONDS if isinstance(clock, SystemClock) else 0.0,
    )
    holder.append(timers)
    catalog = ScenarioCatalog(settings.scenarios_dir)
    rotations = RotationCatalog(settings.rotations_dir)
    schedules = ScheduleStore(store.engine)
    timers.others.append(
        ScheduledStarts(
            schedules,
            engine,
            catalog,
            rotations,
            client,
            clock.now,
            OnCallSchedule(settings.pagerduty_api_url, settings.pagerduty_api_token)
            if settings.pagerduty_api_token
            else None,
            StartChecks(
                client,
                lambda: Prometheus(settings.prometheus_url).query if settings.prometheus_url else None,
                lambda: http_status(RequestsCaller(referable=settings.scenario_secrets)),
                drivers,
                settings.loki_url,
            ),
            comms=comms,
        )
    )
    # the halt lever: no start while it holds, and every replica stops what still runs at each poll
    lever = HaltLever(HaltStore(store.engine), store, engine, clock.now)
    engine.starting.halted = lever.current
    apply_policy(engine, settings, client)  # SCE_POLICY: every start and approval checks it
    timers.others.insert(0, lever)
    reaper = FaultReaper(drivers, settings.allowed_namespaces)
    reaper.on_fault = engine.failure_paging.reaper_found  # what it finds goes on its game day's timeline
    timers.others.append(reaper)
    if settings.tickets:  # SCE_TICKETS: findings follow their tickets every ten minutes
        timers.others.extend(_ticket_poller(settings, store))
    if settings.digest is not None:  # SCE_DIGEST: overdue findings, once a week to their channel
        digest = FindingDigest(FindingStore(store.engine), DigestStore(store.engine), client, settings.digest)
        timers.others.append(digest)
    if not unattended:  # regression runs of fixed findings, in services of their own (bot/runtime/regression)
        from bot.runtime.regression import RegressionRuns  # it runs `sce run`'s runner: that builds services

        again = functools.partial(build_services, clock=clock, simulate_faults=simulate_faults)
        timers.others.append(RegressionRuns(settings, store, catalog, again, clock.now))
    if unattended:  # `sce run` fires its own game day's timers: scheduled starts and the reaper are serve's
        timers.others[:] = [lever]  # but a halt stops it too
    intake = AlertIntake(store, engine, settings.alerts_channel)
    inbox = Inbox(engine.operate_across)  # thread replies, reactions
    schedule = (
        OnCallSchedule(settings.pagerduty_api_url, settings.pagerduty_api_token)
        if settings.pagerduty_api_token
        else None
    )
    return Services(
        settings,
        clock,
        store,
        engine,
        catalog,
        client,
        timers,
        rotations,
        schedules,
        intake,
        announcer,
        inbox,
        ChannelMembers(client, clock.now, settings.admins),
        schedule,
        SqlReplayGuard(store.engine) if concurrent else WrittenBehindReplayGuard(store.engine),
        DebriefLinks.from_settings(settings, clock.now),
        drivers,
        buttons if announcer_override is None else None,
        lever,
        comms=comms if announcer_override is None else None,
        # replicas share the guard's table before each ack; messages and reactions need not wait for it
        # (`sce run` takes no Slack request: no guard of its own, no thread writing it behind)
        keyed_replay=WrittenBehindReplayGuard(store.engine) if concurrent and not unattended else None,
    )


def _ticket_poller(settings: Settings, store: SqlStore) -> list[TicketPoller]:
    """The ticket sync of `sce serve`, or none (logged) when SCE_TICKETS is set but cannot be used."""
    from bot.integrations.tickets.base import TicketError
    from bot.integrations.tickets.desk import tracker_from

    try:
        return [TicketPoller(FindingStore(store.engine), tracker_from(settings))]
    except TicketError as exc:
        logging.getLogger(__name__).warning("tickets are not synced: %s", exc)
        return []

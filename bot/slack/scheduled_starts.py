"""Scheduled game days coming due: reminders in the channel, then the start, from the durable rows."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient

from bot.gameday.measuring.redaction import redact
from bot.gameday.people.mentions import literal
from bot.gameday.people.roster import RosterError
from bot.gameday.people.rotation import RotationError
from bot.gameday.preflight import passed, veto
from bot.gameday.running.delivery_delays import SURFACE_AFTER_ATTEMPTS
from bot.gameday.running.engine import Engine
from bot.gameday.running.poller import retry_delay
from bot.gameday.running.schedule import (
    REMIND_BEFORE,
    comms_reminder,
    reminder_offsets,
    reminders_due,
    roster_options,
)
from bot.gameday.scenario.catalog import RotationCatalog, ScenarioCatalog, UnknownScenario
from bot.gameday.scenario.loading import ScenarioError
from bot.integrations.pagerduty import OnCallSchedule
from bot.runtime.observability import count_timer_failure
from bot.slack.comms import ChannelAnnouncer, announcement
from bot.slack.oncall_lookup import roster_for
from bot.slack.render import render
from bot.slack.start_checks import StartChecks
from storage.schedule_store import Claimed, Schedule, ScheduleStore

log = logging.getLogger(__name__)


class ScheduledStarts:
    def __init__(
        self,
        schedules: ScheduleStore,
        engine: Engine,
        catalog: ScenarioCatalog,
        rotations: RotationCatalog,
        client: WebClient,
        clock: Callable[[], float],
        pagerduty: OnCallSchedule | None = None,
        checks: StartChecks | None = None,
        comms: ChannelAnnouncer | None = None,
    ):
        """``checks``: the preflight a start runs first (the same as `/sce start`'s); ``comms``: the
        announce channels' poster (a booking's ``comms.remind_before`` reminder goes to them)."""
        self.checks = checks
        self.comms = comms
        self.pagerduty = pagerduty
        self.schedules = schedules
        self.engine = engine
        self.catalog = catalog
        self.rotations = rotations
        self.client = client
        self.now = clock
        # a reminder Slack keeps failing backs off like a timer (5 s doubling, at most 5 min); this
        # process's count of its failures in a row, so the one that gets through can say it is late
        self._failures: dict[str, int] = {}
        self._not_before: dict[str, float] = {}

    def recover(self) -> None:
        self.schedules.reset_stale_starts()

    def next_due_at(self) -> float | None:
        return self.schedules.next_due_at()

    def run_due(self, now: float) -> int:
        done = 0
        waiting = {sid for sid, at in self._not_before.items() if at > now}
        for claim in self.schedules.claim_due(now, skip=waiting):
            try:
                self._remind(claim, now) if claim.action == "remind" else self._start(claim, now)
                done += 1
            except Exception:
                log.exception("schedule %s: %s failed", claim.schedule.id, claim.action)
        return done

    def _remind(self, claim: Claimed, now: float) -> None:
        s = claim.schedule
        failed = self._failures.get(s.id, 0)
        late = failed if failed >= SURFACE_AFTER_ATTEMPTS else 0  # said once, in the reminder that got out
        due = reminders_due(s.next_at, s.reminders_sent, now, reminder_offsets(s.options))
        try:
            if comms_reminder(s.options) in due:  # first: found by its key, never doubled by a retry
                self._remind_announce_channels(s, now)
            if any(before in REMIND_BEFORE for before in due):
                self.client.chat_postMessage(
                    channel=s.channel,
                    text=render("reminder", schedule=s, seconds=s.next_at - now, late_attempts=late),
                    unfurl_links=False,
                )
        except Exception:  # not lost: owed again, and tried again after its wait
            self.schedules.remind_again(claim, now)
            failed += 1
            self._failures[s.id] = failed
            self._not_before[s.id] = now + retry_delay(failed)
            count_timer_failure("reminder")
            if failed >= SURFACE_AFTER_ATTEMPTS:
                log.error(
                    "the reminder of schedule %s failed %d time(s): it is not lost, and will keep trying",
                    s.id,
                    failed,
                )
            raise
        self.schedules.reminded(claim, now)
        self._failures.pop(s.id, None)
        self._not_before.pop(s.id, None)

    def _remind_announce_channels(self, s: Schedule, now: float) -> None:
        """The comms' reminder to each announce channel of the booked scenario (as the file says now)."""
        if self.comms is None:
            return
        try:
            scenario = self.catalog.load_file(s.scenario_id).scenario
        except (UnknownScenario, ScenarioError) as exc:
            log.warning("schedule %s: no comms reminder, the scenario does not load: %s", s.id, exc)
            return
        if scenario.comms is None:
            return
        text = announcement("reminder", scenario, s.channel, at=s.next_at, seconds=s.next_at - now)
        ahead = comms_reminder(s.options) or 0.0
        self.comms.announce(
            scenario.comms.announce, f"{s.id}:{int(s.next_at)}:remind", s.next_at - ahead - 60, text
        )

    def _start(self, claim: Claimed, now: float) -> None:
        s = claim.schedule
        gameday_id = None
        running = self.engine.store.active_in_channel(s.channel)
        if running:  # one game day per channel: a booking never starts a second one beside it
            last = running[-1]
            problem: str | None = f"game day `{last.id}` ({last.scenario_id}) is still {last.status} here"
        else:
            try:
                loaded = self.catalog.load(s.scenario_id)
                options = roster_options(s.options)  # the rule's reserved keys are no roster's
                scenario = loaded.scenario
                roster = roster_for(self.client, self.rotations, scenario, options, now, self.pagerduty)
                found = self.checks(loaded.scenario, s.channel) if self.checks is not None else []
                if not passed(found):  # the same preflight as /sce start: nothing starts, the channel is told
                    problem = literal(redact(veto(found)))
                else:
                    outcome = self.engine.start(loaded.text, s.channel, s.created_by, roster)
                    gameday_id = outcome.gameday_id
                    problem = None if outcome.ok else outcome.message
            except (UnknownScenario, ScenarioError, RosterError, RotationError) as exc:
                problem = str(exc)
        if problem:
            self.client.chat_postMessage(
                channel=s.channel, text=render("schedule_failed", schedule=s, why=problem)
            )
        self.schedules.started(s.id, gameday_id, now)

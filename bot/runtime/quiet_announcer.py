"""The Announcer of an unattended run without Slack (`sce run` with no SLACK_BOT_TOKEN): it posts nothing.

Each "post" gets a ts from the clock, unique and increasing, as Slack would give one: the engine records
what it stands for (a page sent, a line said) on the timeline all the same, so the debrief is the one a
Slack game day would have; the run prints the timeline's lines itself (``bot/runtime/unattended``).
A page still pages PagerDuty when PAGERDUTY_ROUTING_KEY is set (the on-call may be a real rotation),
except in a dry run, which sends nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import GameDayRecord
from bot.gameday.running.outbound import sends
from bot.gameday.running.timer_types import DeliveryDelay
from bot.gameday.scenario.model import FaultSpec, PageSpec, Scenario
from bot.gameday.state import GameDayState, HandoffState, PageState
from bot.integrations.pagerduty import PagerDuty, PagerDutyError

log = logging.getLogger(__name__)
QUIET_CHANNEL = "unattended"  # the channel an unattended run without Slack records: never a Slack id


class QuietAnnouncer:
    def __init__(self, clock: Callable[[], float], pagerduty: PagerDuty | None = None):
        self.now = clock
        self.pagerduty = pagerduty
        self._last = 0.0
        self._keyed: dict[str, str] = {}
        self._lock = threading.Lock()  # timers run in several threads

    def _ts(self, key: str | None = None) -> str:
        with self._lock:
            if key is not None and key in self._keyed:
                return self._keyed[key]
            self._last = max(self.now(), self._last + 0.000001)
            ts = f"{self._last:.6f}"
            if key is not None:
                self._keyed[key] = ts
            return ts

    def find_posted(self, record: GameDayRecord, key: str) -> str | None:
        with self._lock:
            return self._keyed.get(key)

    def kickoff(self, record: GameDayRecord, scenario: Scenario) -> str:
        return self._ts()

    def refresh_status(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, now: float, version: int
    ) -> None:
        return None

    def page(self, record: GameDayRecord, page_id: str, spec: PageSpec, responder: str, key: str) -> str:
        ts = self._ts(key)
        if self.pagerduty is not None and sends(record):
            links = [("Runbook", spec.runbook)] if spec.runbook else []
            source = f"sce/{record.scenario_id}"
            try:
                self.pagerduty.trigger(
                    page_id, record.id, spec.summary, spec.severity, source, links=links, at=float(ts)
                )
            except PagerDutyError:
                log.exception("PagerDuty did not take page %s of %s", page_id, record.id)
        return ts

    def page_outbound(self, record: GameDayRecord, page_id: str, spec: PageSpec) -> list[dict[str, object]]:
        if self.pagerduty is None:
            return []
        links = [("Runbook", spec.runbook)] if spec.runbook else []
        source = f"sce/{record.scenario_id}"
        request = self.pagerduty.would_trigger(
            page_id, record.id, spec.summary, spec.severity, source, links=links
        )
        return [request.shown()]

    def escalation(self, record: GameDayRecord, page: PageState, to: str, key: str) -> str:
        return self._ts(key)

    def say(self, record: GameDayRecord, text: str, key: str) -> str:
        return self._ts(key)

    def delivery_delayed(self, record: GameDayRecord, delays: Sequence[DeliveryDelay], key: str) -> str:
        return self._ts(key)

    def role(self, record: GameDayRecord, role: str, user: str, key: str) -> str:
        return self._ts(key)

    def handoff(
        self, record: GameDayRecord, handoff_id: str, from_user: str | None, to_user: str, key: str
    ) -> str:
        return self._ts(key)

    def acknowledged(self, record: GameDayRecord, who: str, what: str, seconds: float | None) -> None:
        return None

    def page_taken(self, record: GameDayRecord, page: PageState, by: str, seconds: float) -> None:
        return None

    def handoff_taken(self, record: GameDayRecord, handoff: HandoffState, by: str, seconds: float) -> None:
        return None

    def noted(self, record: GameDayRecord, message_ts: str, kind: str) -> None:
        return None

    def fault(
        self, record: GameDayRecord, spec: FaultSpec, verb: str, detail: str, key: str | None = None
    ) -> str:
        return self._ts(key)

    def finished(self, record: GameDayRecord, debrief: Debrief, key: str) -> None:
        if self.pagerduty is not None and sends(record):
            try:
                self.pagerduty.resolve_pages(record.id, [p.id for p in debrief.pages])
            except PagerDutyError:
                log.exception("PagerDuty did not resolve the pages of %s", record.id)
        self._ts(key)

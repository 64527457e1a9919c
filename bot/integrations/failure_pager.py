"""Real PagerDuty incidents for the game day's own failures (Events API v2), with a routing key of their
own (SCE_PAGERDUTY_FAILURE_ROUTING_KEY): not the drill pages' key, so they reach the team that owns the
bot and the cluster, not the drill's responders.

Each event is keyed by the incident's stable ``dedup_key`` (``sce-failure-<game day>-<fault|guardrail>``):
PagerDuty keeps a trigger sent twice one alert, and the resolve finds it. Severity ``critical``; the
summary (bot/debrief/templates/failure_page.txt.j2) starts ``[NOT A DRILL]`` and never carries the drill
pages' ``[GAME DAY]`` marker, so the PagerDuty webhook (bot/runtime/pagerduty_hook.py) never mistakes it
for a drill, and the secrets are redacted from it. Bounded: each request times out (``TIMEOUT`` s), and is
tried ``attempts`` times at most.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.gameday.measuring.redaction import redact
from bot.gameday.running.failure_incidents import FailureIncident
from bot.gameday.running.failure_paging import PagerUnreachable
from bot.integrations.pagerduty import EVENTS_URL, PagerDutyError, send_with_retries

TITLE_PREFIX = "[NOT A DRILL] sce:"  # how every one starts; never a drill page's "[GAME DAY]"
SEVERITY = "critical"
SOURCE = "sce"
CLASS = "security game day failure"

_env = Environment(
    loader=PackageLoader("bot.debrief", "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # plain text: PagerDuty shows the summary as it is
    auto_reload=False,
)


def summary(incident: FailureIncident) -> str:
    """What the incident says, one line: NOT a drill, what is wrong, which game day."""
    text = redact(" ".join(_env.get_template("failure_page.txt.j2").render(i=incident).split()))
    return (text if text.startswith(TITLE_PREFIX) else f"{TITLE_PREFIX} {text}")[:1024]


class PagerDutyFailurePager:
    """``FailurePager`` for the engine over PagerDuty's Events API v2."""

    def __init__(
        self,
        routing_key: str,
        events_url: str = EVENTS_URL,
        http: requests.Session | None = None,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.routing_key = routing_key
        self.events_url = events_url
        self.http = http or requests.Session()
        self.attempts = attempts
        self.sleep = sleep

    def trigger_event(self, incident: FailureIncident) -> dict[str, Any]:
        """The Events API v2 trigger of one incident."""
        details = {
            "not_a_drill": "This is a real failure of a security game day's safety net, not an exercise.",
            "cause": incident.cause,
            "gameday_id": incident.gameday_id,
            "scenario": incident.scenario_id,
            "slack_channel": incident.channel,
            "slack_thread_ts": incident.thread_ts,
            "what": redact(incident.what),
            **({"fault_id": incident.fault_id} if incident.fault_id else {}),
        }
        return {
            "routing_key": self.routing_key,
            "event_action": "trigger",
            "dedup_key": incident.key,
            "payload": {
                "summary": summary(incident),
                "source": SOURCE,
                "severity": SEVERITY,
                "component": incident.fault_id or "guardrails",
                "group": incident.gameday_id,
                "class": CLASS,
                "custom_details": details,
            },
            "client": "sce game day",
        }

    def trigger(self, incident: FailureIncident) -> None:
        self._send(self.trigger_event(incident))

    def resolve(self, incident: FailureIncident) -> None:
        self._send({"routing_key": self.routing_key, "event_action": "resolve", "dedup_key": incident.key})

    def _send(self, event: dict[str, Any]) -> None:
        try:
            response = send_with_retries(
                self.http, "POST", self.events_url, self.attempts, self.sleep, json=event
            )
        except PagerDutyError as exc:
            raise PagerUnreachable(str(exc)) from None
        if response.status_code != 202:
            try:
                message = str(response.json().get("message") or response.reason)
            except (ValueError, AttributeError):
                message = response.reason
            refused = response.status_code in (400, 401, 403)
            hint = ": check SCE_PAGERDUTY_FAILURE_ROUTING_KEY" if refused else ""
            raise PagerUnreachable(
                f"PagerDuty refused the {event['event_action']} (HTTP {response.status_code}: "
                f"{redact(message)[:200]}){hint}"
            )

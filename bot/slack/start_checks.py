"""Everything a game day needs to be measurable and safe, checked before it starts (`/sce start` and a
scheduled start alike): the bot in the channel, the scenario's steady state (``bot/gameday/preflight``)
the cluster's permissions for its faults (``bot/faults/access``) and its live log sources
(``bot/integrations/log_sources/readable``). One failed check and it does not
start; ``veto`` says which and how to fix it."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from bot.faults.access import permission_checks
from bot.faults.registry import FaultDrivers
from bot.gameday.preflight import Check, HttpStatus, Query, preflight
from bot.gameday.scenario.model import Scenario
from bot.integrations.log_sources.readable import log_source_checks
from bot.slack.channel_check import bot_in_channel


class StartChecks:
    def __init__(
        self,
        client: WebClient | None,
        query: Callable[[], Query | None],
        http: Callable[[], HttpStatus],
        drivers: FaultDrivers | None,
        loki_url: str | None = None,
    ):
        self.loki_url = loki_url
        self.client = client
        self.query = query
        self.http = http
        self.drivers = drivers

    def __call__(self, scenario: Scenario, channel: str, dry_run: bool = False) -> list[Check]:
        applies = not (dry_run or scenario.guardrails.dry_run)  # a dry run applies nothing
        faults = [step.fault.type for step in scenario.steps if step.fault is not None]
        changes_nothing = not applies or (self.drivers is not None and self.drivers.changes_nothing(faults))
        # its thread could not be posted elsewhere; without Slack (`sce run` alone) there is no thread
        checks = [bot_in_channel(self.client, channel)] if self.client is not None else []
        checks += preflight(scenario, self.query(), self.http(), changes_nothing)
        if applies:
            checks += permission_checks(scenario, self.drivers)
        cluster = self.drivers.cluster if self.drivers is not None else None
        checks += log_source_checks(scenario, cluster, self.loki_url, changes_nothing)
        return checks

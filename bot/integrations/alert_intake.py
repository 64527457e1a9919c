"""Alerts coming in (webhooks, the alerts channel): detections, noise, or a stop, for each running game day.

The decisions are the core's (bot.gameday.measuring.alerts.classify); this only gathers what the
running game days look for and hands each decision to the engine with the alert's own delivery id, so a
repeat is a no-op.
"""

from __future__ import annotations

import logging
import time

from bot.gameday.measuring.alerts import (
    PLAUSIBLE_SECONDS,
    Alert,
    Detection,
    Stop,
    Unmatched,
    Watch,
    classify,
    is_canary,
    marker_for,
)
from bot.gameday.measuring.markers import inject_markers
from bot.gameday.ports import GameDayStore
from bot.gameday.running.engine import Engine
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.state import Status, fold
from bot.gameday.timeline import Kind
from bot.runtime.observability import count_webhook_alert

log = logging.getLogger(__name__)


class AlertIntake:
    def __init__(self, store: GameDayStore, engine: Engine, alerts_channel: str | None = None):
        self.store = store
        self.engine = engine
        self.alerts_channel = alerts_channel
        self._stop_channels: tuple[float, set[str]] | None = None

    def watches(self) -> dict[str, Watch]:
        """What each game day still running looks for: its markers, its stop conditions, its start."""
        watching: dict[str, Watch] = {}
        for record in self.store.active():
            state = fold(self.store.events(record.id))
            injects = inject_markers(record.id, [*state.faults, *state.http_injects])
            markers = {marker_for(record.id), *injects}
            stop_on = cached_scenario(record.scenario_text).guardrails.stop_on
            watching[record.id] = Watch(frozenset(markers), stop_on, since=state.started_at, injects=injects)
        return watching

    def _canaries(self, alert: Alert) -> list[str]:
        """The game days waiting for their preflight's canary that this alert is, told it came."""
        told = []
        for record in self.store.active():
            if record.status != str(Status.PREFLIGHT):
                continue
            canary = cached_scenario(record.scenario_text).preflight.canary_alert
            if canary is not None and is_canary(alert, canary.labels):
                delivery = f"{alert.delivery_id}:{record.id}:canary"
                outcome = self.engine.canary_arrived(record.id, alert.name, dict(alert.labels), delivery)
                count_webhook_alert("repeat" if outcome.repeat else "canary")
                told.append(f"{record.id}: canary: {outcome.message}")
        return told

    def watched_channels(self) -> set[str]:
        """Every channel whose messages are read as alerts: the alert channel and the stop channels."""
        alerts = self.alerts_channel
        return self.stop_channels() | ({alerts} if alerts else set())

    def stop_channels(self) -> set[str]:
        """Channels whose messages can stop a running game day (an incident declared there).

        Asked for every channel message, so it reads only the running scenarios, and at most every 5 s.
        """
        now = time.monotonic()
        if self._stop_channels is None or now - self._stop_channels[0] > 5.0:
            channels = {
                str(condition["channel"])
                for record in self.store.active()
                for condition in cached_scenario(record.scenario_text).guardrails.stop_on
                if condition.get("channel")
            }
            self._stop_channels = (now, channels)
        return self._stop_channels[1]

    def handle(self, alert: Alert) -> list[str]:
        """Apply every decision about one alert; one sentence each, for the sender's response."""
        if abs(alert.starts_at - time.time()) > PLAUSIBLE_SECONDS:
            count_webhook_alert("ignored")
            return [
                f"ignored: {alert.name} is dated more than a day from now (milliseconds instead of seconds?)"
            ]
        canaries = self._canaries(alert)
        if canaries:  # a canary proves the alert path: it is no detection, and no noise either
            return canaries
        results = []
        for decision in classify(alert, self.watches()):
            delivery = f"{alert.delivery_id}:{decision.gameday_id}"  # one alert can touch several game days
            if isinstance(decision, Stop):
                outcome = self.engine.stop_on_condition(decision.gameday_id, decision.reason, delivery)
            elif isinstance(decision, Detection):
                outcome = self.engine.mark(
                    decision.gameday_id,
                    Kind.DETECTED,
                    f"{alert.source}:{alert.name}",
                    decision.at,
                    delivery,
                    source=alert.source,
                    inject=decision.inject,
                )
            elif isinstance(decision, Unmatched):
                outcome = self.engine.record_unmatched_alert(
                    decision.gameday_id,
                    alert.source,
                    alert.name,
                    dict(alert.labels),
                    alert.starts_at,
                    delivery,
                )
            else:  # pragma: no cover - classify returns only the three kinds
                continue
            kind = type(decision).__name__.lower()
            count_webhook_alert("repeat" if outcome.repeat else kind)  # a re-notification counts once
            results.append(f"{decision.gameday_id}: {kind}: {outcome.message}")
        return results

"""Grafana annotations and dashboard links, as side effects of what committed.

After every change (``Finishing.after_change``) and at the end (``after_end``), under the game day's lock,
the timeline is read for annotations still to be written (``measuring/annotations``); if there are any, a
durable ``annotate`` timer is scheduled with that change, keyed by the newest one, so asking again adds no
second timer. The timer runs on lanes of its own (the timer service), outside every lock: Grafana is asked
there, and a short transaction records each result on the timeline (``annotated`` with Grafana's id, or
``annotation_failed`` with one sentence). A Grafana that is down, slow or refusing never reaches the
engine: the failure is logged and recorded, and the next change, or the end, tries again (at most
``MAX_TRIES`` times per annotation). A retry of a timer, or of a key that failed before (a timeout may
have been written all the same), looks for the annotation's key tag in Grafana before writing.

A dry run writes no annotation (``sends``). When the game day ends, the thread gets the scenario's
dashboards with the game day's time range, as a post of the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from bot.gameday.measuring.annotations import Annotation, failures, pending, written
from bot.gameday.ports import GameDayRecord, GameDayStore, GameDayTx, Timer
from bot.gameday.running.finishing import Finishing
from bot.gameday.running.injects import Injector
from bot.gameday.running.outbound import sends
from bot.gameday.running.outbox import PostKind
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState, fold
from bot.gameday.timeline import Event, Kind

log = logging.getLogger(__name__)
ANNOTATE = TimerKind.ANNOTATE
LINK_MARGIN_SECONDS = (
    300.0  # the dashboards' time range starts this much before the start, ends after the end
)
UNEXPECTED = "the annotation could not be written: an unexpected error (the bot's log has it)"


class AnnotationFailed(Exception):
    """Grafana did not take an annotation; the message is one sentence, never a secret. ``reachable``
    False: Grafana did not answer at all, so the others are not tried this time."""

    def __init__(self, sentence: str, reachable: bool = True):
        super().__init__(sentence)
        self.reachable = reachable


class GrafanaPort(Protocol):
    """The edge that speaks to Grafana and renders what people read (``bot/integrations/grafana_sync``)."""

    def write(
        self,
        record: GameDayRecord,
        scenario: Scenario,
        events: list[Event],
        annotation: Annotation,
        look_first: bool,
    ) -> int | None:
        """Write one annotation (unless ``look_first`` finds its key already there); Grafana's id.
        Raises ``AnnotationFailed``."""
        ...

    def post_links(self, record: GameDayRecord, scenario: Scenario, window: tuple[int, int], key: str) -> str:
        """Post the scenario's dashboards with this time range (epoch ms) to the thread; the message's ts."""
        ...


class Annotating:
    def __init__(
        self,
        store: GameDayStore,
        grafana: GrafanaPort | None,
        clock: Callable[[], float],
        injects: Injector,
        finishing: Finishing,
    ):
        self.store = store
        self.grafana = grafana
        self.now = clock
        self.injects = injects
        finishing.after_change.append(self.schedule)
        finishing.after_end.append(self.at_end)
        injects.outbox.register("dashboards", PostKind(send=self._send_links, unwanted=self._unwanted))

    def schedule(self, tx: GameDayTx, scenario: Scenario, key: str | None = None) -> None:
        """Lock held: a timer to write what is still to be written, once per newest annotation."""
        if self.grafana is None or not sends(tx.record):
            return
        todo = pending(tx.events)
        if todo:
            self.injects.schedule(tx, f"annotate:{key or todo[-1].key}", self.now(), ANNOTATE)

    def at_end(self, tx: GameDayTx, scenario: Scenario, ended_at: float) -> None:
        """Lock held, the end recorded: the regions of the faults just reverted, and the dashboards."""
        if self.grafana is None:
            return
        self.schedule(tx, scenario, "end")  # after the end's cancel of pending timers, so it stays
        if scenario.dashboards:
            started = fold(tx.events).started_at or tx.record.created_at
            window = {
                "from_ms": round((started - LINK_MARGIN_SECONDS) * 1000),
                "to_ms": round((ended_at + LINK_MARGIN_SECONDS) * 1000),
            }
            self.injects.outbox.post(tx, "grafana:dashboards", "dashboards", window)

    def write(self, timer: Timer) -> None:
        """The timer (no lock held): ask Grafana, then record what it said; nothing is raised."""
        record = self.store.get(timer.gameday_id)
        results: list[tuple[Annotation, int | None, str | None]] = []
        if record is not None and self.grafana is not None and sends(record):
            results = self._ask(record, self.grafana, self.store.events(record.id), timer.attempts > 1)
        with self.store.transaction(timer.gameday_id) as tx:
            done = written(tx.events)
            for annotation, grafana_id, error in results:
                if annotation.key in done:  # written by another look meanwhile
                    continue
                data: dict[str, Any] = {"key": annotation.key, "kind": annotation.kind}
                if error is None:
                    tx.append(Kind.ANNOTATED, self.now(), None, {**data, "id": grafana_id})
                else:
                    tx.append(Kind.ANNOTATION_FAILED, self.now(), None, {**data, "error": error})
            tx.complete_timer(timer.id)

    def _ask(
        self, record: GameDayRecord, grafana: GrafanaPort, events: list[Event], retry: bool
    ) -> list[tuple[Annotation, int | None, str | None]]:
        scenario = cached_scenario(record.scenario_text)
        failed = failures(events)
        results: list[tuple[Annotation, int | None, str | None]] = []
        for annotation in pending(events):
            look_first = retry or failed[annotation.key] > 0
            try:
                results.append(
                    (annotation, grafana.write(record, scenario, events, annotation, look_first), None)
                )
                continue
            except AnnotationFailed as exc:
                error, reachable = str(exc), exc.reachable
            except Exception:  # never into the engine: recorded, and the next look tries again
                log.exception("Grafana annotation %s of %s failed unexpectedly", annotation.key, record.id)
                error, reachable = UNEXPECTED, False
            log.warning("Grafana annotation %s of %s not written: %s", annotation.key, record.id, error)
            results.append((annotation, None, error))
            if not reachable:  # down or slow: the others wait for the next look instead of each timing out
                break
        return results

    def _send_links(
        self,
        record: GameDayRecord,
        scenario: Scenario,
        state: GameDayState,
        payload: dict[str, Any],
        key: str,
    ) -> str:
        assert self.grafana is not None  # see _unwanted
        return self.grafana.post_links(
            record, scenario, (int(payload["from_ms"]), int(payload["to_ms"])), key
        )

    def _unwanted(self, state: GameDayState, payload: dict[str, Any]) -> str | None:
        return None if self.grafana is not None else "SCE_GRAFANA_URL is not set any more"

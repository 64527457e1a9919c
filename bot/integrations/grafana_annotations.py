"""The Grafana edge of a game day: its annotations written, its dashboards linked in the thread.

An annotation's text is the event log's sentences (names, not ids) under the scenario's title, rendered
from ``bot/debrief/templates/grafana_annotation.txt.j2`` with HTML escaping (Grafana shows annotation text
as HTML) after the redaction every text gets: it carries plain text only. Every outcome is counted
(``sce_grafana_annotations``); a failure becomes ``AnnotationFailed`` with Grafana's sentence.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.debrief.event_log import event_log
from bot.gameday.measuring.annotations import Annotation, key_tag, tags
from bot.gameday.measuring.redaction import redact
from bot.gameday.measuring.report import with_names
from bot.gameday.ports import GameDayRecord
from bot.gameday.running.annotating import AnnotationFailed
from bot.gameday.running.finishing import build_debrief_for
from bot.gameday.scenario.model import Scenario
from bot.gameday.timeline import Event
from bot.integrations.grafana import Grafana, GrafanaError, shown_url
from bot.runtime.observability import count_grafana_annotation
from bot.slack.announcer import SlackAnnouncer

TEXT_MAX = 2000  # characters of one annotation's text

_env = Environment(
    loader=PackageLoader("bot.debrief", "templates"),
    undefined=StrictUndefined,
    autoescape=True,  # HTML's: Grafana renders annotation text as HTML
    auto_reload=False,
)


class GrafanaAnnotations:
    """``GrafanaPort`` for the engine: Grafana's API for annotations, Slack's thread for the links."""

    def __init__(self, grafana: Grafana, announcer: SlackAnnouncer):
        self.grafana = grafana
        self.announcer = announcer
        self._said: tuple[str, int, dict[int, str]] | None = None  # (game day, events seen, seq -> sentence)

    def write(
        self,
        record: GameDayRecord,
        scenario: Scenario,
        events: list[Event],
        annotation: Annotation,
        look_first: bool,
    ) -> int | None:
        try:
            if look_first:
                found = self.grafana.find_annotation([key_tag(record.id, annotation.key)])
                if found is not None:
                    count_grafana_annotation("found")
                    return found
            grafana_id = self.grafana.create_annotation(self.body(record, scenario, events, annotation))
        except GrafanaError as exc:
            count_grafana_annotation("failed")
            raise AnnotationFailed(str(exc), exc.reachable) from None
        count_grafana_annotation("written")
        return grafana_id

    def body(
        self, record: GameDayRecord, scenario: Scenario, events: list[Event], annotation: Annotation
    ) -> dict[str, Any]:
        """A ``PostAnnotationsCmd``: a region when the annotation has an end, on the first dashboard."""
        body: dict[str, Any] = {
            "time": annotation.time_ms,
            "tags": tags(record.id, record.scenario_id, annotation),
            "text": self.text(record, scenario, events, annotation),
        }
        if annotation.time_end_ms is not None:
            body["timeEnd"] = annotation.time_end_ms
        if scenario.dashboards:
            body["dashboardUID"] = scenario.dashboards[0].uid
        return body

    def text(
        self, record: GameDayRecord, scenario: Scenario, events: list[Event], annotation: Annotation
    ) -> str:
        sentences = self._sentences(record, events)
        said = [redact(sentences.get(e.seq, str(e.kind))) for e in annotation.events]
        template = _env.get_template("grafana_annotation.txt.j2")
        text = template.render(title=redact(scenario.title), kind=annotation.kind, said=said).strip()
        return text[:TEXT_MAX]

    def _sentences(self, record: GameDayRecord, events: list[Event]) -> dict[int, str]:
        """The event log's sentence of each event, with people's Slack names (once per timeline seen)."""
        if self._said is not None and self._said[:2] == (record.id, len(events)):
            return self._said[2]
        debrief = build_debrief_for(record, events)
        debrief = with_names(debrief, self.announcer.names.names(debrief.people))
        lines = event_log(debrief)
        said = {int(e["seq"]): line.text for e, line in zip(debrief.timeline, lines, strict=True)}
        self._said = (record.id, len(events), said)
        return said

    def post_links(self, record: GameDayRecord, scenario: Scenario, window: tuple[int, int], key: str) -> str:
        base = shown_url(self.grafana.base_url)
        start, end = window
        links = [(d.title, f"{base}/d/{d.uid}?from={start}&to={end}") for d in scenario.dashboards]
        return self.announcer.dashboards(record, links, _utc(start), _utc(end), key)


def _utc(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")

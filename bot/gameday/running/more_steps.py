"""The step kinds beyond page, say, handoff and fault: a log streamed line by line, an HTTP probe, an SBOM
lookup and a webhook call. Each records what happened on the timeline and says it in the thread."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.gameday.measuring.markers import MARKER_HEADER, http_inject_id, inject_marker
from bot.gameday.ports import GameDayRecord, GameDayTx
from bot.gameday.running.outbound import CallOutcome, HttpCaller, OutboundRequest, sends
from bot.gameday.running.outbox import Outbox, Payload, PostKind, over
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.sbom import SbomError, find, read_sbom
from bot.gameday.scenario.model import HttpProbeSpec, LogsSpec, SbomFound, SbomSpec, Scenario, WebhookSpec
from bot.gameday.state import GameDayState
from bot.gameday.timeline import Kind

LOG_LINE = TimerKind.LOG_LINE


__all__ = ["LOG_LINE", "HttpCaller", "MoreSteps"]


class MoreSteps:
    def __init__(
        self,
        clock: Callable[[], float],
        http: HttpCaller | None,
        schedule: Callable[[GameDayTx, str, float, TimerKind, dict[str, Any] | None], None],
        outbox: Outbox,
    ):
        self.now = clock
        self.http = http
        self.schedule = schedule
        self.outbox = outbox
        outbox.register("log_line", PostKind(self._send_line, self._line_said, over))

    def stream_log(self, tx: GameDayTx, scenario: Scenario, index: int, line: int) -> None:
        """Post one line of a logs step; the next comes ``every`` after the first line's ts; the last
        one ends the step."""
        self.outbox.post(tx, f"step:{index}:line:{line}", "log_line", {"step": index, "line": line})

    @staticmethod
    def _spec(scenario: Scenario, payload: Payload) -> LogsSpec:
        spec = scenario.steps[int(payload["step"])].logs
        assert spec is not None
        return spec

    def _send_line(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, payload: Payload, key: str
    ) -> str:
        text = f"`{self._spec(scenario, payload).lines[int(payload['line'])]}`"
        return self.outbox.announcer.say(record, text, key)

    def _line_said(
        self, tx: GameDayTx, scenario: Scenario, state: GameDayState, payload: Payload, ts: str
    ) -> None:
        spec = self._spec(scenario, payload)
        index, line = int(payload["step"]), int(payload["line"])
        if any(
            e.kind is Kind.SAID and e.data.get("step") == index and e.data.get("line") == line
            for e in tx.events
        ):
            return
        tx.append(Kind.SAID, float(ts), None, {"step": index, "line": line, "text": spec.lines[line]})
        if line + 1 < len(spec.lines):
            # paced from the first line, so a late line never pushes the ones after it
            first = next(e.at for e in tx.events if e.kind is Kind.SAID and e.data.get("step") == index)
            self.schedule(
                tx,
                f"step:{index}:line:{line + 1}",
                first + (line + 1) * spec.every,
                LOG_LINE,
                {"step": index, "line": line + 1},
            )
        else:
            tx.append(Kind.STEP_RAN, self.now(), None, {"step": index, "kind": "logs"})

    def http_probe(self, tx: GameDayTx, index: int, spec: HttpProbeSpec, hosts: list[str]) -> None:
        """Send an http step's requests, each carrying the step's own marker (an inject the team's WAF or
        proxy can see and alert on: ``bot/gameday/measuring/markers``)."""
        inject = http_inject_id(index)
        marker = inject_marker(tx.record.id, inject)
        headers = {k: v for k, v in spec.headers.items() if k.lower() != MARKER_HEADER.lower()}
        request = OutboundRequest(spec.method, spec.url, {**headers, MARKER_HEADER: marker}, spec.body)
        if not sends(tx.record):
            self._would_send(tx, index, "http", request, spec.count)
            return
        outcomes = [self._call(request, hosts) for _ in range(spec.count)]
        statuses = [outcome.status for outcome in outcomes]
        problem = next((outcome.problem for outcome in outcomes if outcome.problem), None)
        ok = problem is None and all(status in spec.expect for status in statuses)
        tx.append(
            Kind.HTTP_PROBED,
            self.now(),
            None,
            {
                "step": index,
                "url": spec.url,
                "statuses": statuses,
                "expected": spec.expect,
                "ok": ok,
                "problem": problem,
                "redirects": list(outcomes[-1].redirects),
                "inject": inject,
                "marker": marker,
            },
        )
        verdict = "as expected" if ok else f"NOT as expected ({', '.join(map(str, spec.expect))})"
        shown = ", ".join(str(s or "no answer") for s in statuses)
        said = f"HTTP probe: {spec.count} x {spec.method} {spec.url} answered {shown}: {verdict}."
        self._say(tx, said + (f" Stopped: {problem}." if problem else ""))

    def webhook(self, tx: GameDayTx, index: int, spec: WebhookSpec, hosts: list[str]) -> None:
        payload = {
            **spec.payload,
            "gameday_id": tx.record.id,
            "scenario": tx.record.scenario_id,
            "step": index,
        }
        request = OutboundRequest("POST", spec.url, dict(spec.headers), json=payload)
        if not sends(tx.record):
            self._would_send(tx, index, "webhook", request, 1)
            return
        outcome = self._call(request, hosts)
        tx.append(
            Kind.WEBHOOK_CALLED,
            self.now(),
            None,
            {
                "step": index,
                "url": spec.url,
                "status": outcome.status,
                "problem": outcome.problem,
                "redirects": list(outcome.redirects),
            },
        )
        said = f"Webhook {spec.url} answered {outcome.status or 'nothing'}."
        self._say(tx, said + (f" Stopped: {outcome.problem}." if outcome.problem else ""))

    def _would_send(self, tx: GameDayTx, index: int, to: str, request: OutboundRequest, count: int) -> None:
        """A dry run's report of a call it did not make: on the timeline and in the thread."""
        tx.append(Kind.WOULD_SEND, self.now(), None, {"step": index, "to": to, "request": request.shown()})
        times = f"{count} x " if count > 1 else ""
        self._say(tx, f"Dry run: {to} step would have sent {times}{request.sentence()}; nothing was sent.")

    def sbom(self, tx: GameDayTx, index: int, spec: SbomSpec) -> None:
        """Say what the lookup found when the game day started (the SBOM's hash pins what was read)."""
        found = spec.found or _legacy_lookup(spec)
        tx.append(
            Kind.SAID,
            self.now(),
            None,
            {
                "step": index,
                "sbom": spec.package,
                "versions": found.versions,
                "affected": found.affected,
                "matched": found.matched,
                "sha256": spec.sha256,
                "format": found.format,
            },
        )
        self._say(tx, sbom_sentence(spec, found))

    def _call(self, request: OutboundRequest, hosts: list[str]) -> CallOutcome:
        if self.http is None:
            return CallOutcome(0, "no HTTP caller is configured")
        return self.http.call(request, hosts)

    def _say(self, tx: GameDayTx, text: str) -> None:
        self.outbox.post(tx, f"note:{len(tx.events)}", "say", {"text": text})


def sbom_sentence(spec: SbomSpec, found: SbomFound) -> str:
    """``SBOM: fastxml (org.example.xml:fastxml) 3.3.0 is in data/bom.json (CycloneDX 1.5 JSON, 12
    components, sha256 1a2b3c4d5e6f); affected: catalog-import, storefront.``"""
    source = f"{spec.file} ({found.format}, {found.components} components"
    source += f", sha256 {spec.sha256[:12]})" if spec.sha256 else ")"
    if not found.matched:
        return f"SBOM: {spec.package} is not in {source}."
    names = ", ".join(found.matched)
    name = spec.package if names.lower() == spec.package.lower() else f"{spec.package} ({names})"
    versions = ", ".join(found.versions)
    if found.unversioned:
        versions += f"{' and ' if versions else ''}{found.unversioned} without a version"
    where = ", ".join(found.affected) or "no component that depends on it"
    return f"SBOM: {name} {versions} is in {source}; affected: {where}."


def _legacy_lookup(spec: SbomSpec) -> SbomFound:
    """A game day started by an earlier version kept the SBOM document itself: look it up now."""
    try:
        inventory = read_sbom(json.dumps(spec.document or {}).encode())
    except SbomError:
        return SbomFound(format="unreadable", components=0)
    found = find(inventory, spec.package)
    return SbomFound(
        format=inventory.format,
        components=len(inventory.components),
        matched=found.matched,
        versions=found.versions,
        unversioned=found.unversioned,
        affected=found.affected,
    )

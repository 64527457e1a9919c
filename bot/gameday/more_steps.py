"""The step kinds beyond page, say, handoff and fault: a log streamed line by line, an HTTP probe, an SBOM
lookup and a webhook call. Each records what happened on the timeline and says it in the thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.gameday.best_effort import best_effort
from bot.gameday.outbound import CallOutcome, HttpCaller, OutboundRequest, sends
from bot.gameday.ports import Announcer, GameDayTx
from bot.gameday.posting import What
from bot.gameday.sbom import find_package
from bot.gameday.scenario import HttpProbeSpec, SbomSpec, Scenario, WebhookSpec
from bot.gameday.timeline import Kind
from bot.gameday.timer_types import TimerKind

LOG_LINE = TimerKind.LOG_LINE


__all__ = ["LOG_LINE", "HttpCaller", "MoreSteps"]


class MoreSteps:
    def __init__(
        self,
        announcer: Announcer,
        clock: Callable[[], float],
        http: HttpCaller | None,
        schedule: Callable[[GameDayTx, str, float, TimerKind, dict[str, Any] | None], None],
        posted_once: Callable[[GameDayTx, str, bool, What, Callable[[str], str]], str],
    ):
        self.announcer = announcer
        self.now = clock
        self.http = http
        self.schedule = schedule
        self.posted_once = posted_once

    def stream_log(self, tx: GameDayTx, scenario: Scenario, index: int, line: int, replay: bool) -> None:
        """Post one line of a logs step; the next comes ``every`` later; the last one ends the step."""
        spec = scenario.steps[index].logs
        assert spec is not None
        if any(
            e.kind is Kind.SAID and e.data.get("step") == index and e.data.get("line") == line
            for e in tx.events
        ):
            return
        text = f"`{spec.lines[line]}`"
        ts = self.posted_once(
            tx,
            f"step:{index}:line:{line}",
            replay,
            ("say", text),
            lambda k: self.announcer.say(tx.record, text, k),
        )
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
        request = OutboundRequest(spec.method, spec.url, dict(spec.headers), spec.body)
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
        match = find_package(spec.document or {}, spec.package)
        tx.append(
            Kind.SAID,
            self.now(),
            None,
            {"step": index, "sbom": spec.package, "versions": match.versions, "affected": match.affected},
        )
        if match.versions:
            where = ", ".join(match.affected) or "no component that depends on it"
            text = f"SBOM: {spec.package} {', '.join(match.versions)} is in {spec.file}; affected: {where}."
        else:
            text = f"SBOM: {spec.package} is not in {spec.file}."
        self._say(tx, text)

    def _call(self, request: OutboundRequest, hosts: list[str]) -> CallOutcome:
        if self.http is None:
            return CallOutcome(0, "no HTTP caller is configured")
        return self.http.call(request, hosts)

    def _say(self, tx: GameDayTx, text: str) -> None:
        best_effort(lambda: self.announcer.say(tx.record, text, f"note:{len(tx.events)}"), "a step result")

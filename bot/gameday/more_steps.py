"""The step kinds beyond page, say, handoff and fault: a log streamed line by line, an HTTP probe, an SBOM
lookup and a webhook call. Each records what happened on the timeline and says it in the thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bot.gameday.best_effort import best_effort
from bot.gameday.ports import Announcer, GameDayTx
from bot.gameday.posting import What
from bot.gameday.sbom import find_package
from bot.gameday.scenario import HttpProbeSpec, SbomSpec, Scenario, WebhookSpec
from bot.gameday.timeline import Kind

LOG_LINE = "log_line"


class HttpCaller(Protocol):
    """The one way the core reaches an HTTP target: returns the status (0 when nothing answered)."""

    def call(self, method: str, url: str, body: str | None = None, json: object = None) -> int: ...


class MoreSteps:
    def __init__(
        self,
        announcer: Announcer,
        clock: Callable[[], float],
        http: HttpCaller | None,
        schedule: Callable[[GameDayTx, str, float, str, dict[str, object]], None],
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

    def http_probe(self, tx: GameDayTx, index: int, spec: HttpProbeSpec) -> None:
        statuses = [self._call(spec.method, spec.url, spec.body, None) for _ in range(spec.count)]
        ok = all(status in spec.expect for status in statuses)
        tx.append(
            Kind.HTTP_PROBED,
            self.now(),
            None,
            {"step": index, "url": spec.url, "statuses": statuses, "expected": spec.expect, "ok": ok},
        )
        verdict = "as expected" if ok else f"NOT as expected ({', '.join(map(str, spec.expect))})"
        shown = ", ".join(str(s or "no answer") for s in statuses)
        self._say(tx, f"HTTP probe: {spec.count} x {spec.method} {spec.url} answered {shown}: {verdict}.")

    def webhook(self, tx: GameDayTx, index: int, spec: WebhookSpec) -> None:
        payload = {
            **spec.payload,
            "gameday_id": tx.record.id,
            "scenario": tx.record.scenario_id,
            "step": index,
        }
        status = self._call("POST", spec.url, None, payload)
        tx.append(Kind.WEBHOOK_CALLED, self.now(), None, {"step": index, "url": spec.url, "status": status})
        self._say(tx, f"Webhook {spec.url} answered {status or 'nothing'}.")

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

    def _call(self, method: str, url: str, body: str | None, json: object) -> int:
        if self.http is None:
            return 0
        return self.http.call(method, url, body=body, json=json)

    def _say(self, tx: GameDayTx, text: str) -> None:
        best_effort(lambda: self.announcer.say(tx.record, text, f"note:{len(tx.events)}"), "a step result")

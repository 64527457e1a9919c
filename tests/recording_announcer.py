"""An Announcer for core tests: it assigns ts from the virtual clock and keeps what was said."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import GameDayRecord
from bot.gameday.running.timer_types import DeliveryDelay
from bot.gameday.scenario.model import FaultSpec, PageSpec, Scenario
from bot.gameday.state import GameDayState, HandoffState, PageState


class RecordingAnnouncer:
    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.posts: list[tuple[str, str]] = []
        self.debriefs: list[Debrief] = []
        self.keyed: dict[str, str] = {}
        self.updated: list[tuple[str, str]] = []  # (message ts, what it now shows)
        self.reactions: list[tuple[str, str]] = []  # (message ts, note kind)
        self._last = 0.0

    def _post(self, kind: str, text: str, key: str | None = None) -> str:
        at = max(self.clock(), self._last + 0.000001)
        self._last = at
        self.posts.append((kind, text))
        ts = f"{at:.6f}"
        if key:
            self.keyed[key] = ts
        return ts

    def find_posted(self, record: GameDayRecord, key: str) -> str | None:
        return self.keyed.get(key)

    def kickoff(self, record: GameDayRecord, scenario: Scenario) -> str:
        return self._post("kickoff", scenario.title)

    def refresh_status(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, now: float, version: int
    ) -> None:
        pass

    def page(self, record: GameDayRecord, page_id: str, spec: PageSpec, responder: str, key: str) -> str:
        return self._post("page", f"{page_id} {responder} {spec.summary}", key)

    def page_outbound(self, record: GameDayRecord, page_id: str, spec: PageSpec) -> list[dict[str, object]]:
        return []

    def escalation(self, record: GameDayRecord, page: PageState, to: str, key: str) -> str:
        return self._post("escalation", f"{page.page_id} {to}", key)

    def say(self, record: GameDayRecord, text: str, key: str) -> str:
        return self._post("say", text, key)

    def delivery_delayed(self, record: GameDayRecord, delays: Sequence[DeliveryDelay], key: str) -> str:
        told = ", ".join(
            f"{d.post or d.kind} {d.attempts} {'delivered' if d.delivered else 'pending'}" for d in delays
        )
        return self._post("delivery_delayed", told, key)

    def role(self, record: GameDayRecord, role: str, user: str, key: str) -> str:
        return self._post("say", f"<@{user}> is now the {role}.", key)

    def handoff(
        self, record: GameDayRecord, handoff_id: str, from_user: str | None, to_user: str, key: str
    ) -> str:
        return self._post("handoff", f"{handoff_id} {from_user} {to_user}", key)

    def acknowledged(self, record: GameDayRecord, who: str, what: str, seconds: float | None) -> None:
        self.posts.append(("ack", f"{who} {what}"))

    def page_taken(self, record: GameDayRecord, page: PageState, by: str, seconds: float) -> None:
        self.updated.append((page.message_ts, f"{page.page_id} taken by {by} after {seconds}"))

    def handoff_taken(self, record: GameDayRecord, handoff: HandoffState, by: str, seconds: float) -> None:
        self.updated.append((handoff.message_ts or "", f"{handoff.handoff_id} taken by {by} after {seconds}"))

    def noted(self, record: GameDayRecord, message_ts: str, kind: str) -> None:
        self.reactions.append((message_ts, kind))

    def fault(
        self, record: GameDayRecord, spec: FaultSpec, verb: str, detail: str, key: str | None = None
    ) -> str:
        return self._post("fault", f"{verb} {spec.type}", key)

    def finished(self, record: GameDayRecord, debrief: Debrief, key: str) -> None:
        self.debriefs.append(debrief)
        self._post("debrief", debrief.id, key)

"""Steps that reach people: a page to the responder on call, its escalation to the secondary, and a
handoff between responders, each with the checks its expectations need.

Each message is committed to the outbox (``bot/gameday/running/outbox``) inside the caller's locked
transaction; what its Slack ``ts`` means (the page sent, the escalation, the handoff asked for) is
recorded once Slack has taken it, with the times measured from that ``ts``.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.gameday.people.roster import roster_at
from bot.gameday.ports import Announcer, GameDayRecord, GameDayTx
from bot.gameday.running.outbound import sends
from bot.gameday.running.outbox import Outbox, Payload, PostKind, over
from bot.gameday.running.scheduling import Scheduler
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.scenario.model import PageSpec, Scenario, Step
from bot.gameday.state import GameDayState
from bot.gameday.timeline import Kind


class Paging:
    def __init__(
        self, announcer: Announcer, clock: Callable[[], float], scheduler: Scheduler, outbox: Outbox
    ):
        self.announcer = announcer
        self.now = clock
        self.scheduler = scheduler
        self.outbox = outbox
        outbox.register("page", PostKind(self._send_page, self._page_sent, over))
        outbox.register("escalation", PostKind(self._send_escalation, self._escalated, self._escalation_moot))
        outbox.register("handoff", PostKind(self._send_handoff, self._handoff_posted, self._handoff_moot))

    # -- a page ------------------------------------------------------------------------------------
    def page(self, tx: GameDayTx, scenario: Scenario, state: GameDayState, index: int, step: Step) -> None:
        """Page the responder the step names (else the primary); its escalation and checks follow once
        Slack has the page."""
        spec = step.page
        assert spec is not None
        roster = roster_at(tx.record.roster, self.now())
        responder = roster.get(spec.to.lstrip("@"), roster["primary"])
        payload = {"page_id": f"p{index}", "step": index, "responder": responder}
        self.outbox.post(tx, f"step:{index}", "page", payload)

    @staticmethod
    def _spec(scenario: Scenario, payload: Payload) -> PageSpec:
        spec = scenario.steps[int(payload["step"])].page
        assert spec is not None
        return spec

    def _send_page(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, payload: Payload, key: str
    ) -> str:
        spec = self._spec(scenario, payload)
        return self.announcer.page(record, str(payload["page_id"]), spec, str(payload["responder"]), key)

    def _page_sent(
        self, tx: GameDayTx, scenario: Scenario, state: GameDayState, payload: Payload, ts: str
    ) -> None:
        spec = self._spec(scenario, payload)
        page_id, index, responder = str(payload["page_id"]), int(payload["step"]), str(payload["responder"])
        if page_id in state.pages or index in state.steps_ran:  # recorded already
            return
        paged_at = float(ts)
        first_inject = state.t0 is None
        data = {
            "page_id": page_id,
            "step": index,
            "responder": responder,
            "severity": spec.severity,
            "summary": spec.summary,
            "message_ts": ts,
        }
        tx.append(Kind.PAGE_SENT, paged_at, None, data)
        tx.append(Kind.STEP_RAN, paged_at, None, {"step": index, "kind": "page"})
        tx.index_message(page_id, tx.record.channel, ts)
        if not sends(tx.record):
            for request in self.announcer.page_outbound(tx.record, page_id, spec):
                tx.append(
                    Kind.WOULD_SEND, paged_at, None, {"step": index, "to": "pagerduty", "request": request}
                )
        secondary = roster_at(tx.record.roster, self.now()).get("secondary")
        schedule = self.scheduler.schedule
        if scenario.oncall.escalate_after is not None and secondary and secondary != responder:
            due = paged_at + scenario.oncall.escalate_after
            schedule(tx, f"escalate:{page_id}", due, TimerKind.ESCALATE, {"page_id": page_id})
        if scenario.expect.acknowledge_within is not None:
            due = paged_at + scenario.expect.acknowledge_within + 0.001
            schedule(tx, f"check:ack:{page_id}", due, TimerKind.CHECK)
        if first_inject:
            self.scheduler.inject_checks(tx, scenario, paged_at)

    # -- its escalation ----------------------------------------------------------------------------
    def escalate(self, tx: GameDayTx, state: GameDayState, page_id: str) -> None:
        """Page the secondary when a page is still unacknowledged (and not escalated already)."""
        page = state.pages.get(page_id)
        secondary = roster_at(tx.record.roster, self.now()).get("secondary")
        if page is None or page.acknowledged_at is not None or page.escalated_at is not None or not secondary:
            return
        self.outbox.post(tx, f"escalate:{page_id}", "escalation", {"page_id": page_id, "to": secondary})

    @staticmethod
    def _escalation_moot(state: GameDayState, payload: Payload) -> str | None:
        page = state.pages.get(str(payload["page_id"]))
        if page is not None and page.acknowledged_at is not None:
            return "the page was acknowledged before its escalation went out"
        return over(state, payload)

    def _send_escalation(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, payload: Payload, key: str
    ) -> str:
        page = state.pages[str(payload["page_id"])]
        return self.announcer.escalation(record, page, str(payload["to"]), key)

    def _escalated(
        self, tx: GameDayTx, scenario: Scenario, state: GameDayState, payload: Payload, ts: str
    ) -> None:
        page_id = str(payload["page_id"])
        page = state.pages.get(page_id)
        if page is None or page.escalated_at is not None:
            return
        data = {"page_id": page_id, "to": payload["to"], "message_ts": ts}
        tx.append(Kind.ESCALATED, float(ts), None, data)
        tx.index_message(page_id, tx.record.channel, ts)

    # -- a handoff ---------------------------------------------------------------------------------
    def request_handoff(
        self,
        tx: GameDayTx,
        state: GameDayState,
        from_user: str | None,
        to_user: str,
        at: float,
        requested_by: str | None,
        step: int | None = None,
    ) -> None:
        """Ask ``to_user`` to take over what ``from_user`` owns, on the timeline at once; its message
        follows. A handoff a person asks for counts from ``at`` (their command's ts); a step's, from its
        message's ts, once Slack has it (``_handoff_posted``)."""
        if step is not None and any(
            e.kind is Kind.HANDOFF_REQUESTED and e.data.get("step") == step for e in tx.events
        ):
            return  # a step's handoff is asked once, however often its step is run
        scenario = cached_scenario(tx.record.scenario_text)
        owned = [p.page_id for p in state.pages.values() if p.owner == from_user and p.contained_at is None]
        handoff_id = f"h{len(state.handoffs) + 1}"
        data = {"handoff_id": handoff_id, "page_ids": owned, "from": from_user, "to": to_user, "step": step}
        tx.append(Kind.HANDOFF_REQUESTED, at, requested_by, {**data, "message_ts": None})
        self.outbox.post(tx, f"handoff:{handoff_id}", "handoff", data)
        if step is None and scenario.expect.handoff_within is not None:
            due = at + scenario.expect.handoff_within + 0.001
            self.scheduler.schedule(tx, f"check:{handoff_id}", due, TimerKind.CHECK)

    @staticmethod
    def _handoff_moot(state: GameDayState, payload: Payload) -> str | None:
        return over(state, payload) if payload.get("step") is not None else None

    def _send_handoff(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, payload: Payload, key: str
    ) -> str:
        from_user = None if payload.get("from") is None else str(payload["from"])
        return self.announcer.handoff(record, str(payload["handoff_id"]), from_user, str(payload["to"]), key)

    def _handoff_posted(
        self, tx: GameDayTx, scenario: Scenario, state: GameDayState, payload: Payload, ts: str
    ) -> None:
        handoff_id, step = str(payload["handoff_id"]), payload.get("step")
        handoff = next((h for h in state.handoffs if h.handoff_id == handoff_id), None)
        if handoff is None or handoff.message_ts is not None:
            return
        data: dict[str, object] = {"handoff_id": handoff_id, "message_ts": ts}
        if step is not None:  # a step's handoff is asked when its message is out
            data["requested_at"] = float(ts)
        tx.append(Kind.HANDOFF_POSTED, float(ts), None, data)
        tx.index_message(handoff_id, tx.record.channel, ts)
        if step is None:
            return
        tx.append(Kind.STEP_RAN, float(ts), None, {"step": step, "kind": "handoff"})
        if scenario.expect.handoff_within is not None:
            due = float(ts) + scenario.expect.handoff_within + 0.001
            self.scheduler.schedule(tx, f"check:{handoff_id}", due, TimerKind.CHECK)

"""Steps that reach people: a page to the responder on call, its escalation to the secondary, and a
handoff between responders, each with the checks its expectations need.

Each method works inside the caller's locked transaction and records what it did on the timeline.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.gameday.outbound import sends
from bot.gameday.ports import Announcer, GameDayTx
from bot.gameday.posting import What
from bot.gameday.roster import roster_at
from bot.gameday.scenario import Scenario, Step
from bot.gameday.scenario_file import cached_scenario
from bot.gameday.scheduling import Scheduler
from bot.gameday.state import GameDayState
from bot.gameday.timeline import Kind
from bot.gameday.timer_types import TimerKind

PostedOnce = Callable[[GameDayTx, str, bool, What, Callable[[str], str]], str]


class Paging:
    """``posted_once`` posts a message once, even when its timer is replayed (``Injector.posted_once``)."""

    def __init__(
        self, announcer: Announcer, clock: Callable[[], float], scheduler: Scheduler, posted_once: PostedOnce
    ):
        self.announcer = announcer
        self.now = clock
        self.scheduler = scheduler
        self.posted_once = posted_once

    def page(
        self, tx: GameDayTx, scenario: Scenario, state: GameDayState, index: int, step: Step, replay: bool
    ) -> None:
        """Page the responder the step names (else the primary); schedule its escalation and checks."""
        spec = step.page
        assert spec is not None
        page_id = f"p{index}"
        roster = roster_at(tx.record.roster, self.now())
        responder = roster.get(spec.to.lstrip("@"), roster["primary"])
        first_inject = state.t0 is None
        ts = self.posted_once(
            tx,
            f"step:{index}",
            replay,
            ("page", page_id, responder),
            lambda k: self.announcer.page(tx.record, page_id, spec, responder, k),
        )
        paged_at = float(ts)
        tx.append(
            Kind.PAGE_SENT,
            paged_at,
            None,
            {
                "page_id": page_id,
                "step": index,
                "responder": responder,
                "severity": spec.severity,
                "summary": spec.summary,
                "message_ts": ts,
            },
        )
        tx.index_message(page_id, tx.record.channel, ts)
        if not sends(tx.record):
            for request in self.announcer.page_outbound(tx.record, page_id, spec):
                tx.append(
                    Kind.WOULD_SEND, paged_at, None, {"step": index, "to": "pagerduty", "request": request}
                )
        secondary = roster.get("secondary")
        schedule = self.scheduler.schedule
        if scenario.oncall.escalate_after is not None and secondary and secondary != responder:
            schedule(
                tx,
                f"escalate:{page_id}",
                paged_at + scenario.oncall.escalate_after,
                TimerKind.ESCALATE,
                {"page_id": page_id},
            )
        if scenario.expect.acknowledge_within is not None:
            due = paged_at + scenario.expect.acknowledge_within + 0.001
            schedule(tx, f"check:ack:{page_id}", due, TimerKind.CHECK)
        if first_inject:
            self.scheduler.inject_checks(tx, scenario, paged_at)

    def escalate(self, tx: GameDayTx, state: GameDayState, page_id: str, replay: bool = False) -> None:
        """Page the secondary when a page is still unacknowledged (and not escalated already)."""
        page = state.pages.get(page_id)
        secondary = roster_at(tx.record.roster, self.now()).get("secondary")
        if page is None or page.acknowledged_at is not None or page.escalated_at is not None or not secondary:
            return
        ts = self.posted_once(
            tx,
            f"escalate:{page_id}",
            replay,
            ("escalation", page_id, secondary),
            lambda k: self.announcer.escalation(tx.record, page, secondary, k),
        )
        tx.append(Kind.ESCALATED, float(ts), None, {"page_id": page_id, "to": secondary, "message_ts": ts})
        tx.index_message(page_id, tx.record.channel, ts)

    def request_handoff(
        self,
        tx: GameDayTx,
        state: GameDayState,
        from_user: str | None,
        to_user: str,
        at: float,
        requested_by: str | None,
        key: str | None = None,
        replay: bool = False,
    ) -> None:
        """Ask ``to_user`` to take over what ``from_user`` owns; schedule the handoff's check."""
        scenario = cached_scenario(tx.record.scenario_text)
        owned = [p.page_id for p in state.pages.values() if p.owner == from_user and p.contained_at is None]
        handoff_id = f"h{len(state.handoffs) + 1}"
        ts = self.posted_once(
            tx,
            key or f"handoff:{handoff_id}",
            replay,
            ("handoff", handoff_id, from_user, to_user),
            lambda k: self.announcer.handoff(tx.record, handoff_id, from_user, to_user, k),
        )
        requested_at = at if requested_by else float(ts)
        tx.append(
            Kind.HANDOFF_REQUESTED,
            requested_at,
            requested_by,
            {
                "handoff_id": handoff_id,
                "page_ids": owned,
                "from": from_user,
                "to": to_user,
                "message_ts": ts,
            },
        )
        tx.index_message(handoff_id, tx.record.channel, ts)
        if scenario.expect.handoff_within is not None:
            due = requested_at + scenario.expect.handoff_within + 0.001
            self.scheduler.schedule(tx, f"check:{handoff_id}", due, TimerKind.CHECK)

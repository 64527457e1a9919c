"""Responders' input to a running game day: acknowledge, hand off, escalate, detect, contain, note, roles.

A mixin of the Engine: each operation is one call to ``_operate`` (lock, skip a delivery seen before,
refuse when over, act, settle), timed by Slack's own ``at``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

from bot.gameday.ports import Announcer, GameDayTx
from bot.gameday.running.best_effort import best_effort
from bot.gameday.running.inbox import Action, Input
from bot.gameday.running.injects import Injector
from bot.gameday.running.outcome import ACCEPTED_AFTER_END, Outcome
from bot.gameday.running.replies import Acknowledge, AddNote, HandOff, Reply
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState
from bot.gameday.timeline import Kind

NOTHING_TO_ACKNOWLEDGE = "This game day is over; nothing left to acknowledge."


def _nothing_waiting(state: GameDayState, user: str, target_id: str | None) -> str:
    """Why an acknowledgement took nothing: a handoff meant for someone else names whom it waits for."""
    others = [
        h.to_user
        for h in state.pending_handoffs()
        if h.to_user != user and (target_id is None or target_id == h.handoff_id or target_id in h.page_ids)
    ]
    if others:
        names = ", ".join(f"<@{who}>" for who in dict.fromkeys(others))
        return f"Nothing is waiting for you; this handoff waits for {names}."
    return "Nothing is waiting for you."


class ResponderInput:
    announcer: Announcer
    injects: Injector

    def _operate(
        self,
        gameday_id: str,
        delivery_id: str | None,
        action: Action,
        when_over: str = "This game day is over.",
        urgent: bool = False,
    ) -> Outcome:
        raise NotImplementedError

    def reply_input(
        self, reply: Reply, user: str, at: float, delivery_id: str, message_ts: str | None = None
    ) -> Input:
        """A thread reply as input for the inbox (written later, in order, with its game day's others).
        ``message_ts``: the reply itself, marked with a reaction once a note from it is recorded."""
        if isinstance(reply, Acknowledge):
            return Input(delivery_id, self._acknowledging(user, at, None), NOTHING_TO_ACKNOWLEDGE)
        if isinstance(reply, HandOff):
            return Input(delivery_id, self._handing_off(user, reply.to_user, at))
        assert isinstance(reply, AddNote)
        action = self._noting(reply.kind, reply.text, user, at, message_ts)
        return Input(delivery_id, action, ACCEPTED_AFTER_END)

    def reaction_input(self, user: str, at: float, delivery_id: str, target_id: str) -> Input:
        """An acknowledging reaction on a page or handoff message, as input for the inbox."""
        return Input(delivery_id, self._acknowledging(user, at, target_id), NOTHING_TO_ACKNOWLEDGE)

    def acknowledge(
        self, gameday_id: str, user: str, at: float, delivery_id: str, target_id: str | None = None
    ) -> Outcome:
        """Acknowledge a page (or accept a handoff) at Slack's ``at``."""
        action = self._acknowledging(user, at, target_id)
        return self._operate(gameday_id, delivery_id, action, NOTHING_TO_ACKNOWLEDGE)

    def _acknowledging(self, user: str, at: float, target_id: str | None) -> Action:
        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            done = self._acknowledge_targets(tx, state, user, at, target_id)
            if done:
                return Outcome(True, "Acknowledged.")
            return Outcome(False, _nothing_waiting(state, user, target_id))

        return act

    def _acknowledge_targets(
        self, tx: GameDayTx, state: GameDayState, user: str, at: float, target_id: str | None
    ) -> list[str]:
        done: list[str] = []
        record = tx.record
        # an acknowledgement written before a handoff was requested cannot accept it, however late it arrives
        handoffs = [h for h in state.pending_handoffs() if h.to_user == user and h.requested_at <= at]
        if target_id is not None:
            handoffs = [h for h in handoffs if h.handoff_id == target_id or target_id in h.page_ids]
            pages = [p for p in state.open_pages() if p.page_id == target_id]
        else:
            mine = [p for p in state.open_pages() if user in (p.responder, p.escalated_to)]
            pages = mine or ([] if handoffs else state.open_pages())
        for handoff in handoffs:
            tx.append(Kind.HANDOFF_COMPLETED, at, user, {"handoff_id": handoff.handoff_id})
            took = handoff.latency_at(at)
            # a copy: the state goes on changing in this transaction; bound now, not when the loop is done
            show = partial(self.announcer.handoff_taken, record, replace(handoff), user, took)
            self._after(tx, show, "a handoff's message")
            self._confirm(tx, user, "the handoff", took)
            done.append(handoff.handoff_id)
        for page in pages:
            tx.append(Kind.ACKNOWLEDGED, at, user, {"page_id": page.page_id})
            tta = at - page.paged_at
            self._after(tx, partial(self.announcer.page_taken, record, replace(page), user, tta), "a page")
            self._confirm(tx, user, f"page {page.page_id}", tta)
            done.append(page.page_id)
        return done

    @staticmethod
    def _after(tx: GameDayTx, call: Callable[[], None], what: str) -> None:
        """A message that only follows what committed (a page shown as taken, a reaction): sent once the
        game day is unlocked, and only if the change it shows committed; a failure is logged."""
        tx.after_commit(lambda: best_effort(call, what))

    def _confirm(self, tx: GameDayTx, user: str, what: str, took: float) -> None:
        """The thread's "acknowledged" line, posted once the acknowledgement is committed and the game day
        unlocked: a slow Slack call then holds up no other input of this or any game day."""
        record = tx.record
        tx.after_commit(
            lambda: best_effort(
                lambda: self.announcer.acknowledged(record, user, what, took), "an acknowledgement"
            )
        )

    def request_handoff(
        self, gameday_id: str, from_user: str, to_user: str, at: float, delivery_id: str
    ) -> Outcome:
        """A handoff request: the pages ``from_user`` owns go to ``to_user`` once they acknowledge."""
        return self._operate(gameday_id, delivery_id, self._handing_off(from_user, to_user, at))

    def _handing_off(self, from_user: str, to_user: str, at: float) -> Action:
        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            if from_user == to_user:
                return Outcome(False, "You cannot hand off to yourself; pick someone else.")
            self.injects.paging.request_handoff(tx, state, from_user, to_user, at, from_user)
            return Outcome(True, f"Handoff to <@{to_user}> requested.")

        return act

    def escalate_now(self, gameday_id: str, page_id: str, user: str, delivery_id: str) -> Outcome:
        """The Escalate button: page the secondary now instead of waiting for escalate_after."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            page = state.pages.get(page_id)
            if page is None or page.escalated_at is not None:
                return Outcome(False, "This page cannot be escalated (already escalated, or not a page).")
            self.injects.paging.escalate(tx, state, page_id)
            return Outcome(True, "Escalated to the secondary.")

        return self._operate(gameday_id, delivery_id, act)

    def mark(
        self,
        gameday_id: str,
        kind: Kind,
        user: str,
        at: float,
        delivery_id: str,
        source: str = "slack",
        page_id: str | None = None,
        inject: str | None = None,
    ) -> Outcome:
        """Record a detection or a containment; ``inject``, the fault an alert's own marker named."""
        assert kind in (Kind.DETECTED, Kind.CONTAINED)

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            known = page_id if page_id in state.pages else None
            data: dict[str, object] = {"source": source, "page_id": known}
            if inject is not None and state.has_inject(inject):
                data["inject"] = inject
            tx.append(kind, at, user, data)
            return Outcome(True, f"{'Detection' if kind is Kind.DETECTED else 'Containment'} recorded.")

        return self._operate(gameday_id, delivery_id, act)

    def add_note(
        self,
        gameday_id: str,
        kind: str,
        text: str,
        user: str,
        at: float,
        delivery_id: str,
        message_ts: str | None = None,
    ) -> Outcome:
        """Record a gap, note, action, decision or update for the debrief; ``message_ts``, the message it
        came from, gets a reaction once it is recorded."""
        # a note sent just before /sce end may be processed just after it: it still belongs to the debrief
        action = self._noting(kind, text, user, at, message_ts)
        # a note answers no message: it need not wait for the game day's posts in flight (their steps
        # are committed before the posts leave, so the note's step is right without the wait)
        return self._operate(gameday_id, delivery_id, action, ACCEPTED_AFTER_END, urgent=True)

    def _noting(self, kind: str, text: str, user: str, at: float, message_ts: str | None = None) -> Action:
        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            tx.append(Kind.NOTE, at, user, {"kind": kind, "text": text, "step": state.last_step})
            if message_ts is not None:  # a redelivered message is skipped before this: one reaction
                record = tx.record
                self._after(tx, lambda: self.announcer.noted(record, message_ts, kind), "a note's reaction")
            return Outcome(True, f"{kind.capitalize()} recorded for the debrief.")

        return act

    def assign_role(
        self, gameday_id: str, role: str, user: str, by: str, at: float, delivery_id: str
    ) -> Outcome:
        """`/sce role commander|comms @user`: on the timeline, for comms clarity in the debrief."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            tx.append(Kind.ROLE_ASSIGNED, at, by, {"role": role, "user": user})
            self.injects.announce_role(tx, role, user)
            return Outcome(True, f"<@{user}> is the {role}.")

        return self._operate(gameday_id, delivery_id, act)

    def record_unmatched_alert(
        self, gameday_id: str, source: str, name: str, labels: dict[str, str], at: float, delivery_id: str
    ) -> Outcome:
        """An alert fired during the game day without its marker: noise, counted against alert fidelity."""

        def act(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
            tx.append(Kind.ALERT_UNMATCHED, at, None, {"source": source, "name": name, "labels": labels})
            return Outcome(True, "unmatched alert recorded")

        return self._operate(gameday_id, delivery_id, act)

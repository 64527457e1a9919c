"""Operations on game days: lock, skip a delivery seen before, refuse when over, act, then settle.

Every command and every reply is one ``Input``; the inbox's batches cover many game days in one
transaction, so a burst of replies pays for one commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from bot.gameday.folds import folded
from bot.gameday.ports import GameDayStore, GameDayTx, StoreUnavailable
from bot.gameday.running.inbox import Action, Input
from bot.gameday.running.outbox import InFlight
from bot.gameday.running.outcome import ACCEPTED_AFTER_END, Outcome
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import Status, advance
from bot.gameday.timeline import Kind

log = logging.getLogger(__name__)
STORE_RETRY_PAUSES = (0.5, 1.0, 2.0, 4.0)  # seconds between tries while the database is away
IN_FLIGHT_WAIT_SECONDS = 10.0  # input about a message Slack has just taken waits at most this for its record


def duplicate(tx: GameDayTx, delivery_id: str) -> bool:
    """True when this delivery was recorded before; else record it (lock held)."""
    if tx.seen_delivery(delivery_id):
        return True
    tx.record_delivery(delivery_id)
    return False


class Operations:
    """Apply inputs to game days, each game day's in order under its lock, then settle it once."""

    def __init__(
        self, store: GameDayStore, in_flight: InFlight, settle: Callable[[GameDayTx, Scenario], None]
    ):
        self.store = store
        self.in_flight = in_flight
        self.settle = settle

    def operate(
        self,
        gameday_id: str,
        delivery_id: str | None,
        action: Action,
        when_over: str = "This game day is over.",
        urgent: bool = False,
    ) -> Outcome:
        """One operation. ``urgent`` (abort, a stop condition, a note): no wait for the game day's posts
        in flight."""
        return self.operate_many(gameday_id, [Input(delivery_id, action, when_over)], urgent)[0]

    def operate_many(self, gameday_id: str, inputs: Sequence[Input], urgent: bool = False) -> list[Outcome]:
        """Several operations on one game day, in order, in one locked transaction."""
        return self.operate_across({gameday_id: inputs}, urgent)[gameday_id]

    def operate_across(
        self, batches: Mapping[str, Sequence[Input]], urgent: bool = False
    ) -> dict[str, list[Outcome]]:
        """Each game day's operations in order, all game days in one transaction (the inbox's batches):
        a burst of replies over many game days pays for one commit.

        Slack input arrives once (its ack is already sent), so a database that is restarting is waited
        for a few seconds rather than the input being lost.
        """
        if not urgent:  # a post of these game days still being recorded may be what this answers
            self.in_flight.wait_for_gamedays(batches.keys(), IN_FLIGHT_WAIT_SECONDS)
        for pause in (*STORE_RETRY_PAUSES, None):
            try:
                return self._operate_across_once(batches)
            except StoreUnavailable as exc:
                if pause is None:
                    raise
                log.warning("%s; retrying %s in %.1fs", exc, ", ".join(batches), pause)
                time.sleep(pause)
        raise AssertionError("unreachable")

    def _operate_across_once(self, batches: Mapping[str, Sequence[Input]]) -> dict[str, list[Outcome]]:
        with self.store.transactions(list(batches)) as txs:
            deliveries = [i.delivery_id for inputs in batches.values() for i in inputs if i.delivery_id]
            # delivery ids are unique across game days: one look answers for the whole batch
            seen = next(iter(txs.values())).seen_deliveries(deliveries) if deliveries else set()
            return {gd: self._apply_inputs(txs[gd], batches[gd], seen) for gd in sorted(batches)}

    def _apply_inputs(self, tx: GameDayTx, inputs: Sequence[Input], seen: set[str]) -> list[Outcome]:
        """Lock held: skip a delivery seen before, refuse when over, act, then settle once."""
        gameday_id = tx.record.id
        scenario = cached_scenario(tx.record.scenario_text)
        events = tx.events
        before = known = len(events)
        state = folded(gameday_id, events)  # what this batch adds, not the whole timeline again
        outcomes = []
        for item in inputs:
            if item.delivery_id is not None:
                if item.delivery_id in seen:
                    outcomes.append(Outcome(True, "already recorded", gameday_id, repeat=True))
                    continue
                seen.add(item.delivery_id)
                tx.record_delivery(item.delivery_id)
            if state.status.is_over and item.when_over != ACCEPTED_AFTER_END:
                outcomes.append(Outcome(False, item.when_over, gameday_id))
                continue
            outcomes.append(replace(item.action(tx, scenario, state), gameday_id=gameday_id))
            events = tx.events
            state, known = advance(state, events[known:]), len(events)
        changed = {e.kind for e in events[before:]}
        waiting = state.status in (Status.AWAITING_APPROVAL, Status.PREFLIGHT)
        if changed and changed != {Kind.NOTE} and not waiting:
            self.settle(tx, scenario)  # a note alone changes neither the outcome nor the status line
        return outcomes

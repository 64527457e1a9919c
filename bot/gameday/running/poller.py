"""Firing due timers: claim, run, and put back for a retry when the effect failed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.gameday.ports import GameDayStore, Timer
from bot.gameday.running.engine import Engine
from bot.gameday.running.retries import RETRY_AFTER_SECONDS, RETRY_CEILING_SECONDS, retry_delay
from bot.runtime.failpoints import crash_point

log = logging.getLogger(__name__)
__all__ = ["RETRY_AFTER_SECONDS", "RETRY_CEILING_SECONDS", "fire_due_timers", "fire_timers", "retry_delay"]


OnFire = Callable[[Timer, float], None]
OnFailed = Callable[[Timer], None]


def fire_due_timers(
    store: GameDayStore,
    engine: Engine,
    now: float,
    limit: int = 50,
    on_fire: OnFire | None = None,
) -> int:
    """Run every timer due at ``now``, one after the other; returns how many ran.

    ``on_fire(timer, now)`` hears of each one as it starts (the edge measures lateness with it).
    """
    return fire_timers(store, engine, store.claim_due_timers(now, limit), lambda: now, on_fire)


def fire_timers(
    store: GameDayStore,
    engine: Engine,
    timers: Sequence[Timer],
    clock: Callable[[], float],
    on_fire: OnFire | None = None,
    on_failed: OnFailed | None = None,
) -> int:
    """Run claimed timers in order; one that fails is put back for a retry with a growing wait, never
    dropped, and ``on_failed`` hears of it (the edge counts it). From its fifth failure it is an incident
    on its game day's timeline, told to the facilitator once a later timer of that game day runs through.
    Returns how many ran."""
    fired = 0
    for timer in timers:
        crash_point("timer.claimed")
        now = clock()
        if on_fire is not None:
            on_fire(timer, now)
        try:
            engine.fire(timer)
            fired += 1
        except Exception as error:
            engine.outcomes.failed(timer, error, now)
            if on_failed is not None:
                on_failed(timer)
            continue
        engine.outcomes.ran(timer)
    return fired

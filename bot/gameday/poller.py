"""Firing due timers: claim, run, and put back for a retry when the effect failed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.failpoints import crash_point
from bot.gameday.engine import Engine
from bot.gameday.ports import GameDayStore, Timer

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5.0
OnFire = Callable[[Timer, float], None]


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
) -> int:
    """Run claimed timers in order; one that fails is put back for a retry. Returns how many ran."""
    fired = 0
    for timer in timers:
        crash_point("timer.claimed")
        now = clock()
        if on_fire is not None:
            on_fire(timer, now)
        try:
            engine.fire(timer)
            fired += 1
        except Exception:
            log.exception(
                "timer %s of %s failed; retrying in %.0fs", timer.key, timer.gameday_id, RETRY_AFTER_SECONDS
            )
            store.release_timer(timer.id, now + RETRY_AFTER_SECONDS)
    return fired

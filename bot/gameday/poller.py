"""Firing due timers: claim, run, and put back for a retry when the effect failed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.failpoints import crash_point
from bot.gameday.delivery_delays import SURFACE_AFTER_ATTEMPTS
from bot.gameday.engine import Engine
from bot.gameday.ports import GameDayStore, Timer

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5.0
RETRY_CEILING_SECONDS = 300.0
# SURFACE_AFTER_ATTEMPTS: from then on each failure is logged as an error, not a passing warning, and the
# game day's timeline remembers the incident for its facilitator (bot/gameday/delivery_delays.py)


def retry_delay(attempts: int, first: float = RETRY_AFTER_SECONDS) -> float:
    """How long a timer that has failed ``attempts`` times waits before its next try: ``first`` (5 s),
    doubling each time, at most 5 minutes, so a dependency that stays down is not hammered by every timer
    it holds."""
    return min(first * 2.0 ** max(attempts - 1, 0), RETRY_CEILING_SECONDS)


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
    retry_after: float = RETRY_AFTER_SECONDS,
) -> int:
    """Run claimed timers in order; one that fails is put back for a retry with a growing wait (from
    ``retry_after``), never
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
        except Exception:
            delay = retry_delay(timer.attempts, retry_after)
            surfaced = timer.attempts >= SURFACE_AFTER_ATTEMPTS
            (log.error if surfaced else log.warning)(
                "timer %s of %s failed %d time(s)%s; retrying in %.0fs",
                timer.key,
                timer.gameday_id,
                timer.attempts,
                ": it is not lost, and will keep trying until what it waits for is back" if surfaced else "",
                delay,
                exc_info=True,
            )
            store.release_timer(timer.id, now + delay)
            _quietly(engine.delays.failed, timer)
            if on_failed is not None:
                on_failed(timer)
            continue
        _quietly(engine.delays.ran, timer)
    return fired


def _quietly(tell: Callable[[Timer], None], timer: Timer) -> None:
    """Remembering or reporting a delay never fails the timer: it is tried again at the next one."""
    try:
        tell(timer)
    except Exception:
        log.warning(
            "could not record or report the delay of timer %s of %s",
            timer.key,
            timer.gameday_id,
            exc_info=True,
        )

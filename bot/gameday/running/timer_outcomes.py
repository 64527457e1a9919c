"""What follows a timer's run, whichever thread ran it (the timer service's lanes, or the thread that
committed an outbox post and sends it at once): a failure is put back for a retry with a growing wait,
never dropped, and from its fifth attempt surfaced; a run that goes through tells the facilitator of the
game day's delivery incidents (``bot/gameday/running/delivery_delays``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.gameday.ports import GameDayStore, Timer
from bot.gameday.running.delivery_delays import SURFACE_AFTER_ATTEMPTS, DeliveryDelays
from bot.gameday.running.retries import RETRY_AFTER_SECONDS, retry_delay

log = logging.getLogger(__name__)


class TimerOutcomes:
    """``on_failed`` hooks hear of every failed attempt (the edge counts them)."""

    def __init__(self, store: GameDayStore, delays: DeliveryDelays, clock: Callable[[], float]):
        self.store = store
        self.delays = delays
        self.now = clock
        self.on_failed: list[Callable[[Timer], None]] = []
        self.first_retry = RETRY_AFTER_SECONDS  # the first wait (SCE_TIMER_RETRY), doubling from there

    def failed(self, timer: Timer, error: BaseException, now: float | None = None) -> float:
        """Put a failed timer back for its next try; returns when that is."""
        now = self.now() if now is None else now
        delay = retry_delay(timer.attempts, error, self.first_retry)
        surfaced = timer.attempts >= SURFACE_AFTER_ATTEMPTS
        (log.error if surfaced else log.warning)(
            "timer %s of %s failed %d time(s)%s; retrying in %.0fs",
            timer.key,
            timer.gameday_id,
            timer.attempts,
            ": it is not lost, and will keep trying until what it waits for is back" if surfaced else "",
            delay,
            exc_info=error,
        )
        self.store.release_timer(timer.id, now + delay)
        _quietly(self.delays.failed, timer)
        for hook in self.on_failed:
            hook(timer)
        return now + delay

    def ran(self, timer: Timer) -> None:
        _quietly(self.delays.ran, timer)


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

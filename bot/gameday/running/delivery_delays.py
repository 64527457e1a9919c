"""A delivery that keeps failing is told to the facilitator once Slack takes posts again.

After the fifth failed attempt of a game day's timer (a step's post, an escalation, the debrief...), the
timeline records a ``delivery_delayed`` event: the incident is remembered in the database, so a restart
does not forget it. At the next timer of that game day that runs through (Slack answers again), one
message in the thread says what was delayed, after how many attempts, and whether it went out at last or
is still being retried; a ``delivery_reported`` event closes the incidents it named, so each is told once,
not once per attempt. Posting happens outside every transaction; the message carries a key, so a crash
between posting and recording it never posts it twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.gameday.ports import Announcer, GameDayStore, Timer
from bot.gameday.running.timer_types import DeliveryDelay, TimerKind
from bot.gameday.timeline import Event, Kind

log = logging.getLogger(__name__)
SURFACE_AFTER_ATTEMPTS = 5  # the attempt from which a failing timer is an incident, not a passing blip


def open_delays(events: list[Event]) -> list[Event]:
    """The ``delivery_delayed`` events no ``delivery_reported`` event has told yet."""
    told = {t for e in events if e.kind is Kind.DELIVERY_REPORTED for t in e.data.get("timer_ids", [])}
    return [e for e in events if e.kind is Kind.DELIVERY_DELAYED and e.data.get("timer_id") not in told]


class DeliveryDelays:
    """Remembers failing deliveries on the timeline and reports them once a later one runs through."""

    def __init__(self, store: GameDayStore, announcer: Announcer, clock: Callable[[], float]):
        self.store = store
        self.announcer = announcer
        self.now = clock
        self._open: set[str] = set()  # game days with an incident this process recorded, not yet told
        self._lock = threading.Lock()

    def failed(self, timer: Timer) -> None:
        """After a failed attempt: the fifth opens an incident on the game day's timeline (once)."""
        if timer.attempts != SURFACE_AFTER_ATTEMPTS:
            return
        data = {
            "timer_id": timer.id,
            "key": timer.key,
            "kind": str(timer.kind),
            "post": timer.payload.get("what") if timer.kind == TimerKind.POST else None,
            "attempts": timer.attempts,
        }
        with self.store.transaction(timer.gameday_id) as tx:
            tx.append(Kind.DELIVERY_DELAYED, self.now(), None, data)
        with self._lock:
            self._open.add(timer.gameday_id)

    def ran(self, timer: Timer) -> None:
        """After a timer ran through: tell the facilitator of the game day's open incidents, if any.

        Looked up only when this timer was itself retried or this process opened an incident for its
        game day, so the usual timer costs no read."""
        with self._lock:
            known = timer.gameday_id in self._open
        if timer.attempts <= 1 and not known:
            return
        record = self.store.get(timer.gameday_id)
        if record is None:
            return
        incidents = open_delays(self.store.events(timer.gameday_id))
        if not incidents:
            with self._lock:
                self._open.discard(timer.gameday_id)
            return
        if any(e.data.get("timer_id") == timer.id for e in incidents):  # this one went out at last
            with self.store.transaction(timer.gameday_id) as tx:
                tx.append(
                    Kind.DELIVERED_LATE, self.now(), None, {"timer_id": timer.id, "attempts": timer.attempts}
                )
        events = self.store.events(timer.gameday_id)
        late = {e.data["timer_id"]: int(e.data["attempts"]) for e in events if e.kind is Kind.DELIVERED_LATE}
        delays = [
            DeliveryDelay(
                int(e.data["timer_id"]),
                TimerKind(str(e.data["kind"])),
                late.get(e.data["timer_id"], int(e.data["attempts"])),
                e.data["timer_id"] in late,
                e.data.get("post"),
            )
            for e in open_delays(events)
        ]
        ids = [d.timer_id for d in delays]
        key = f"{record.id}:delivery-delayed:{','.join(map(str, ids))}"
        if self.announcer.find_posted(record, key) is None:  # posted before a crash: not again
            self.announcer.delivery_delayed(record, delays, key)
        with self.store.transaction(timer.gameday_id) as tx:
            tx.append(Kind.DELIVERY_REPORTED, self.now(), None, {"timer_ids": ids})
        with self._lock:
            self._open.discard(timer.gameday_id)

"""`sce demo --fast`: game time stands still while anything happens, then jumps to the next thing due.

The scaled clock makes a 30-minute drill take 45 seconds of mostly waiting. Here the demo's clock is
virtual: when the bot and the people have been idle a moment (no timer claimed or running, no timer
or scripted cue due, no delivery to the app unanswered, no post held back by the pace, no Web API
call for ``quiet`` seconds of real time), it moves straight to the earliest of the next timer and the
next scripted cue, and wakes the timer poller. Every time a person or the bot reads is still the
clock's, so the debrief is the same; only the waiting between events is gone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.gameday.clock import VirtualClock
from bot.runtime.service import Services
from bot.workspace.server import LocalWorkspace

log = logging.getLogger(__name__)
QUIET_SECONDS = 0.1  # of real time with nothing happening before the clock jumps: a listener that
# Bolt runs after its ack calls the Web API well within it
LOOK_EVERY = 0.01


class FastForward:
    """Moves a virtual clock on by itself, from its own thread, while a demo runs."""

    def __init__(
        self,
        clock: VirtualClock,
        services: Services,
        workspace: LocalWorkspace,
        quiet: float = QUIET_SECONDS,
    ):
        self.clock = clock
        self.services = services
        self.workspace = workspace
        self.quiet = quiet
        self.cues: Callable[[], float | None] = lambda: None  # the responders' next_due_at, once they run
        self.jumps = 0
        self._held = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fast-forward", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def hold(self) -> None:
        """No more jumps (the game day is over: cues scripted after its end never land); what is due
        now still runs."""
        self._held.set()

    def _busy(self) -> bool:
        timers = self.services.timers
        return (
            not timers.lanes.drain(0)
            or not timers.publish_lanes.drain(0)
            or not self.services.announcer.follow_ups.drain(0)
            or self.services.announcer.pacer.waiting > 0
        )

    def _next_due(self) -> float | None:
        timers = self.services.timers
        dues = [self.services.store.next_due_at(), self.cues(), *(o.next_due_at() for o in timers.others)]
        return min((d for d in dues if d is not None), default=None)

    def _run(self) -> None:
        seen = self.workspace.activity()
        calm_since = time.monotonic()
        while not self._stop.wait(LOOK_EVERY):
            try:
                activity = self.workspace.activity()
                _, queued, answered = activity
                if activity != seen or queued != answered or self._busy():
                    seen, calm_since = activity, time.monotonic()
                    continue
                if time.monotonic() - calm_since < self.quiet:
                    continue
                due = self._next_due()
                if due is None:
                    continue
                if due > self.clock.now() and not self._held.is_set():
                    self.clock.advance_to(due)
                    self.jumps += 1
                # what came due now (or was due and not picked up yet) is claimed at once
                self.services.timers.poll(wait=False)
                calm_since = time.monotonic()
            except Exception:  # the demo's own loop reports a game day that does not finish
                log.exception("the demo's clock could not move on")
                calm_since = time.monotonic()

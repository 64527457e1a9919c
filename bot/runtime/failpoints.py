"""Named crash points for the reliability tests: `SCE_FAILPOINTS=timer.claimed` makes the process kill
itself (SIGKILL, no clean-up) the first time it passes that point, exactly as a crash there would.

Unset in production, where `crash_point` is one dictionary lookup. Points: ``timer.claimed`` (a timer is
claimed, its effect not run), ``fault.intent`` (a fault's intent is committed, the driver not called),
``debrief.render`` (the game day is ending, its debrief not posted).
"""

from __future__ import annotations

import os
import signal

_ARMED = frozenset(p.strip() for p in os.environ.get("SCE_FAILPOINTS", "").split(",") if p.strip())


def crash_point(name: str) -> None:
    if name in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)

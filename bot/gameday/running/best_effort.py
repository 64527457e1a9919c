"""Posts that only inform (a confirmation, the status line, a fault notice): if Slack refuses one, the
operation still commits, because the timeline already holds the fact and input is never lost for a
courtesy message."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def best_effort(post: Callable[[], object], what: str) -> None:
    try:
        post()
    except Exception:
        log.warning("could not post %s; the timeline has it all the same", what, exc_info=True)

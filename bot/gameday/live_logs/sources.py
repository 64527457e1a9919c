"""The ports a live logs step reads through; the edge implements them (``bot/integrations/log_sources``).

``LogSources.open`` starts following one step's source and hands every line it reads to the step's
``Batcher``; it raises ``SourceFailed`` (one sentence) when there is nothing it can follow at all. A
``Following`` is polled by the step's timer outside every lock (Loki is asked then; Kubernetes lists
its pods again, to follow pods that came up since) and closed when the step or the game day ends.
"""

from __future__ import annotations

from typing import Protocol

from bot.gameday.live_logs.batching import Batcher
from bot.gameday.scenario.steps import LogsSpec


class SourceFailed(Exception):
    """Why a log source cannot be followed, in one sentence."""


class Following(Protocol):
    @property
    def streams(self) -> list[str]:
        """What is followed now: pod names, or the Loki query."""
        ...

    def poll(self) -> None:
        """Read what the source has now, or look for new streams; never raises."""
        ...

    def close(self) -> None:
        """Stop reading and close every connection; returns once the readers have ended (or 2 s)."""
        ...


class LogSources(Protocol):
    def open(self, gameday_id: str, spec: LogsSpec, sink: Batcher) -> Following:
        """Follow ``spec``'s source from now on, each line into ``sink``; SourceFailed when it cannot."""
        ...

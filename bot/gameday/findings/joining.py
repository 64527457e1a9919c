"""The learning loop joined to a debrief: read from the findings port when a debrief is built at the
end of a game day (after its own findings are recorded, so they count) and by `sce debrief`.

Best-effort like the recording: a store that fails leaves the debrief without its loop section (logged),
never without its debrief.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.gameday.findings.loop import learning_loop
from bot.gameday.findings.recording import FindingFilter, FindingPort
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import GameDayRecord

log = logging.getLogger(__name__)


def with_learning_loop(debrief: Debrief, channel: str, store: FindingPort, now: float) -> Debrief:
    """``debrief`` with its ``learning_loop`` section: the scenario's findings and the channel's."""
    of_scenario = store.list(FindingFilter(scenario=debrief.scenario), now)
    of_team = store.list(FindingFilter(channels=[channel]), now)
    seen = {f.number for f in of_scenario}
    facts = of_scenario + [f for f in of_team if f.number not in seen]
    this_run = [f.id for f in of_scenario if f.gameday == debrief.id]
    loop = learning_loop(debrief.scenario, channel, facts, this_run)
    return debrief.model_copy(update={"learning_loop": loop})


class LoopJoiner:
    """The finishing step that adds the loop to the debrief about to be posted."""

    def __init__(self, store: FindingPort, clock: Callable[[], float]):
        self.store = store
        self.now = clock

    def __call__(self, record: GameDayRecord, debrief: Debrief) -> Debrief:
        try:
            return with_learning_loop(debrief, record.channel, self.store, self.now())
        except Exception:
            log.exception("could not read the learning loop for the debrief of %s", record.id)
            return debrief

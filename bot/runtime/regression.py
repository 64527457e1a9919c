"""`sce serve` starts the regression runs fixed findings are owed: the data says which, not the path that
fixed them (`/sce fixed`, a debrief button, a closed ticket, `sce findings fix`).

Every ``LOOK_EVERY_SECONDS`` (riding the timer service's ``others``, like the ticket poller), on a thread
of its own, it looks for scenarios with findings in state ``fixed`` and no unattended run started since the
latest ``fixed_at`` (``sce run`` from CI or a CronJob counts), claims the run owed in the database (one
replica of several wins the claim: ``storage/regression_store``) and runs it in this process with `sce
run`'s runner (``bot/runtime/unattended.run_loaded``): one at a time, each bounded by its time box, its
thread and summary in the channel of the latest fixed finding's game day when Slack is configured. The
run's end verifies what it now meets (``bot/gameday/findings/verifying``).

A run owed but not startable (the scenario needs approval and no standing approval holds, the file is
gone or broken, Slack is configured but the finding's channel is no Slack channel) is not claimed: it is
said once in the log, and started on a later pass once it can be. One whose start failed after the claim
(its preflight) is not tried again for that fix: a later fix, or a `sce run`, runs it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

from bot.config import Settings
from bot.gameday.findings.model import FindingState
from bot.gameday.findings.recording import FindingFilter
from bot.gameday.findings.verifying import Owed, owed_regressions
from bot.gameday.running.standing import StandingApproval
from bot.gameday.scenario.catalog import ScenarioCatalog, UnknownScenario
from bot.gameday.scenario.loading import LoadedScenario, ScenarioError
from bot.gameday.scenario.model import content_hash
from bot.runtime.service import Services
from bot.runtime.standing_lookup import NoStandingApproval, standing_for
from bot.runtime.unattended import RunOptions, run_loaded
from storage.finding_store import FindingStore
from storage.regression_store import RegressionLedger
from storage.sql_store import SqlStore
from storage.standing_store import StandingStore

log = logging.getLogger(__name__)
LOOK_EVERY_SECONDS = 300.0
FIRST_LOOK_SECONDS = 60.0  # a replica just started settles first (its own game days, the others' claims)
_STARTED = re.compile(r"game day (run-[0-9a-f]+) started")
_CHANNEL = re.compile(r"[CG][A-Z0-9]{1,20}")


class RegressionRuns:
    def __init__(
        self,
        settings: Settings,
        store: SqlStore,
        catalog: ScenarioCatalog,
        build: Callable[..., Services],
        clock: Callable[[], float],
        wall_clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.findings = FindingStore(store.engine)
        self.standing = StandingStore(store.engine)
        self.ledger = RegressionLedger(store.engine)
        self.store = store
        self.catalog = catalog
        self.build = build  # `sce serve`'s build_services, for the run's own (unattended) services
        self.now = clock  # game-day time: fixes, approvals and runs are stamped with it
        self.wall_clock = wall_clock  # the looks' pace
        self._next = wall_clock() + FIRST_LOOK_SECONDS
        self._running: threading.Thread | None = None
        self._said: set[str] = set()  # what was logged already (a reason not to start, said once)

    def recover(self) -> None:
        pass  # a claim is its own record; a run a dead process left is a started run like any other

    def next_due_at(self) -> float | None:
        return None  # the timer service's safety interval is frequent enough for a five-minute look

    def run_due(self, now: float) -> int:
        if self.wall_clock() < self._next or (self._running is not None and self._running.is_alive()):
            return 0
        self._next = self.wall_clock() + LOOK_EVERY_SECONDS
        self._running = threading.Thread(target=self.look_once, name="regression-runs", daemon=True)
        self._running.start()
        return 0  # a run's timers are its own services', never this poller's

    def look_once(self) -> str | None:
        """Start the first regression run owed that can start, and follow it to its end; its game day
        id, or None when none was started. Failures are logged, never raised into the timer service."""
        try:
            fixed = self.findings.list(FindingFilter(state=FindingState.FIXED), self.now())
            for owed in owed_regressions(fixed):
                if self.ledger.ran_since(owed.scenario, owed.since):
                    continue
                started = self._start(owed)
                if started is not None:
                    return started  # one at a time: the next pass looks again
        except Exception:
            log.exception("the look for regression runs owed failed")
        return None

    def _start(self, owed: Owed) -> str | None:
        try:
            loaded = self.catalog.load(owed.scenario)
        except (UnknownScenario, ScenarioError) as exc:
            self._say_once(f"{owed.scenario}:{owed.since}:file", f"cannot start: {exc}", owed)
            return None
        standing: StandingApproval | None = None
        if loaded.scenario.approval.required:
            try:
                standing = standing_for(self.standing, loaded, self.now())
            except NoStandingApproval as exc:
                self._say_once(f"{owed.scenario}:{owed.since}:{content_hash(loaded.text)}", str(exc), owed)
                return None
        slack = bool(self.settings.slack_bot_token)
        if slack and not _CHANNEL.fullmatch(owed.channel):
            why = f"its findings' channel {owed.channel!r} is no Slack channel to post in"
            self._say_once(f"{owed.scenario}:{owed.since}:channel", why, owed)
            return None
        if slack and self.store.active_in_channel(owed.channel):
            return None  # one game day at a time per channel: a later pass starts it
        if not self.ledger.claim(owed.scenario, owed.since, owed.channel, self.now()):
            return None  # another replica (or an earlier pass) has it
        return self._run(owed, loaded, standing, owed.channel if slack else None)

    def _run(
        self, owed: Owed, loaded: LoadedScenario, standing: StandingApproval | None, channel: str | None
    ) -> str | None:
        lines: list[str] = []
        log.info("regression run of %s owed by %s: starting", owed.scenario, ", ".join(owed.findings))

        def approved(_: LoadedScenario) -> StandingApproval:
            if standing is None:  # pragma: no cover - asked only when the scenario needs approval
                raise NoStandingApproval("no standing approval")
            return standing

        options = RunOptions(channel=channel)
        status = run_loaded(loaded, self.settings, options, lines.append, lines.append, self.build, approved)
        gameday = next((m[1] for line in lines if (m := _STARTED.search(line))), None)
        if gameday is not None:
            self.ledger.started(owed.scenario, owed.since, gameday)
        said = [line.strip() for line in lines if line.startswith(("validated", "falsified", "inconclusive"))]
        last = said[-1] if said else (lines[-1].strip() if lines else "no output")
        log.info("regression run of %s: exit %d, %s", owed.scenario, status, last)
        return gameday

    def _say_once(self, key: str, why: str, owed: Owed) -> None:
        if key in self._said:
            return
        self._said.add(key)
        fixed = ", ".join(owed.findings)
        log.warning("regression run of %s (for %s) not started: %s", owed.scenario, fixed, why)

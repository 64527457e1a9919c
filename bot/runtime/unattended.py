"""`sce run`: one game day, unattended, start to debrief in this process, for CI pipelines and CronJobs.

The engine and its timers are `sce serve`'s (``build_services``) against the configured DATABASE_URL, so
a `sce serve` sharing that database takes the alerts (`/hooks/alertmanager`) and records detections for
this game day; its timers are fired here only (``SqlStore.own_timers``). Nobody is waited for: the rules
are ``bot/gameday/measuring/unattended``'s. Without SLACK_BOT_TOKEN it needs no Slack at all
(``QuietAnnouncer``) and prints the timeline's lines on stderr as they are recorded; with it, the thread
and a summary go to ``--channel``. Interrupted (Ctrl-C, SIGTERM), it aborts the game day, every fault
reverted. The exit status is the contract's: 0 validated, 1 falsified, 2 inconclusive or aborted,
3 invalid scenario or configuration.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.debrief.event_log import event_log
from bot.gameday.measuring import unattended
from bot.gameday.measuring.redaction import redact
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.people.roster import RosterError, resolve_roster
from bot.gameday.people.rotation import RotationError
from bot.gameday.preflight import passed
from bot.gameday.running.standing import StandingApproval, standing_line
from bot.gameday.scenario.loading import LoadedScenario
from bot.gameday.state import Status
from bot.integrations.pagerduty import PagerDuty
from bot.runtime.logs import configure_logging
from bot.runtime.quiet_announcer import QUIET_CHANNEL, QuietAnnouncer
from bot.runtime.service import Services, build_services
from bot.runtime.standing_lookup import NoStandingApproval, standing_from_database
from bot.slack.oncall_lookup import roster_for
from bot.slack.render import render
from bot.slack.start_checks import StartChecks

VALIDATED, FALSIFIED, INCONCLUSIVE, INVALID = 0, 1, 2, 3
POLL_SECONDS = 0.1
END_GRACE = 30.0  # seconds the end's posts (the debrief) may take once the game day is over
_CHANNEL = re.compile(r"[CG][A-Z0-9]{1,20}")  # a Slack channel id


class Refused(Exception):
    """The run cannot start (exit 3): the sentence says why."""


@dataclass(frozen=True)
class RunOptions:
    dry_run: bool = False
    channel: str | None = None
    junit: Path | None = None
    json: Path | None = None


def exit_status(debrief: Debrief) -> int:
    """The contract's exit status of a finished run."""
    if debrief.verdict == "validated":
        return VALIDATED
    return FALSIFIED if debrief.verdict == "falsified" else INCONCLUSIVE


def refusals(loaded: LoadedScenario, settings: Settings, options: RunOptions) -> list[str]:
    """Why this scenario cannot run unattended with this configuration (each a sentence; none: it can)."""
    scenario = loaded.scenario
    found = []
    if scenario.mode == "tabletop":
        found.append(f"{scenario.id} is a tabletop: a facilitator advances it (/sce next), not a machine.")
    if settings.slack_bot_token and not options.channel:
        found.append("SLACK_BOT_TOKEN is set: name the channel with --channel C123 (or SCE_RUN_CHANNEL).")
    if options.channel and not settings.slack_bot_token:
        found.append("--channel needs SLACK_BOT_TOKEN to post there; leave both unset to run without Slack.")
    if options.channel and not _CHANNEL.fullmatch(options.channel):
        found.append(f"--channel must be a Slack channel id such as C0123ABCD: {_shown(options.channel)}.")
    for flag, path in (("--junit", options.junit), ("--json", options.json)):
        problem = unwritable(path) if path is not None else None
        if problem:
            found.append(f"{flag} {_shown(str(path))}: {problem}")
    return found


def unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written (checked before the game day starts, not after it ran); None: it can."""
    if path.is_dir():
        return "is a folder, not a file."
    if path.exists():
        return None if _writable(path) else "cannot be written (permissions)."
    if not path.parent.is_dir():
        return f"the folder {_shown(str(path.parent))} does not exist."
    return None if _writable(path.parent) else f"the folder {_shown(str(path.parent))} cannot be written to."


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def _shown(text: str) -> str:
    """Text from the command line or the network as a terminal shows it: no control characters."""
    return "".join("\ufffd" if unicodedata.category(c).startswith("C") else c for c in redact(text))


def roster(services: Services, loaded: LoadedScenario, slack: bool) -> dict[str, str]:
    """Who is on call, as /sce start finds it (its user group, PagerDuty schedule or rotation); nobody
    named is fine here: nobody is waited for, pages go to the run itself."""
    scenario = loaded.scenario
    now = services.clock.now()
    try:
        if slack:
            return roster_for(
                services.client, services.rotations, scenario, {}, now, services.pagerduty_schedule
            )
        rotation = services.rotations.text_for(scenario.oncall.rotation) if scenario.oncall.rotation else None
        return resolve_roster(scenario, {}, None, rotation, now)
    except (RosterError, RotationError):
        return {"primary": unattended.ACTOR, "secondary": unattended.ACTOR}


class UnattendedRun:
    """One run: ``start`` (preflight, then the game day), ``follow`` until it is over, ``finish``."""

    def __init__(
        self,
        settings: Settings,
        options: RunOptions,
        say: Callable[[str], None],
        build: Callable[..., Services],
    ):
        self.settings = settings
        self.options = options
        self.say = say
        self.slack = bool(settings.slack_bot_token)
        quiet = None
        if not self.slack:
            key = settings.pagerduty_routing_key
            pager = PagerDuty(settings.pagerduty_events_url, key) if key else None
            # its ts come from the run's own clock (the system's, or a test's virtual one)
            quiet = QuietAnnouncer(lambda: self.services.clock.now(), pager)
        self.services = build(settings, unattended=True, announcer_override=quiet)
        self.gameday_id: str | None = None
        self._events = 0  # how many events the last print saw
        self._printed: Counter[str] = Counter()  # each line printed, by what it says

    @property
    def channel(self) -> str:
        return self.options.channel if self.slack and self.options.channel else QUIET_CHANNEL

    def start(self, loaded: LoadedScenario, standing: StandingApproval | None = None) -> None:
        """The checks /sce start runs, then the game day; Refused when it cannot start. ``standing``: the
        standing approval a scenario needing approval runs on (``bot/runtime/standing_lookup``)."""
        s = self.services
        client = s.client if self.slack else None  # without Slack there is no channel to check
        checks = StartChecks(client, s.preflight_query, s.preflight_http, s.drivers, self.settings.loki_url)
        results = checks(loaded.scenario, self.channel, self.options.dry_run)
        for check in results:
            self.say(_shown(check.line()))
        if not passed(results):
            raise PreflightFailed("the preflight failed (above): the game day did not start")
        who = roster(s, loaded, self.slack)
        outcome = s.engine.start(
            loaded.text,
            self.channel,
            unattended.ACTOR,
            who,
            dry_run=self.options.dry_run,
            unattended=True,
            standing=standing,
        )
        if not outcome.ok or outcome.gameday_id is None:
            raise Refused(outcome.message)
        self.gameday_id = outcome.gameday_id
        s.store.own_timers([outcome.gameday_id])  # its timers are this process's, no one else's
        s.timers.start()
        s.timers.wake_at(s.clock.now())
        self.say(f"sce run: game day {outcome.gameday_id} started ({loaded.scenario.id}, unattended)")
        if standing is not None:
            self.say(f"sce run: {_shown(standing_line(standing))}")

    def follow(self) -> None:
        """Print the timeline as it grows until the game day is over, then wait for the end's posts."""
        assert self.gameday_id is not None
        store = self.services.store
        while True:
            record = store.get(self.gameday_id)
            self._print_new()
            if record is not None and Status(record.status).is_over:
                break
            time.sleep(POLL_SECONDS)
        self._wait_for_timers()
        self._print_new()

    def abort(self, why: str) -> None:
        """Stop the game day at once (every fault reverted) and let the end's posts go out."""
        if self.gameday_id is None:
            return
        record = self.services.store.get(self.gameday_id)
        if record is not None and not Status(record.status).is_over:
            self.say(f"sce run: {why}: aborting {self.gameday_id}, every fault reverted")
            self.services.engine.abort(self.gameday_id, unattended.ACTOR, why)
        self._wait_for_timers()
        self._print_new()

    def debrief(self) -> Debrief:
        assert self.gameday_id is not None
        store = self.services.store
        record = store.get(self.gameday_id)
        assert record is not None
        return self.services.engine.debrief_from(record, store.events(self.gameday_id))

    def summary(self, debrief: Debrief) -> None:
        """With Slack: one line in the channel with the verdict (the debrief itself is in the thread)."""
        if not self.slack or self.options.channel is None:
            return
        try:
            self.services.client.chat_postMessage(
                channel=self.options.channel, text=render("run_summary", d=debrief), unfurl_links=False
            )
        except Exception as exc:  # the run's outcome stands without its summary in Slack
            self.say(f"sce run: the summary did not reach Slack ({type(exc).__name__})")

    def close(self) -> None:
        self.services.stop()

    def _wait_for_timers(self) -> None:
        """The end's posts (debrief) and the steady state's looks after the end, bounded; what is left then
        is cancelled, so no timer of this run waits for a process that has gone."""
        assert self.gameday_id is not None
        store = self.services.store
        record = store.get(self.gameday_id)
        looks_after = 0.0
        if record is not None:
            from bot.gameday.running.steady_watch import AFTER_LOOKS, STEADY_EVERY
            from bot.gameday.scenario.loading import cached_scenario

            if cached_scenario(record.scenario_text).steady_state:
                looks_after = AFTER_LOOKS * STEADY_EVERY
        deadline = time.monotonic() + END_GRACE + looks_after
        while store.unfinished_timers(self.gameday_id) and time.monotonic() < deadline:
            self._print_new()
            time.sleep(POLL_SECONDS)
        if store.unfinished_timers(self.gameday_id):
            with store.transaction(self.gameday_id) as tx:
                tx.cancel_pending_timers()

    def _print_new(self) -> None:
        """The timeline's new events as the debrief's event log words them, one line each (stderr)."""
        assert self.gameday_id is not None
        events = self.services.store.events(self.gameday_id)
        if len(events) == self._events:
            return
        self._events = len(events)
        record = self.services.store.get(self.gameday_id)
        if record is None:
            return
        # the log is rebuilt from the whole timeline each time (a line's wording may depend on what came
        # after it, a name resolved later): each line is printed once by what it says, not by its place
        this_pass: Counter[str] = Counter()
        for line in event_log(self.services.engine.debrief_from(record, events)):
            said = f"{line.utc} {_shown(line.text)}"
            this_pass[said] += 1
            if this_pass[said] > self._printed[said]:
                self._printed[said] += 1
                self.say(said)


class PreflightFailed(Exception):
    """A preflight check failed: nothing started, nothing was judged (exit 2)."""


def write_outputs(debrief: Debrief, options: RunOptions, to_stdout: Callable[[str], None]) -> None:
    """The debrief as JUnit and JSON where asked; OSError when a file cannot be written after all."""
    from bot.debrief.render import render_debrief

    for fmt, path in (("junit", options.junit), ("json", options.json)):
        if path is None:
            continue
        text = render_debrief(debrief, fmt)
        if is_stdout(path):
            to_stdout(text)
        else:
            path.write_text(text, encoding="utf-8")


def is_stdout(path: Path) -> bool:
    """Whether ``path`` is this process's standard output (``/dev/stdout``, ``-``): written there in
    order with the rest, and the verdict line then goes to stderr so the output stays one document."""
    if str(path) == "-":
        return True
    try:
        mine, theirs = os.fstat(sys.stdout.fileno()), os.stat(path)
    except (OSError, ValueError):
        return False
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def run_scenario(
    scenario: str, options: RunOptions, err: Callable[[str], None], out: Callable[[str], None]
) -> int:
    """`sce run`: the exit status, every problem one sentence on ``err``, the verdict line on ``out``."""
    from bot.config import SettingError, scenario_folder
    from bot.gameday.scenario.catalog import ScenarioCatalog, UnknownScenario
    from bot.gameday.scenario.loading import ScenarioError

    try:
        settings = Settings.from_env()
        loaded = ScenarioCatalog(scenario_folder()).load_id_or_path(scenario)
    except SettingError as exc:
        err(f"sce run: {exc}")
        return INVALID
    except UnknownScenario as exc:
        err(_shown(str(exc)))
        return INVALID
    except ScenarioError as exc:  # file:line: field: what is wrong, as sce validate says it
        for problem in exc.problems:
            err(_shown(str(problem)))
        return INVALID
    secrets = [settings.slack_bot_token, settings.pagerduty_routing_key, settings.alert_webhook_secret]
    configure_logging(json=settings.log_format == "json", level=logging.WARNING, secrets=secrets)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)

    def from_database(loaded: LoadedScenario) -> StandingApproval:
        return standing_from_database(settings.database_url, loaded, time.time())

    return run_loaded(loaded, settings, options, err, out, build_services, from_database)


def run_loaded(
    loaded: LoadedScenario,
    settings: Settings,
    options: RunOptions,
    err: Callable[[str], None],
    out: Callable[[str], None],
    build: Callable[..., Services],
    standing_of: Callable[[LoadedScenario], StandingApproval],
) -> int:
    """A loaded scenario run unattended: `sce run`'s part after reading its input, and a regression run's
    (``bot/runtime/regression``) in `sce serve`. ``standing_of``: the standing approval that holds for it
    (asked only when the scenario needs approval), or NoStandingApproval with the sentence."""
    refused = refusals(loaded, settings, options)
    for sentence in refused:
        err(sentence)
    if refused:
        return INVALID
    standing = None
    if loaded.scenario.approval.required:
        try:
            standing = standing_of(loaded)
        except NoStandingApproval as exc:
            err(_shown(str(exc)))
            return INVALID
    run = UnattendedRun(settings, options, err, build)
    try:
        try:
            run.start(loaded, standing)
            run.follow()
        except KeyboardInterrupt:
            run.abort("interrupted")
            if run.gameday_id is None:
                return INCONCLUSIVE
        debrief = run.debrief()
        run.summary(debrief)
        try:
            write_outputs(debrief, options, out)
        except OSError as exc:
            err(f"sce run: the debrief could not be written ({exc.strerror or exc}).")
            return INVALID
        line = f"{debrief.verdict}: {debrief.id} ({debrief.scenario}): {_shown(debrief.verdict_reason)}"
        if any(p is not None and is_stdout(p) for p in (options.junit, options.json)):
            err(line)  # stdout holds the debrief: one document, nothing else
        else:
            out(line + "\n")
        return exit_status(debrief)
    except Refused as exc:
        err(_shown(str(exc)))
        return INVALID
    except PreflightFailed as exc:
        err(f"sce run: {exc}")
        return INCONCLUSIVE
    finally:
        run.close()

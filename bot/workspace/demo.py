"""`sce demo`: the real bot against the local workspace, on a compressed clock, start to debrief."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings, demo_databases, demo_folder, scenario_folder
from bot.debrief.render import render_debrief
from bot.gameday.clock import Clock, ScaledClock, VirtualClock
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import GameDayRecord
from bot.gameday.scenario.catalog import ScenarioCatalog, UnknownScenario
from bot.gameday.scenario.durations import format_duration
from bot.gameday.scenario.loading import ScenarioError
from bot.gameday.state import Status
from bot.runtime.server import HttpServer
from bot.runtime.service import Services, build_services
from bot.slack.app import create_app, slack_over_http
from bot.slack.people import named
from bot.workspace.client import WorkspaceClient
from bot.workspace.default_script import default_script
from bot.workspace.fast_forward import FastForward
from bot.workspace.responders import Responders, load_script
from bot.workspace.server import LocalWorkspace
from storage.database import shown_url
from storage.sql_store import SqlStore

DEMO_SPEED = 40.0
CHANNEL = "C1"
USERS = {"U1": "alice", "U2": "bob", "UFAC": "carol"}
ROLES = {"primary": "U1", "secondary": "U2", "facilitator": "UFAC"}
SIGNING_SECRET = "demo-signing-secret"
POST_GRACE = 30.0  # seconds of real time the end's posts may take after the game day is over
END_GRACE = 10.0  # seconds of real time an interrupted demo waits for its abort's posts
FORMATS = ("md", "json", "html")
KEEP_DEMOS = 20  # demo databases kept; older ones are removed when a demo starts


@dataclass
class DemoResult:
    debrief: Debrief
    files: list[Path]
    performed: list[tuple[str, str, float]]
    database_url: str = ""


def _plain(text: str) -> str:
    text = re.sub(r"<@(U[A-Z0-9]+)(?:\|[^<>]*)?>", lambda m: "@" + USERS.get(m[1], m[1]), text)
    return re.sub(r"[*`]", "", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def new_demo_database(scenario_id: str) -> str:
    """A fresh SQLite database for one demo, in the demos folder (the oldest beyond KEEP_DEMOS go)."""
    folder = demo_folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in demo_databases()[KEEP_DEMOS - 1 :]:
        for path in (old, old.with_name(old.name + "-wal"), old.with_name(old.name + "-shm")):
            path.unlink(missing_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"sqlite:///{folder / f'{stamp}-{scenario_id}-{secrets.token_hex(3)}.db'}"


def run_demo(
    scenario_id: str = "pager-stress",
    settings: Settings | None = None,
    speed: float = DEMO_SPEED,
    out_dir: Path = Path("debriefs"),
    say: Callable[[str], None] = print,
    timeout: float = 90.0,
    database_url: str | None = None,
    fast: bool = False,
) -> DemoResult:
    """Run one scripted game day and write its debrief (Markdown, JSON and HTML) into ``out_dir``.

    The game day is recorded in a database of the demo's own (``database_url``, default a fresh one in
    the demos folder), never in ``settings.database_url``: the database `sce serve` resumes game days
    from never holds a demo's. Interrupted (KeyboardInterrupt), the demo aborts its game day, lets
    the abort's posts go out and says so before the interrupt goes on. ``fast``: instead of running
    ``speed`` times faster, game time jumps to the next thing due whenever nothing is happening
    (:mod:`bot.workspace.fast_forward`).
    """
    logging.getLogger("slack_bolt").setLevel(logging.ERROR)
    base = settings or Settings.from_env()
    clock: Clock = VirtualClock(time.time()) if fast else ScaledClock(speed)
    scenarios_dir = base.scenarios_dir if settings is not None else scenario_folder()
    try:
        loaded = ScenarioCatalog(scenarios_dir).load(scenario_id)
    except (UnknownScenario, ScenarioError) as exc:
        raise SystemExit(str(exc).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")) from None
    script = load_script(scenario_id)
    if script is None:
        say(
            f"No responder script for {scenario_id}: default responders rehearse it (alice acknowledges "
            "each page, bob takes each handoff, one gap is noted, detection and containment are marked "
            "halfway to their targets)."
        )
        script = default_script(loaded.scenario)
    guardrails = loaded.scenario.guardrails
    logs = [step.logs for step in loaded.scenario.steps if step.logs is not None and step.logs.namespace]
    # every fault is simulated and no pod log can be read here (no cluster): the steps say so instead
    namespaces = frozenset(guardrails.namespaces) | {str(spec.namespace) for spec in logs}
    if not fast:
        timeout = max(timeout, guardrails.max_duration / speed + 30)  # its time box ends it at the latest
    database_url = database_url or new_demo_database(loaded.scenario.id)  # an id: [a-z0-9-] only
    workspace = LocalWorkspace(
        signing_secret=SIGNING_SECRET, clock=clock.now, users=USERS, channels={CHANNEL: "gameday"}
    ).start()
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=workspace.api_url,
        database_url=database_url,
        scenarios_dir=scenarios_dir,
        rotations_dir=base.rotations_dir,
        allowed_namespaces=base.allowed_namespaces | namespaces,  # every fault is simulated here
        slack_posts_per_second=base.slack_posts_per_second,
        status_interval=base.status_interval,
        status_per_minute=base.status_per_minute,
        reactions_per_minute=base.reactions_per_minute,
    )
    services = build_services(settings, clock, simulate_faults=True)  # the demo never touches a cluster
    server = HttpServer(slack_over_http(create_app(services), services), "127.0.0.1", 0)
    server.start()
    workspace.request_url = f"http://127.0.0.1:{server.port}/slack/events"
    services.timers.start()
    forward = FastForward(clock, services, workspace) if isinstance(clock, VirtualClock) else None
    if forward:
        forward.start()
    people = WorkspaceClient(workspace.base_url)
    responders: Responders | None = None
    try:
        pace = "time jumps ahead whenever nothing is happening" if fast else f"time runs {speed:g}x"
        say(f"Local workspace on {workspace.base_url}; bot on port {server.port}; {pace}.")
        say(f"This demo records into its own database, {shown_url(database_url)}.")
        command = f"start {scenario_id} oncall=<@U1|alice> secondary=<@U2|bob>"
        say(f"carol> /sce {command}")
        result = people.slash("UFAC", "/sce", command, channel=CHANNEL)
        say(f"  (only carol sees) {result.get('text')}")
        if not str(result.get("text") or "").startswith("Starting"):
            raise SystemExit(f"The game day did not start: {result.get('text')}")
        try:
            kickoff = people.wait_for_message(CHANNEL, r"\[GAME DAY\]", timeout=10)
        except TimeoutError:
            told = " ".join(e.get("text") or "" for e in people.ephemerals("UFAC"))
            raise SystemExit(f"The game day did not start: {told}") from None
        thread_ts = kickoff["ts"]
        origin = float(thread_ts)
        responders = Responders(people, clock, CHANNEL, thread_ts, script, ROLES)
        responders.start()
        if forward:
            forward.cues = responders.next_due_at
        hold = forward.hold if forward else lambda: None
        record = _follow(services.store, people, responders, thread_ts, origin, say, timeout, hold)
        # people by name, asked of the workspace with users.info as `sce serve` does
        debrief = named(
            services.engine.debrief_from(record, services.store.events(record.id)), services.announcer.names
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        files = []
        for fmt in FORMATS:
            path = out_dir / f"{record.id}.{fmt}"
            path.write_text(render_debrief(debrief, fmt), encoding="utf-8")
            files.append(path)
        say("")
        m = debrief.metrics
        say(
            f"Verdict: {debrief.verdict}. MTTA {format_duration(m.mtta_seconds)}, "
            f"TTD {format_duration(m.ttd_seconds)}, TTC {format_duration(m.ttc_seconds)}."
        )
        for page in debrief.pages:
            who = USERS.get(page.acknowledged_by or "", "nobody")
            say(f"  page {page.id}: TTA {format_duration(page.tta_seconds)} by {who}")
        say(f"Debrief written to {', '.join(str(f) for f in files)}")
        say("This demo kept its own database (`sce serve` never sees it). To show this debrief again:")
        say(f"sce debrief {record.id} --demo")
        performed = [(p.who, p.what, p.at - origin) for p in responders.performed]
        return DemoResult(debrief, files, performed, database_url)
    except BaseException as exc:  # Ctrl-C, SIGTERM (made one by `sce demo`) or the demo's own failure
        if responders:
            responders.stop()
        _end_unfinished(services, say, database_url, interrupted=isinstance(exc, KeyboardInterrupt))
        raise
    finally:
        if responders:
            responders.stop()
        if forward:
            forward.stop()
        _close_the_door(workspace)
        services.stop()
        server.stop()
        workspace.stop()
        people.close()


def _close_the_door(workspace: LocalWorkspace) -> None:
    """No more deliveries to the bot, and those under way answered (briefly), before its server stops:
    a request cut off mid-answer is a traceback on the demo's screen."""
    workspace.request_url = None
    deadline = time.monotonic() + END_GRACE
    while time.monotonic() < deadline:
        _, queued, answered = workspace.activity()
        if queued == answered:
            return
        time.sleep(0.01)


def _end_unfinished(
    services: Services, say: Callable[[str], None], database_url: str, interrupted: bool
) -> None:
    """Abort this demo's game day if it still runs, wait (briefly) for the abort's posts, say so."""
    why = "the demo was interrupted" if interrupted else "the demo stopped early"
    records = services.store.all()
    running = [r.id for r in records if not Status(r.status).is_over]
    for gameday_id in running:
        services.engine.abort(gameday_id, ROLES["facilitator"], why)
    deadline = time.monotonic() + END_GRACE
    while any(services.store.unfinished_timers(i) for i in running) and time.monotonic() < deadline:
        time.sleep(0.05)
    where = f"the demo's own database ({shown_url(database_url)}), which `sce serve` never sees"
    what = "Interrupted" if interrupted else "Stopped early"
    if running:
        ended = ", ".join(running)
        say(f"{what}: the demo's game day {ended} was aborted, with no timer left to run, in {where}.")
    elif records:
        last = records[-1].id
        say(f"{what}: the demo's game day {last} had already ended; nothing of it runs on ({where}).")
    elif interrupted:  # a demo that failed to start says why itself
        say(f"{what} before the demo's game day started; nothing of it runs on.")


def _follow(
    store: SqlStore,
    people: WorkspaceClient,
    responders: Responders,
    thread_ts: str,
    origin: float,
    say: Callable[[str], None],
    timeout: float,
    on_over: Callable[[], None],
) -> GameDayRecord:
    """Print the thread as it grows until the game day is over (``on_over`` told then); return its
    record."""
    gameday_id = None
    shown: set[str] = set()
    acted = 0
    over_since: float | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        gameday_id = gameday_id or store.find_by_thread(CHANNEL, thread_ts)
        record = store.get(gameday_id) if gameday_id else None
        finished = False
        if record is not None and record.status in ("completed", "aborted", "failed"):
            # the end is posted by its own timer just after: wait for the debrief files (not for ever)
            if over_since is None:
                over_since = time.monotonic()
                on_over()
            uploaded = [f for f in people.files(CHANNEL) if record.id in str(f.get("name") or "")]
            finished = (
                len(uploaded) >= 2 or record.status == "failed" or time.monotonic() - over_since > POST_GRACE
            )
        # printed after the check, so the debrief message (posted before its files) is shown too
        for message in people.messages(CHANNEL, thread_ts=thread_ts):
            if message["ts"] in shown:
                continue
            shown.add(message["ts"])
            who = "sce" if message.get("bot_id") else USERS.get(message.get("user", ""), "?")
            first = _plain(message.get("text") or "").strip().splitlines()[0] if message.get("text") else ""
            files = [str(f.get("name") or f.get("title") or "a file") for f in message.get("files") or []]
            first = first or (f"(shared {', '.join(files)})" if files else "(a message with no text)")
            say(f"+{format_duration(float(message['ts']) - origin):>8} {who}> {first}")
        for done in responders.performed[acted:]:
            if not done.what.startswith("replies"):
                say(f"+{format_duration(done.at - origin):>8} {USERS.get(done.who, done.who)} {done.what}")
            acted += 1
        if finished and record is not None:
            return record
        time.sleep(0.05)
    raise SystemExit(f"The demo game day did not finish within {timeout:g}s of real time.")

"""`sce demo`: the real bot against the local workspace, on a compressed clock, start to debrief."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.debrief.render import render_debrief
from bot.gameday.catalog import ScenarioCatalog, UnknownScenario
from bot.gameday.clock import ScaledClock
from bot.gameday.durations import format_duration
from bot.gameday.ports import GameDayRecord
from bot.gameday.report import Debrief
from bot.gameday.scenario_file import ScenarioError
from bot.server import HttpServer
from bot.service import build_services
from bot.slack.app import create_app, slack_over_http
from bot.workspace.client import WorkspaceClient
from bot.workspace.responders import SCRIPTS, Responders, load_script
from bot.workspace.server import LocalWorkspace
from storage.sql_store import SqlStore

DEMO_SPEED = 40.0
CHANNEL = "C1"
USERS = {"U1": "alice", "U2": "bob", "UFAC": "carol"}
ROLES = {"primary": "U1", "secondary": "U2", "facilitator": "UFAC"}
SIGNING_SECRET = "demo-signing-secret"
STARTER_PACK = Path(__file__).resolve().parents[1] / "defaults" / "scenarios"  # the repo's scenarios/
POST_GRACE = 30.0  # seconds of real time the end's posts may take after the game day is over


@dataclass
class DemoResult:
    debrief: Debrief
    files: list[Path]
    performed: list[tuple[str, str, float]]


def _plain(text: str) -> str:
    text = re.sub(r"<@(U[A-Z0-9]+)(?:\|[^<>]*)?>", lambda m: "@" + USERS.get(m[1], m[1]), text)
    return re.sub(r"[*`]", "", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def run_demo(
    scenario_id: str = "pager-stress",
    settings: Settings | None = None,
    speed: float = DEMO_SPEED,
    out_dir: Path = Path("debriefs"),
    say: Callable[[str], None] = print,
    timeout: float = 90.0,
) -> DemoResult:
    """Run one scripted game day and write its debrief (Markdown and JSON) into ``out_dir``."""
    logging.getLogger("slack_bolt").setLevel(logging.ERROR)
    base = settings or Settings.from_env()
    clock = ScaledClock(speed)
    script = load_script(scenario_id)
    if script is None:
        known = ", ".join(sorted(p.stem for p in SCRIPTS.glob("*.yaml")))
        raise SystemExit(f"No responder script for {scenario_id}; the demo knows: {known}")
    scenarios_dir = base.scenarios_dir
    if settings is None and not os.environ.get("SCE_SCENARIOS_DIR") and not scenarios_dir.is_dir():
        scenarios_dir = STARTER_PACK  # run from another folder: the scenarios that come with sce
    try:
        guardrails = ScenarioCatalog(scenarios_dir).load(scenario_id).scenario.guardrails
    except (UnknownScenario, ScenarioError) as exc:
        raise SystemExit(str(exc)) from None
    namespaces = frozenset(guardrails.namespaces)
    timeout = max(timeout, guardrails.max_duration / speed + 30)  # its time box ends it at the latest
    workspace = LocalWorkspace(
        signing_secret=SIGNING_SECRET, clock=clock.now, users=USERS, channels={CHANNEL: "gameday"}
    ).start()
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=workspace.api_url,
        database_url=base.database_url,
        scenarios_dir=scenarios_dir,
        allowed_namespaces=base.allowed_namespaces | namespaces,  # every fault is simulated here
    )
    services = build_services(settings, clock, simulate_faults=True)  # the demo never touches a cluster
    server = HttpServer(slack_over_http(create_app(services), services), "127.0.0.1", 0)
    server.start()
    workspace.request_url = f"http://127.0.0.1:{server.port}/slack/events"
    services.timers.start()
    people = WorkspaceClient(workspace.base_url)
    responders: Responders | None = None
    try:
        say(f"Local workspace on {workspace.base_url}; bot on port {server.port}; time runs {speed:g}x.")
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
        record = _follow(services.store, people, responders, thread_ts, origin, say, timeout)
        debrief = services.engine.debrief_from(record, services.store.events(record.id))
        out_dir.mkdir(parents=True, exist_ok=True)
        files = []
        for fmt in ("md", "json"):
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
        performed = [(p.who, p.what, p.at - origin) for p in responders.performed]
        return DemoResult(debrief, files, performed)
    finally:
        if responders:
            responders.stop()
        services.stop()
        server.stop()
        workspace.stop()
        people.close()


def _follow(
    store: SqlStore,
    people: WorkspaceClient,
    responders: Responders,
    thread_ts: str,
    origin: float,
    say: Callable[[str], None],
    timeout: float,
) -> GameDayRecord:
    """Print the thread as it grows until the game day is over; return its record."""
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
            over_since = over_since or time.monotonic()
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
            first = _plain(message.get("text") or "").splitlines()[0] if message.get("text") else ""
            say(f"+{format_duration(float(message['ts']) - origin):>8} {who}> {first}")
        for done in responders.performed[acted:]:
            if not done.what.startswith("replies"):
                say(f"+{format_duration(done.at - origin):>8} {USERS.get(done.who, done.who)} {done.what}")
            acted += 1
        if finished and record is not None:
            return record
        time.sleep(0.05)
    raise SystemExit(f"The demo game day did not finish within {timeout:g}s of real time.")

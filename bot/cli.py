"""`sce`: the command line. Wiring only; every decision lives in bot/gameday."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path

import typer

from bot.config import Settings, scenario_folder

# plain help (no rich panels): typer's rich help shows the type of every flag, `--help <bool>` included
cli = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"sce {version('sce')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("sce (not installed: no version recorded; `pip install .` records one)")
        raise typer.Exit()


@cli.callback()
def _sce(
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Security game days run from Slack."""


@cli.command()
def serve() -> None:
    """Run the bot in Slack.

    Socket Mode when SLACK_APP_TOKEN is set, else HTTP on $PORT (/slack/events, /healthz).
    """
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.doctor import check_before_serving
    from bot.runtime.calendar_feed import services_calendar
    from bot.runtime.halt_route import halt_app
    from bot.runtime.hook_routes import services_hooks
    from bot.runtime.logs import configure_logging
    from bot.runtime.loop_metrics import watch_loop
    from bot.runtime.observability import database_ready, store_snapshot, watch
    from bot.runtime.process import prepare_for_traffic
    from bot.runtime.report_page import services_report
    from bot.runtime.server import HttpServer, socket_mode_handler
    from bot.runtime.service import build_services
    from bot.slack.app import create_app, slack_over_http
    from bot.slack.debrief_pages import debrief_pages
    from storage.finding_store import loop_rows

    settings = Settings.from_env()
    secrets = [
        settings.slack_bot_token,
        settings.slack_app_token,
        settings.slack_signing_secret,
        settings.alert_webhook_secret,
        settings.pagerduty_routing_key,
        settings.pagerduty_api_token,
        settings.calendar_token,
        settings.tickets_webhook_secret,
        settings.report_token,
        settings.halt_token,
    ]
    configure_logging(json=settings.log_format == "json", secrets=secrets)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    missing = settings.missing_for_slack()
    if missing:
        typer.echo(
            f"sce serve needs {', '.join(missing)} in the environment (see README: Configuration).", err=True
        )
        raise typer.Exit(2)
    if not check_before_serving(settings, lambda line: typer.echo(line, err=True)):
        raise typer.Exit(2)  # a misconfiguration is one sentence now, not every user's error later
    services = build_services(settings)
    app = create_app(services)
    prepare_for_traffic()
    services.timers.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    hooks = services_hooks(services)  # alert webhooks; ticket webhooks with SCE_TICKETS_WEBHOOK_SECRET
    watch(lambda: store_snapshot(services.store))
    watch_loop(lambda now: loop_rows(services.store.engine, now))
    ready = lambda: database_ready(services.store.engine)  # noqa: E731
    pages = debrief_pages(services)
    server = HttpServer(
        slack_over_http(app, services),
        "0.0.0.0",
        settings.port,
        hooks=hooks,
        ready=ready,
        debriefs=pages,
        calendar=services_calendar(services),  # 404 unless SCE_CALENDAR_TOKEN is set; Socket Mode too
        report=services_report(services),  # 404 unless SCE_REPORT_TOKEN is set; Socket Mode too
        halt=halt_app(settings.halt_token, services.halt),  # 404 unless SCE_HALT_TOKEN is set
    )
    try:
        if settings.socket_mode:
            assert settings.slack_app_token
            server.start()  # health checks and alert webhooks only: Slack payloads come over the socket
            typer.echo(f"sce: Socket Mode; HTTP on port {server.port} (GET /healthz, POST /hooks/...)")
            try:
                socket_mode_handler(app, settings.slack_app_token).start()
            except (SlackApiError, SlackClientError, OSError) as exc:  # Slack went away after the checks
                typer.echo(f"sce: Socket Mode could not connect to Slack ({_why(exc)}); stopping.", err=True)
                raise typer.Exit(2) from None
            return
        typer.echo(
            f"sce: listening on port {server.port} (POST /slack/events, GET /healthz, POST /hooks/...)"
        )
        server.serve_forever()
    finally:  # SIGTERM: what Slack already has our 200 for is written before the process goes
        services.stop()


@cli.command()
def doctor() -> None:
    """Check the install: Slack, the database, the cluster, PagerDuty.

    One line per check (ok, warn or FAIL, and a sentence); exits 1 when any check fails. sce serve runs
    the same checks before it listens, and does not start when one fails.
    """
    from bot.doctor import report

    if not report(Settings.from_env(), typer.echo):
        raise typer.Exit(1)


def _why(exc: Exception) -> str:
    """What went wrong, in a few words and without a traceback."""
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        return f"Slack answered {exc.response.get('error')}"
    return str(getattr(exc, "reason", None) or exc) or type(exc).__name__


@cli.command()
def demo(
    scenario: str = typer.Argument(
        "pager-stress", metavar="SCENARIO", help="A scenario id, as sce list shows"
    ),
    out: Path = typer.Option(Path("debriefs"), metavar="FOLDER", help="Where the debrief files go"),
    speed: float = typer.Option(40.0, metavar="TIMES", help="How many times faster than real time it runs"),
    fast: bool = typer.Option(
        False, "--fast", help="Jump to the next thing due whenever nothing is happening (ignores --speed)"
    ),
) -> None:
    """Rehearse a scenario locally, with scripted responders.

    The game day is recorded in a database of the demo's own, never in the one sce serve uses; the
    debrief is written as Markdown, JSON and HTML. A scenario without a responder script of its own
    is played by default responders.
    """
    from bot.workspace.demo import run_demo

    if speed <= 0:
        typer.echo("--speed must be above 0 (40 runs a 12-minute drill in about 20 seconds).", err=True)
        raise typer.Exit(2)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a stopped demo ends its game day too
    try:
        run_demo(scenario, out_dir=out, speed=speed, fast=fast)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@cli.command()
def validate(
    path: Path = typer.Argument(
        None,
        metavar="PATH",
        show_default=False,
        help="A scenario file or folder (default: the scenarios sce list shows)",
    ),
) -> None:
    """Check scenario files for every problem.

    Each problem is reported as file:line: field: what is wrong.
    """
    from bot.faults.attack_pod import DEFAULT_IMAGE
    from bot.gameday.policy.enforcing import policy_refusals
    from bot.gameday.scenario.attachments import with_attachments
    from bot.gameday.scenario.guardrails import ceiling_refusals, deployment_refusals, image_refusals
    from bot.gameday.scenario.loading import ScenarioError, load_scenario_file, scenario_files
    from bot.gameday.scenario.suggestions import did_you_mean

    target = path or scenario_folder()
    if not target.exists():
        nearby = {p.stem: p.name for p in target.parent.iterdir()} if target.parent.is_dir() else {}
        typer.echo(f"{target}: no such file or folder.{did_you_mean(target.stem, nearby)}", err=True)
        raise typer.Exit(1)
    files = scenario_files(target) if target.is_dir() else [target]
    if not files:
        typer.echo(f"{target}: no scenario files (*.yaml) found", err=True)
        raise typer.Exit(1)
    failed = 0
    settings = Settings.from_env()
    allowed = settings.allowed_namespaces
    secrets = settings.scenario_secrets
    unchecked_references = False
    for file in files:
        for credential in _inline_credentials(file):  # warnings: the exit status stays as it is
            typer.echo(str(credential), err=True)
        try:
            loaded = with_attachments(load_scenario_file(file), file.parent)
        except ScenarioError as exc:
            failed += 1
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
            continue
        refusals = deployment_refusals(loaded.scenario, allowed) if allowed else []
        refusals += image_refusals(loaded.scenario, settings.allowed_attack_images)
        refusals += ceiling_refusals(loaded.scenario, settings.max_ttl)
        refusals += policy_refusals(loaded.scenario, settings.policy, settings.probe_image or DEFAULT_IMAGE)
        references = _unlisted_references(file, secrets)
        refusals += references if secrets else []
        unchecked_references = unchecked_references or bool(references and not secrets)
        for refusal in refusals:
            typer.echo(refusal if refusal.startswith(f"{file}:") else f"{file}: {refusal}", err=True)
        failed += bool(refusals)
        if not refusals:
            typer.echo(f"ok   {file} ({loaded.scenario.title})")
    if not allowed:
        typer.echo(
            "note: SCE_ALLOWED_NAMESPACES is not set, so cluster faults were checked against each "
            "scenario's own guardrails.namespaces only (a deployment without it refuses them at start)"
        )
    if unchecked_references:
        typer.echo(
            "note: SCE_SCENARIO_SECRETS is not set, so the ${env:NAME} references above were not "
            "checked (a deployment without it refuses every one of them when the call is made)"
        )
    if failed:
        raise typer.Exit(1)


@cli.command()
def preflight(
    scenario: str = typer.Argument(..., metavar="SCENARIO", help="A scenario id (as sce list shows) or file"),
) -> None:
    """Check what /sce start checks before a game day starts.

    One line per check; exit 1 when one fails.

    The scenario's steady state against SCE_PROMETHEUS_URL (every probe returns data, within its
    tolerance), and with a cluster configured, that the bot may make every call its faults and their
    undoing need (a SelfSubjectAccessReview each).
    """
    from bot.faults.access import permission_checks
    from bot.gameday.preflight import http_status, passed
    from bot.gameday.preflight import preflight as run_checks
    from bot.gameday.scenario.catalog import ScenarioCatalog, UnknownScenario
    from bot.gameday.scenario.loading import ScenarioError
    from bot.integrations.http_caller import RequestsCaller
    from bot.integrations.log_sources.readable import log_source_checks
    from bot.integrations.prometheus import Prometheus
    from bot.runtime.service import fault_drivers

    settings = Settings.from_env()
    try:
        loaded = ScenarioCatalog(scenario_folder()).load_id_or_path(scenario)
    except UnknownScenario as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except ScenarioError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    query = Prometheus(settings.prometheus_url).query if settings.prometheus_url else None
    asked = http_status(RequestsCaller(referable=settings.scenario_secrets))
    drivers = fault_drivers(settings)
    faults = [step.fault.type for step in loaded.scenario.steps if step.fault is not None]
    changes_nothing = loaded.scenario.guardrails.dry_run or drivers.changes_nothing(faults)
    checks = run_checks(loaded.scenario, query, asked, changes_nothing) + permission_checks(
        loaded.scenario, drivers
    )
    checks += log_source_checks(loaded.scenario, drivers.cluster, settings.loki_url, changes_nothing)
    for check in checks:
        typer.echo(check.line())
    if not checks:
        typer.echo(f"ok   {loaded.scenario.id}: it declares nothing to check before it starts (steady_state)")
    if not passed(checks):
        raise typer.Exit(1)


@cli.command("run")
def run_unattended(
    scenario: str = typer.Argument(..., metavar="SCENARIO", help="A scenario id (as sce list shows) or file"),
    junit: Path | None = typer.Option(None, "--junit", metavar="FILE", help="Write the debrief as JUnit XML"),
    json_file: Path | None = typer.Option(None, "--json", metavar="FILE", help="Write the debrief as JSON"),
    dry_run: bool = typer.Option(False, "--dry-run", help="A dry run: nothing applied or changed"),
    channel: str | None = typer.Option(
        None,
        "--channel",
        envvar="SCE_RUN_CHANNEL",
        metavar="CHANNEL",
        help="With SLACK_BOT_TOKEN: the channel id for the thread and the summary",
    ),
) -> None:
    """Run a game day unattended, for CI or a CronJob: start to debrief.

    Only what needs no person is judged (detection by an alert, containment by a control, control
    efficacy, steady state). Exit 0 validated, 1 falsified, 2 inconclusive or aborted, 3 invalid scenario
    or configuration. Progress on stderr, the verdict line on stdout.
    """
    from bot.runtime.unattended import RunOptions, run_scenario

    options = RunOptions(dry_run=dry_run, channel=channel, junit=junit, json=json_file)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a stopped run aborts its game day
    try:
        err = lambda line: typer.echo(line, err=True)  # noqa: E731
        status = run_scenario(scenario, options, err, lambda text: typer.echo(text, nl=False))
    finally:
        signal.signal(signal.SIGTERM, previous)
    raise typer.Exit(status)


def _unlisted_references(file: Path, secrets: frozenset[str]) -> list[str]:
    from bot.gameday.scenario.inline_credentials import unlisted_references

    text = _scenario_text(file)
    return unlisted_references(text, str(file), secrets) if text is not None else []


def _inline_credentials(file: Path) -> list[object]:
    from bot.gameday.scenario.inline_credentials import inline_credentials

    text = _scenario_text(file)
    return list(inline_credentials(text, str(file))) if text is not None else []


def _scenario_text(file: Path) -> str | None:
    """The file's text when it is a regular file within the scenario limits; None and the validation
    proper says why (a FIFO or /dev/zero is never read, an alias bomb never composed)."""
    import yaml

    from bot.gameday.scenario.file_reading import UnsafeFile, read_regular_file
    from bot.gameday.scenario.limits import FILE_LIMITS, LimitExceeded, check_structure

    try:
        text = read_regular_file(file, FILE_LIMITS.max_bytes).decode("utf-8")
        check_structure(text, FILE_LIMITS)
    except (UnsafeFile, UnicodeDecodeError, LimitExceeded, yaml.YAMLError):
        return None
    return text


@cli.command()
def new(
    scenario_id: str = typer.Argument(..., metavar="ID", help="The new scenario's id (lowercase, digits, -)"),
    title: str | None = typer.Option(None, help="Its title (default: from the id)"),
) -> None:
    """Write a new scenario file, every field commented.

    It goes to SCE_SCENARIOS_DIR (default: ./scenarios) as ID.yaml, charter included.
    """
    from bot.gameday.scenario.charter_template import NewScenarioError, write_new_scenario

    try:
        # into the team's folder, never into the starter pack that comes with sce
        path = write_new_scenario(
            Path(os.environ.get("SCE_SCENARIOS_DIR") or "scenarios"), scenario_id, title
        )
    except NewScenarioError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Wrote {path}: fill in the TODOs, then run `sce validate {path}`.")


@cli.command("list")
def list_scenarios() -> None:
    """List the scenarios sce demo and sce validate see.

    They are in SCE_SCENARIOS_DIR, else in ./scenarios when it exists, else the starter pack.
    """
    from bot.gameday.scenario.catalog import ScenarioCatalog

    loaded, errors = ScenarioCatalog(scenario_folder()).load_all()
    for item in loaded:
        s = item.scenario
        typer.echo(f"{s.id:24} {s.mode:9} {s.title}")
    for error in errors:
        typer.echo(str(error), err=True)


SUFFIX_FORMATS = {".md": "md", ".markdown": "md", ".json": "json", ".html": "html", ".htm": "html"}
SUFFIX_FORMATS[".xml"] = "junit"


@cli.command()
def debrief(
    gameday: str = typer.Argument("latest", metavar="ID", help="A game day id, or latest"),
    format: str | None = typer.Option(
        None,
        "--format",
        "-f",
        metavar="FORMAT",
        help="md (the default), json, html, junit or navigator (an ATT&CK Navigator layer)",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="FILE",
        help="Write it to FILE; without --format, its suffix says which (.md .json .html .xml)",
    ),
    bundle: Path | None = typer.Option(
        None,
        "--bundle",
        metavar="ZIP",
        help="Write an evidence zip (scenario, hash, approvals, timeline, every format)",
    ),
    demo: bool = typer.Option(False, "--demo", help="Look in the demos' databases instead"),
) -> None:
    """Print or write a game day's debrief (the latest one by default)."""
    from bot.debrief.bundle import write_bundle
    from bot.debrief.render import FORMATS, render_debrief
    from bot.gameday.findings.joining import LoopJoiner
    from bot.gameday.measuring.report import with_names
    from bot.gameday.running.engine import build_debrief_for
    from bot.runtime.recorded import NotRecorded, find_gameday
    from bot.slack.people import named, names_from_token
    from bot.workspace.demo import USERS as DEMO_USERS
    from storage.audit_store import entries as audit_entries
    from storage.finding_store import FindingStore

    if format is not None and format not in FORMATS:
        typer.echo(f"--format must be one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    if output is not None and format is None:
        format = SUFFIX_FORMATS.get(output.suffix.lower())
        if format is None:
            typer.echo(
                f"--output {output}: give --format ({', '.join(FORMATS)}), or end the file name "
                "in .md, .json, .html or .xml (JUnit).",
                err=True,
            )
            raise typer.Exit(2)
    if output is not None and not output.parent.is_dir():
        typer.echo(f"--output {output}: the folder {output.parent} does not exist.", err=True)
        raise typer.Exit(2)
    try:
        store, record = find_gameday(Settings.from_env(), gameday, demo)
    except NotRecorded as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    report = build_debrief_for(record, store.events(record.id))
    report = LoopJoiner(FindingStore(store.engine), time.time)(record, report)  # as the debrief posted
    if demo:  # the demo's people are the local workspace's, never asked of the real one
        report = with_names(report, DEMO_USERS)
    else:  # people by name when the bot's token is here to ask Slack
        settings = Settings.from_env()
        report = named(report, names_from_token(settings.slack_bot_token, settings.slack_api_url))
    if bundle is not None:
        ledger = [entry.line() for entry in audit_entries(store.engine, record.id)]
        write_bundle(report, record.scenario_text, bundle, ledger)
        typer.echo(f"Evidence bundle for {record.id} written to {bundle}", err=True)
    if output is not None:
        output.write_text(render_debrief(report, format or "md"), encoding="utf-8")
        typer.echo(f"Debrief of {record.id} written to {output} ({format}).", err=True)
    elif format is not None or bundle is None:
        typer.echo(render_debrief(report, format or "md"), nl=False)


@cli.command()
def history(
    scenario: str = typer.Argument(..., metavar="SCENARIO", help="A scenario id"),
    format: str = typer.Option(
        "text", "--format", "-f", metavar="FORMAT", help="text (the default), json or svg"
    ),
    demo: bool = typer.Option(False, "--demo", help="The demos' runs instead"),
    latest: int = typer.Option(
        20, "--latest", min=0, metavar="N", help="The newest N runs in text and svg (0: every run)"
    ),
) -> None:
    """MTTA, TTD and TTC of a scenario, run after run.

    Each run shows the change from the run before; the medians cover every run, JSON lists every run.
    """
    from bot.debrief.history import HISTORY_FORMATS, render_history
    from bot.gameday.measuring.trends import history as history_rows
    from bot.runtime.recorded import NotRecorded, finished_runs, scenario_loop

    if format not in HISTORY_FORMATS:
        typer.echo(f"--format must be one of {', '.join(HISTORY_FORMATS)}", err=True)
        raise typer.Exit(2)
    try:
        rows = history_rows(finished_runs(Settings.from_env(), scenario, demo))
    except NotRecorded as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    loop = scenario_loop(Settings.from_env(), scenario, time.time(), demo)
    typer.echo(render_history(scenario, rows, format, latest, loop), nl=False)


from bot.findings_cli import findings as findings_cli  # noqa: E402  (after the commands above, in --help)

cli.add_typer(findings_cli, name="findings")

from bot.audit_cli import audit as audit_cli  # noqa: E402

cli.add_typer(audit_cli, name="audit", help="The audit ledger: export it, or check that nothing was changed.")


@cli.command()
def calendar(
    channel: str | None = typer.Option(
        None, "--channel", metavar="CHANNEL", help="Only the bookings of this channel id (C123...)"
    ),
) -> None:
    """Every booked game day as an iCalendar file (RFC 5545) on stdout.

    Repeating bookings carry their RRULE; import it into a calendar, or subscribe to GET /calendar.ics
    of sce serve (with SCE_CALENDAR_TOKEN).
    """
    import re

    from bot.debrief.calendar_file import calendar_for
    from bot.gameday.scenario.catalog import ScenarioCatalog
    from bot.runtime.service import open_store
    from storage.schedule_store import ScheduleStore

    if channel is not None and not re.fullmatch(r"[CG][A-Z0-9]{1,30}", channel):
        typer.echo("--channel takes a channel id such as C0123ABCD (its details in Slack show it).", err=True)
        raise typer.Exit(2)
    settings = Settings.from_env()
    bookings = ScheduleStore(open_store(settings).engine).active()
    text = calendar_for(bookings, ScenarioCatalog(settings.scenarios_dir), time.time(), channel)
    sys.stdout.buffer.write(text)
    sys.stdout.flush()


@cli.command()
def report(
    since: str = typer.Option("90d", "--since", metavar="WINDOW", help="How far back: 90d (default), 12w"),
    format: str = typer.Option("md", "--format", "-f", metavar="FORMAT", help="md, html, json or navigator"),
    decay: int = typer.Option(
        90, "--decay", min=1, max=3650, metavar="DAYS", help="A technique verified longer ago is decayed"
    ),
    repeat: int = typer.Option(
        90, "--repeat", min=1, max=3650, metavar="DAYS", help="A scenario not run for longer is overdue"
    ),
    output: Path | None = typer.Option(None, "--output", "-o", metavar="FILE", help="Write here, not stdout"),
) -> None:
    """The programme report: trends, ATT&CK coverage and findings.

    Game days per quarter, MTTA/TTD/MTTC trends, ATT&CK coverage, findings, learning-loop speed and
    scenarios overdue for a repeat (--format navigator: an ATT&CK Navigator layer)."""
    from bot.debrief.programme import REPORT_FORMATS, render_report
    from bot.gameday.programme.compute import BadSince, parse_since
    from bot.runtime.programme import build_programme_report

    if format not in REPORT_FORMATS:
        typer.echo(f"--format must be one of {', '.join(REPORT_FORMATS)}", err=True)
        raise typer.Exit(2)
    try:
        since_days = parse_since(since)
    except BadSince as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    built = build_programme_report(Settings.from_env(), time.time(), since_days, decay, repeat)
    text = render_report(built, format)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"Programme report written to {output} ({format}).", err=True)
    else:
        typer.echo(text, nl=False)


def main() -> None:
    from bot.config import SettingError

    try:
        cli()
    except SettingError as exc:  # a setting that cannot be read is one sentence, not a traceback
        typer.echo(f"sce: {exc}", err=True)
        raise SystemExit(2) from None

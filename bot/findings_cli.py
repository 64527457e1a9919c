"""`sce findings`: list, show, fix and accept the findings recorded in DATABASE_URL. Wiring only: the
rules are in bot/gameday/findings. A bad id or state is one sentence and exit 2."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from bot.config import Settings
from bot.gameday.findings.model import BadFindingId, FindingState, parse_finding_id

if TYPE_CHECKING:
    from storage.finding_store import FindingStore

CLI_USER = "cli"
"""Who a change made on the command line is recorded as (the CLI knows no Slack user)."""
STATES = ", ".join(s.value for s in FindingState)

findings = typer.Typer(
    add_completion=False, rich_markup_mode=None, invoke_without_command=True, no_args_is_help=False
)


def _store() -> FindingStore:
    from bot.runtime.service import open_store
    from storage.finding_store import FindingStore

    return FindingStore(open_store(Settings.from_env()).engine)


def _fail(sentence: str, code: int = 2) -> typer.Exit:
    typer.echo(sentence, err=True)
    return typer.Exit(code)


def _number(typed: str) -> int:
    try:
        return parse_finding_id(typed)
    except BadFindingId as exc:
        raise _fail(str(exc)) from None


@findings.callback()
def list_findings(
    ctx: typer.Context,
    state: str | None = typer.Option(None, "--state", metavar="STATE", help=f"Only these: {STATES}"),
    scenario: str | None = typer.Option(None, "--scenario", metavar="SCENARIO", help="Only this scenario's"),
    format: str = typer.Option("table", "--format", "-f", metavar="FORMAT", help="table, json or csv"),
) -> None:
    """Gaps, action items and missed expectations of finished game days.

    Without a subcommand, a list (oldest first); sce findings show F-12 shows one.
    """
    if ctx.invoked_subcommand is not None:
        return
    from bot.debrief.findings import FINDINGS_FORMATS, render_findings
    from bot.gameday.findings.recording import FindingFilter

    if format not in FINDINGS_FORMATS:
        raise _fail(f"--format must be one of {', '.join(FINDINGS_FORMATS)}.")
    wanted = None
    if state is not None:
        try:
            wanted = FindingState(state.strip().lower())
        except ValueError:
            raise _fail(f"--state {state!r} is not a finding state; the states are {STATES}.") from None
    listed = _store().list(FindingFilter(state=wanted, scenario=scenario), time_now())
    typer.echo(render_findings(listed, format), nl=False)


@findings.command()
def show(finding: str = typer.Argument(..., metavar="F-<n>", help="A finding id, e.g. F-12")) -> None:
    """Everything about one finding: its notes, and how long it took to be fixed and verified."""
    from bot.debrief.findings import render_finding
    from bot.gameday.findings.transitions import as_of

    number = _number(finding)
    found = _store().get(number)
    if found is None:
        raise _fail(f"There is no finding F-{number}.", 1)
    typer.echo(render_finding(as_of(found, time_now())), nl=False)


@findings.command()
def fix(
    finding: str = typer.Argument(..., metavar="F-<n>", help="A finding id, e.g. F-12"),
    note: list[str] = typer.Argument(None, metavar="[NOTE]", help="What was done"),
) -> None:
    """Mark an open (or fixing) finding fixed, with a note of what was done."""
    _change(finding, FindingState.FIXED, note=" ".join(note or []))


@findings.command()
def accept(
    finding: str = typer.Argument(..., metavar="F-<n>", help="A finding id, e.g. F-12"),
    reason: str = typer.Option(..., "--reason", metavar="TEXT", help="Why the risk is accepted"),
    until: str = typer.Option(..., "--until", metavar="YYYY-MM-DD", help="When it opens again (UTC)"),
) -> None:
    """Accept an open (or fixing) finding's risk until a day at most a year ahead."""
    try:
        day = datetime.strptime(until.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise _fail(f"--until {until!r} is not a day; write it as YYYY-MM-DD, e.g. 2027-03-01.") from None
    _change(finding, FindingState.ACCEPTED_RISK, reason=reason, until=day.timestamp())


def _change(
    typed: str, to: FindingState, note: str = "", reason: str = "", until: float | None = None
) -> None:
    from bot.gameday.findings.recording import FindingChanged, NoSuchFinding, Refused, change_finding

    number = _number(typed)
    try:
        changed = change_finding(_store(), number, to, time_now(), CLI_USER, note, reason, until)
    except NoSuchFinding:
        raise _fail(f"There is no finding F-{number}.", 1) from None
    except (Refused, FindingChanged) as exc:
        raise _fail(str(exc), 1) from None
    typer.echo(f"{changed.id} is {changed.state} now.")


@findings.command()
def ticket(finding: str = typer.Argument(..., metavar="F-<n>", help="A finding id, e.g. F-12")) -> None:
    """Open the finding's ticket in the tracker SCE_TICKETS names (once: a second time names the first)."""
    from bot.gameday.findings.recording import NoSuchFinding
    from bot.integrations.tickets.base import TicketError
    from bot.integrations.tickets.desk import AlreadyTicketed, open_ticket, tracker_from

    number = _number(finding)
    try:
        tracker = tracker_from(Settings.from_env())
        opened = open_ticket(_store(), tracker, number)
    except NoSuchFinding:
        raise _fail(f"There is no finding F-{number}.", 1) from None
    except (AlreadyTicketed, TicketError) as exc:
        raise _fail(str(exc), 1) from None
    typer.echo(f"F-{number}: {opened.url}")


@findings.command()
def sync() -> None:
    """Ask the tracker about every open finding's ticket; a closed (done) one moves the finding to fixed."""
    from bot.integrations.tickets.base import TicketError
    from bot.integrations.tickets.desk import sync_tickets, tracker_from

    try:
        tracker = tracker_from(Settings.from_env())
    except TicketError as exc:
        raise _fail(str(exc), 1) from None
    result = sync_tickets(_store(), tracker, time_now)
    for sentence in result.failures:
        typer.echo(sentence, err=True)
    fixed = ", ".join(result.fixed) or "none"
    typer.echo(f"Fixed by their tickets: {fixed}; still open: {result.still_open}.")
    if result.failures:
        raise typer.Exit(1)


def time_now() -> float:
    """The wall clock: findings are stamped with the time people act on them."""
    import time

    return time.time()

"""`sce audit export` and `sce audit verify [FILE]`: the audit ledger (bot/gameday/audit/chain.py) as
JSON Lines, and its check. Wiring only. A broken chain is one sentence naming the first bad line, exit 1;
a file that cannot be read is one sentence, exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

audit = typer.Typer(add_completion=False, rich_markup_mode=None, no_args_is_help=True)
MAX_LINE_CHARS = 1_000_000  # an entry is a few hundred characters; a longer line is no entry of ours


def _engine() -> Engine:
    from bot.runtime.service import open_store

    return open_store(Settings.from_env()).engine


@audit.command()
def export(
    gameday: str | None = typer.Option(None, "--gameday", metavar="ID", help="Only this game day's entries"),
) -> None:
    """Every entry, oldest first, one JSON object a line, each with its hash and the previous entry's."""
    from storage.audit_store import entries

    found = 0
    for entry in entries(_engine(), gameday):
        typer.echo(entry.line())
        found += 1
    if gameday is not None and not found:  # a mistyped id must not pass for a game day that did nothing
        typer.echo(
            f"No audit entry names game day `{gameday[:64]}`; `sce history <scenario>` lists the runs' ids.",
            err=True,
        )
        raise typer.Exit(1)


@audit.command()
def verify(
    file: Path | None = typer.Argument(
        None, metavar="[FILE]", help="An exported file; omitted: the database"
    ),
    segment: bool = typer.Option(
        False, "--segment", help="FILE holds some entries only (an evidence bundle's audit.jsonl)"
    ),
) -> None:
    """Check that no entry was edited, removed or reordered; prints the head hash to compare with one
    written down before (entries cut off the end leave an older head)."""
    from bot.gameday.audit.chain import BrokenChain, verify_lines
    from storage.audit_store import verify_stored

    try:
        if file is None:
            result = verify_stored(_engine())
        else:
            result = verify_lines(_read_lines(file), segment=segment)
    except BrokenChain as exc:
        where = file if file is not None else "the database"
        typer.echo(f"{where}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{result.entries} entries hold; head {result.head}")


def _read_lines(file: Path) -> list[str]:
    try:
        with file.open(encoding="utf-8") as handle:
            lines: list[str] = []
            for line in handle:
                if len(line) > MAX_LINE_CHARS:
                    typer.echo(f"{file}: line {len(lines) + 1} is too long to be an audit entry.", err=True)
                    raise typer.Exit(1)
                lines.append(line)
            return lines
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        typer.echo(f"{file}: cannot be read ({reason}).", err=True)
        raise typer.Exit(2) from None

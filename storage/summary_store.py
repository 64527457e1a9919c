"""What `sce history` shows of each finished game day, stored beside its timeline (``gameday_summary``).

A summary keeps the number of events it was computed from: when the timeline has grown since (a note
accepted after the end), the summary is stale and is handed back as None, to be computed again. So is a
row written before migration 0009, whose programme-report columns (``detected``, ``dry_run``) are NULL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, func
from sqlalchemy import select as select_columns
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.tables import EventRow, GameDayRow, RunSummaryRow

FINISHED = ("completed", "aborted", "failed")
EVENTS: Table = EventRow.__table__  # type: ignore[attr-defined]
GAMEDAYS: Table = GameDayRow.__table__  # type: ignore[attr-defined]
SUMMARIES: Table = RunSummaryRow.__table__  # type: ignore[attr-defined]
# a summary's fields, a column each; ``detected`` (technique ids an alert detected in time) and
# ``dry_run`` are the programme report's, NULL in a row written before 0009 (so: stale)
KEPT = ("started_at", "verdict", "mtta", "ttd", "ttc", "detected", "dry_run")
NEEDED = ("detected", "dry_run")


def run_summaries(
    reader: Engine, scenario_id: str | None, channel: str | None = None
) -> list[tuple[str, dict[str, Any] | None]]:
    """(game day id, its summary or None when missing or stale) for every finished run of a scenario (of
    every scenario with None), in one query. A summary also names its ``scenario`` and the game day's
    ``created_at`` (read from the game day, not kept)."""
    where: list[ColumnElement[bool]] = [GAMEDAYS.c.status.in_(FINISHED)]
    if scenario_id is not None:
        where.append(GAMEDAYS.c.scenario_id == scenario_id)
    if channel is not None:
        where.append(GAMEDAYS.c.channel == channel)
    # each run's timeline length from the (gameday_id, seq) index; its game day from ix_gameday_history
    length = select_columns(func.count()).where(EVENTS.c.gameday_id == GAMEDAYS.c.id).scalar_subquery()
    query = (
        select_columns(
            GAMEDAYS.c.id,
            GAMEDAYS.c.scenario_id,
            GAMEDAYS.c.created_at,
            length.label("length"),
            *(SUMMARIES.c[c] for c in ("events", *KEPT)),
        )
        .select_from(GAMEDAYS.outerjoin(SUMMARIES, SUMMARIES.c.gameday_id == GAMEDAYS.c.id))
        .where(*where)
    )
    with reader.connect() as connection:
        rows = connection.execute(query).all()
    found: list[tuple[str, dict[str, Any] | None]] = []
    for gameday_id, scenario, created_at, length, events, *kept in rows:
        if not length:
            continue
        summary = dict(zip(KEPT, kept, strict=True))
        fresh = events == length and all(summary[c] is not None for c in NEEDED)
        summary.update(gameday_id=gameday_id, scenario=scenario, created_at=created_at)
        found.append((gameday_id, summary if fresh else None))
    return found


def save_run_summaries(engine: Engine, summaries: Mapping[str, tuple[int, dict[str, Any]]]) -> None:
    """Write (or replace) summaries: game day id -> (timeline length computed from, summary)."""
    if not summaries:
        return
    rows = [
        {"gameday_id": gd, "events": length, **{c: data.get(c) for c in KEPT}}
        for gd, (length, data) in summaries.items()
    ]
    insert = sqlite_insert if engine.dialect.name == "sqlite" else postgresql_insert
    statement = insert(SUMMARIES)
    statement = statement.on_conflict_do_update(
        index_elements=["gameday_id"],
        set_={c: statement.excluded[c] for c in ("events", *KEPT)},
    )
    with engine.begin() as connection:
        connection.execute(statement, rows)

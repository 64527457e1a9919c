"""What `sce serve`'s regression runs ask the database: has an unattended run of a scenario started since
a fix, and the claim that makes one replica (of several sharing the database) start the run owed.

The claim is a row of the ``schedule`` table with an id made from the scenario and the fix's time, and a
state of its own (``regression``) that no booking query looks at: inserting it is the claim, so of two
replicas only one inserts it; the other finds it there. It keeps the run's game day id once started.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, Table, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.gameday.measuring.unattended import ACTOR, ID_PREFIX
from storage.tables import GameDayRow, ScheduleRow

GAMEDAYS: Table = GameDayRow.__table__  # type: ignore[attr-defined]
SCHEDULES: Table = ScheduleRow.__table__  # type: ignore[attr-defined]
CLAIMED = "regression"  # a schedule row's state no booking query lists (they list active ones)


def claim_id(scenario_id: str, since: float) -> str:
    """The claim's id: one per scenario and fix time, 32 characters as the schedule ids are at most."""
    return "reg-" + hashlib.sha256(f"{scenario_id}\n{since!r}".encode()).hexdigest()[:28]


class RegressionLedger:
    def __init__(self, engine: Engine):
        self.engine = engine

    def ran_since(self, scenario_id: str, since: float) -> bool:
        """Whether an unattended run of the scenario (not a dry run) was started at or after ``since``."""
        g = GAMEDAYS.c
        query = (
            select(g.id)
            .where(
                g.scenario_id == scenario_id,
                g.id.like(f"{ID_PREFIX}%"),
                g.created_at >= since,
                g.dry_run.is_(False),
            )
            .limit(1)
        )
        with self.engine.connect() as connection:
            return connection.execute(query).first() is not None

    def claim(self, scenario_id: str, since: float, channel: str, now: float) -> bool:
        """Claim the run owed for the fix at ``since``; False when another replica (or an earlier pass)
        has it already."""
        insert = sqlite_insert if self.engine.dialect.name == "sqlite" else postgresql_insert
        values = {
            "id": claim_id(scenario_id, since),
            "scenario_id": scenario_id,
            "channel": channel,
            "created_by": ACTOR,
            "options": {},
            "next_at": since,
            "state": CLAIMED,
            "claimed_at": now,
            "created_at": now,
            "reminders_sent": 0,
        }
        statement = insert(SCHEDULES).values(**values).on_conflict_do_nothing(index_elements=["id"])
        with self.engine.begin() as connection:
            return bool(connection.execute(statement).rowcount)

    def started(self, scenario_id: str, since: float, gameday_id: str) -> None:
        """The run the claim started (kept for the record)."""
        c = SCHEDULES.c
        statement = (
            update(SCHEDULES).where(c.id == claim_id(scenario_id, since)).values(last_gameday_id=gameday_id)
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

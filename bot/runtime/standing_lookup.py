"""Which standing approval lets `sce run` start a scenario that needs approval, read from DATABASE_URL.

Looked up before anything starts: a SQLite file that does not exist yet holds no approval, and is not
created for the question (a refused run leaves nothing behind). The hash is the one the game day would
record: of the text the run starts, attachments read in.
"""

from __future__ import annotations

from bot.gameday.running.standing import StandingApproval, current, run_refusal
from bot.gameday.scenario.loading import LoadedScenario
from bot.gameday.scenario.model import content_hash
from storage.database import make_engine, migrate, sqlite_file
from storage.standing_store import StandingStore


class NoStandingApproval(Exception):
    """No standing approval holds for this file now; the message is the sentence (exit 3)."""


def standing_for(store: StandingStore | None, loaded: LoadedScenario, now: float) -> StandingApproval:
    """The standing approval that holds for ``loaded``'s exact text at ``now``; NoStandingApproval."""
    scenario_id = loaded.scenario.id
    approvals = store.of_scenario(scenario_id) if store is not None else []
    digest = content_hash(loaded.text)
    found = current(approvals, digest, now)
    if found is None:
        raise NoStandingApproval(run_refusal(scenario_id, approvals, digest, now))
    return found


def standing_from_database(database_url: str, loaded: LoadedScenario, now: float) -> StandingApproval:
    """``standing_for`` against the database at ``database_url`` (opened for the question only)."""
    file = sqlite_file(database_url)
    if file is not None and not file.exists():
        return standing_for(None, loaded, now)
    engine = make_engine(database_url)
    try:
        migrate(engine)
        return standing_for(StandingStore(engine), loaded, now)
    finally:
        engine.dispose()

"""Game days already recorded, looked up for `sce debrief` and `sce history`: in the database of
DATABASE_URL (the one `sce serve` uses) or, with ``demo``, in the demos' own databases.

Whatever is not found is one sentence that names where it was looked for (passwords hidden).
"""

from __future__ import annotations

from collections.abc import Iterator

from bot.config import Settings, demo_databases, demo_folder, scenario_folder
from bot.gameday.findings.loop import learning_loop
from bot.gameday.findings.recording import FindingFilter
from bot.gameday.measuring.report_models import LearningLoopReport
from bot.gameday.measuring.run_summary import RunSummary
from bot.gameday.measuring.trends import finished_summaries
from bot.gameday.ports import GameDayRecord
from bot.gameday.scenario.catalog import ScenarioCatalog
from bot.gameday.scenario.suggestions import did_you_mean
from bot.runtime.service import open_store
from storage.database import shown_url
from storage.finding_store import FindingStore
from storage.sql_store import SqlStore


class NotRecorded(LookupError):
    """Nothing recorded by that name; the message says where sce looked."""


def _store(url: str) -> SqlStore:
    return open_store(Settings(database_url=url))


def _demo_stores() -> Iterator[SqlStore]:
    for path in demo_databases():
        yield _store(f"sqlite:///{path}")


def find_gameday(settings: Settings, gameday: str, demo: bool = False) -> tuple[SqlStore, GameDayRecord]:
    """The store and record of ``gameday`` (an id, or ``latest``: the most recent one)."""
    if demo:
        for store in _demo_stores():
            record = store.latest() if gameday == "latest" else store.get(gameday)
            if record is not None:
                return store, record
        where = f"the demos' databases ({demo_folder()})"
        if gameday == "latest":
            raise NotRecorded(f"No demo has recorded a game day in {where} yet; run `sce demo`.")
        raise NotRecorded(f"There is no game day `{gameday}` in {where}.")
    store = open_store(settings)
    record = store.latest() if gameday == "latest" else store.get(gameday)
    if record is not None:
        return store, record
    where = shown_url(settings.database_url)
    if gameday == "latest":
        raise NotRecorded(
            f"No game day is recorded in {where} yet (DATABASE_URL chooses another); "
            "a demo keeps its own: `sce debrief latest --demo`."
        )
    demo_hint = " It is a demo's: add --demo." if _in_a_demo(gameday) else ""
    raise NotRecorded(f"There is no game day `{gameday}` in {where}.{demo_hint}")


def _in_a_demo(gameday: str) -> bool:
    return any(store.get(gameday) is not None for store in _demo_stores())


def finished_runs(settings: Settings, scenario_id: str, demo: bool = False) -> list[RunSummary]:
    """What the history shows of every finished run of a scenario; NotRecorded when there is none."""
    stores = list(_demo_stores()) if demo else [open_store(settings)]
    runs = [run for store in stores for run in finished_summaries(store, scenario_id)]
    if runs:
        return runs
    where = f"the demos' databases ({demo_folder()})" if demo else shown_url(settings.database_url)
    known = {record.scenario_id for store in stores for record in store.all()}
    known |= set(ScenarioCatalog(scenario_folder()).ids())
    hint = did_you_mean(scenario_id, known - {scenario_id})
    rehearse = "" if hint else f" Run one (or rehearse it: `sce demo {scenario_id}`, then add --demo)."
    raise NotRecorded(f"No finished game day of `{scenario_id}` in {where}.{hint}{rehearse}")


def scenario_loop(settings: Settings, scenario_id: str, now: float, demo: bool = False) -> LearningLoopReport:
    """The learning loop of a scenario's findings, in the same databases `finished_runs` reads."""
    stores = list(_demo_stores()) if demo else [open_store(settings)]
    findings = [
        finding
        for store in stores
        for finding in FindingStore(store.engine).list(FindingFilter(scenario=scenario_id), now)
    ]
    return learning_loop(scenario_id, "", findings)

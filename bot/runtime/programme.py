"""The programme report's facts read from sce's database and scenario folder (`sce report`, `GET /report`):
every finished game day's kept summary (its timings and the techniques an alert detected in time, computed
once from its debrief and kept in ``gameday_summary``), the findings, the active bookings and the catalog's
scenarios with the techniques they name."""

from __future__ import annotations

from sqlalchemy import select

from bot.config import Settings
from bot.gameday.findings.model import FindingState
from bot.gameday.measuring.trends import kept_summaries
from bot.gameday.ports import GameDayStore
from bot.gameday.programme.compute import programme_report
from bot.gameday.programme.model import FindingFacts, ProgrammeReport, RunFacts
from bot.gameday.scenario.catalog import ScenarioCatalog
from bot.runtime.service import open_store
from storage.finding_store import C
from storage.schedule_store import ScheduleStore
from storage.sql_store import SqlStore


def run_facts(store: GameDayStore) -> list[RunFacts]:
    """Finished game days (dry runs left out: they page nobody, so they verify nothing), from their kept
    summaries; the few without a current one have their debrief built once and their summary kept."""
    facts = []
    for kept in kept_summaries(store, None):
        if kept["dry_run"]:
            continue
        started_at = kept["started_at"]
        facts.append(
            RunFacts(
                gameday_id=kept["gameday_id"],
                scenario=kept["scenario"],
                started_at=started_at if started_at is not None else kept["created_at"],
                mtta=kept["mtta"],
                ttd=kept["ttd"],
                ttc=kept["ttc"],
                detected_in_time=tuple(kept["detected"]),
            )
        )
    return facts


def catalog_techniques(catalog: ScenarioCatalog) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each valid scenario of the folder with the techniques it names, and its title (a broken file is
    left out)."""
    loaded, _ = catalog.load_all()
    techniques = {item.scenario.id: list(item.scenario.attack) for item in loaded}
    return techniques, {item.scenario.id: item.scenario.title for item in loaded}


def finding_facts(store: SqlStore, now: float) -> list[FindingFacts]:
    """Every finding as it stands at ``now``, six columns each, in one query in id order (the primary
    key: no sort). An acceptance that ran out is open, as ``transitions.as_of`` says of a Finding."""
    columns = (C.scenario_id, C.state, C.created_at, C.fixed_at, C.verified_at, C.accepted_until, C.channel)
    with store.reader.connect() as connection:
        rows = connection.execute(select(*columns).order_by(C.id)).all()
    facts = []
    for scenario, state, created_at, fixed_at, verified_at, accepted_until, channel in rows:
        shown = FindingState(state)
        if shown is FindingState.ACCEPTED_RISK and (accepted_until or 0.0) <= now:
            shown = FindingState.OPEN
        facts.append(FindingFacts(scenario, shown, created_at, fixed_at, verified_at, channel))
    return facts


def report_from(
    store: SqlStore,
    catalog: ScenarioCatalog,
    now: float,
    since_days: float,
    decay_days: int,
    repeat_days: int,
) -> ProgrammeReport:
    """The report from an open store: one query for the summaries, one for the findings (in id order,
    the primary key), one for the bookings."""
    findings = finding_facts(store, now)
    booked = {s.scenario_id for s in ScheduleStore(store.engine).active()}
    techniques, titles = catalog_techniques(catalog)
    return programme_report(
        run_facts(store), findings, techniques, booked, now, since_days, decay_days, repeat_days, titles
    )


def build_programme_report(
    settings: Settings, now: float, since_days: float, decay_days: int, repeat_days: int
) -> ProgrammeReport:
    store = open_store(settings)
    try:
        return report_from(
            store, ScenarioCatalog(settings.scenarios_dir), now, since_days, decay_days, repeat_days
        )
    finally:  # a caller building it again (the bench) opens no more connections each time
        for engine in {store.engine, store.reader}:
            engine.dispose()

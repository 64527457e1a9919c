"""The programme report's facts read from sce's database and scenario folder (`sce report`): every
finished game day's debrief (its timings and the techniques an alert detected in time), the findings,
the active bookings and the catalog's scenarios with the techniques they name."""

from __future__ import annotations

from bot.config import Settings
from bot.gameday.findings.recording import FindingFilter
from bot.gameday.ports import GameDayStore
from bot.gameday.programme.compute import programme_report
from bot.gameday.programme.model import ProgrammeReport, RunFacts
from bot.gameday.running.engine import build_debrief_for
from bot.gameday.running.outbound import sends
from bot.gameday.scenario.catalog import ScenarioCatalog
from bot.runtime.service import open_store
from storage.finding_store import FindingStore
from storage.schedule_store import ScheduleStore
from storage.summary_store import FINISHED

IN_TIME = "in_time"


def run_facts(store: GameDayStore) -> list[RunFacts]:
    """Finished game days (dry runs left out: they page nobody, so they verify nothing)."""
    facts = []
    for record in store.all():
        if record.status not in FINISHED or not sends(record):
            continue
        debrief = build_debrief_for(record, store.events(record.id))
        m = debrief.metrics
        facts.append(
            RunFacts(
                gameday_id=record.id,
                scenario=record.scenario_id,
                started_at=debrief.started_at if debrief.started_at is not None else record.created_at,
                mtta=m.mtta_seconds,
                ttd=m.ttd_seconds,
                ttc=m.ttc_seconds,
                detected_in_time=tuple(t.id for t in debrief.coverage.techniques if t.status == IN_TIME),
            )
        )
    return facts


def catalog_techniques(catalog: ScenarioCatalog) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each valid scenario of the folder with the techniques it names, and its title (a broken file is
    left out)."""
    loaded, _ = catalog.load_all()
    techniques = {item.scenario.id: list(item.scenario.attack) for item in loaded}
    return techniques, {item.scenario.id: item.scenario.title for item in loaded}


def build_programme_report(
    settings: Settings, now: float, since_days: float, decay_days: int, repeat_days: int
) -> ProgrammeReport:
    store = open_store(settings)
    findings = FindingStore(store.engine).list(FindingFilter(), now)
    booked = {s.scenario_id for s in ScheduleStore(store.engine).active()}
    techniques, titles = catalog_techniques(ScenarioCatalog(settings.scenarios_dir))
    return programme_report(
        run_facts(store), findings, techniques, booked, now, since_days, decay_days, repeat_days, titles
    )

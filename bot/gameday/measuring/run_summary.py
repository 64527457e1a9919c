"""What is kept of one finished game day (``gameday_summary``): `sce history`'s figures and the programme
report's facts, made from its debrief. Apart from the trends, so the end of a game day can keep it
(bot/gameday/running/finishing.py) without importing the engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bot.gameday.measuring.evidence import TechniqueStatus
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import GameDayRecord


@dataclass(frozen=True)
class RunSummary:
    """What the history shows of one finished run, stored so that it is not computed again."""

    gameday_id: str
    started_at: float | None
    verdict: str
    mtta: float | None
    ttd: float | None
    ttc: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSummary:
        return cls(
            str(data["gameday_id"]),
            data.get("started_at"),
            str(data.get("verdict", "")),
            data.get("mtta"),
            data.get("ttd"),
            data.get("ttc"),
        )


def summary_of(d: Debrief) -> RunSummary:
    m = d.metrics
    return RunSummary(d.id, d.started_at, d.verdict, m.mtta_seconds, m.ttd_seconds, m.ttc_seconds)


def detected_in_time(d: Debrief) -> list[str]:
    """The techniques an alert detected within ``detect_within`` (the debrief's coverage, ``in_time``)."""
    return [t.id for t in d.coverage.techniques if t.status == TechniqueStatus.IN_TIME]


def kept_summary(record: GameDayRecord, d: Debrief) -> dict[str, Any]:
    """What is kept of a finished run: the history's summary and the programme report's facts (the
    techniques detected in time, whether it was a dry run), with the run's scenario and creation."""
    return {
        **summary_of(d).to_json(),
        "detected": detected_in_time(d),
        "dry_run": record.dry_run,
        "scenario": record.scenario_id,
        "created_at": record.created_at,
    }

"""`sce history` reads a stored summary per finished run instead of rebuilding every debrief: the
figures are the ones the debriefs give, a run without a summary gets one, and a summary computed from
a shorter timeline than the run has now (a note after the end) is computed again."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from databases import STORES, make_store

from bot.debrief.history import render_history
from bot.gameday.measuring.trends import finished_summaries, history
from bot.gameday.ports import GameDayRecord, GameDayStore
from bot.gameday.scenario.durations import format_duration
from bot.gameday.scenario.model import content_hash
from bot.gameday.timeline import Kind

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "scenarios" / "pager-stress.yaml").read_text()
T0 = 1_800_000_000.0


def run(store: GameDayStore, gameday_id: str, start: float, ack_after: float | None, **where: str) -> None:
    """A pager-stress run with one page, acknowledged ``ack_after`` seconds after it (or never)."""
    record = GameDayRecord(
        gameday_id,
        where.get("scenario", "pager-stress"),
        TEXT,
        content_hash(TEXT),
        where.get("channel", "C1"),
        "UFAC",
        {"primary": "U1", "secondary": "U2"},
        start,
        thread_ts=f"{start:.6f}",
    )
    store.create(record)
    with store.transaction(gameday_id) as tx:
        tx.append(
            Kind.STARTED,
            start,
            "UFAC",
            {"scenario": record.scenario_id, "scenario_hash": record.scenario_hash, "roster": record.roster},
        )
        page = {"page_id": "p0", "step": 0, "responder": "U1", "severity": "SEV-2", "summary": "drill"}
        tx.append(Kind.PAGE_SENT, start + 60, None, {**page, "message_ts": f"{start + 60:.6f}"})
        if ack_after is not None:
            tx.append(Kind.ACKNOWLEDGED, start + 60 + ack_after, "U1", {"page_id": "p0"})
        if where.get("status") != "running":
            tx.append(Kind.ENDED, start + 900, None, {"status": "completed", "reason": "ended by <@UFAC>"})
            tx.record.status = "completed"


@pytest.mark.parametrize("kind", STORES)
def test_history_is_what_the_debriefs_say_and_its_summaries_are_kept_and_renewed(
    kind: str, tmp_path: Path
) -> None:
    store = make_store(kind, tmp_path)
    delays = {"gd-a": 40.0, "gd-b": 25.0, "gd-c": None, "gd-d": 70.0}
    for n, (gameday_id, delay) in enumerate(delays.items()):
        run(store, gameday_id, T0 + n * 3600, delay)
    run(store, "gd-running", T0 + 9 * 3600, 5.0, status="running")
    run(store, "gd-other", T0 + 10 * 3600, 5.0, scenario="honey-token")
    run(store, "gd-elsewhere", T0 + 11 * 3600, 90.0, channel="C2")

    assert {gd for gd, kept in store.run_summaries("pager-stress")} == {*delays, "gd-elsewhere"}
    assert all(kept is None for _, kept in store.run_summaries("pager-stress"))  # none computed yet
    rows = history(finished_summaries(store, "pager-stress", channel="C1"))
    # MTTA of a one-page run is its acknowledgement delay; the change is against the run before
    assert [r.gameday_id for r in rows] == list(delays)
    assert [r.mtta for r in rows] == list(delays.values())
    assert [r.mtta_change for r in rows] == [None, 25.0 - 40.0, None, None]

    kept = dict(store.run_summaries("pager-stress", channel="C1"))
    assert set(kept) == set(delays) and all(kept.values())  # kept for next time
    assert history(finished_summaries(store, "pager-stress", channel="C1")) == rows

    # a kept summary is what history shows (nothing is rebuilt) ...
    kept_b = kept["gd-b"]
    assert kept_b is not None and kept_b["mtta"] == 25.0
    store.save_run_summaries({"gd-b": (len(store.events("gd-b")), {**kept_b, "mtta": 1.0})})
    assert [r.mtta for r in history(finished_summaries(store, "pager-stress", "C1"))][1] == 1.0
    # ... until the timeline grows past what it was computed from: a note after the end
    with store.transaction("gd-b") as tx:
        tx.append(Kind.NOTE, T0 + 3600 + 1000, "U1", {"kind": "gap", "text": "late note", "step": 0})
    assert [r.mtta for r in history(finished_summaries(store, "pager-stress", "C1"))] == list(delays.values())
    everywhere = history(finished_summaries(store, "pager-stress"))
    assert [r.gameday_id for r in everywhere] == [*delays, "gd-elsewhere"]


@pytest.mark.parametrize("kind", STORES)
def test_the_text_shows_the_newest_runs_and_medians_over_every_run_json_lists_them_all(
    kind: str, tmp_path: Path
) -> None:
    store = make_store(kind, tmp_path)
    delays = [float(10 + (n * 7) % 23) for n in range(25)]  # 25 runs, acknowledged after 10-32 s
    for n, delay in enumerate(delays):
        run(store, f"gd-{n:02d}", T0 + n * 3600, delay)
    rows = history(finished_summaries(store, "pager-stress"))

    text = render_history("pager-stress", rows, "text", latest=20)
    listed = [line for line in text.splitlines() if line.startswith("• ")]
    assert [line.split("`")[1] for line in listed] == [f"gd-{n:02d}" for n in range(5, 25)]
    ordered = sorted(delays)
    median = (ordered[11] + ordered[12]) / 2 if len(ordered) % 2 == 0 else ordered[len(ordered) // 2]
    assert f"Medians over all 25: MTTA {format_duration(median)}," in text
    assert "5 earlier run(s) not shown" in text
    assert "Medians" not in render_history("pager-stress", rows, "text", latest=0)
    assert len(render_history("pager-stress", rows, "text", latest=0).splitlines()) == 26
    assert len(json.loads(render_history("pager-stress", rows, "json"))["runs"]) == 25
    svg = ET.fromstring(render_history("pager-stress", rows, "svg", latest=20))
    mtta = svg.find("{http://www.w3.org/2000/svg}polyline")
    assert mtta is not None and len(mtta.get("points", "").split()) == 20


def test_an_upgrade_from_json_summaries_computes_them_again_from_the_timelines(tmp_path: Path) -> None:
    """Migration 0006 makes the summaries typed columns: what 0005 kept is dropped, not misread."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from storage.database import MIGRATIONS, make_engine, migrate
    from storage.sql_store import SqlStore
    from storage.tables import AuditRow

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
    store = SqlStore(engine)
    ledger = AuditRow.__table__  # type: ignore[attr-defined]
    ledger.create(engine)  # the store of today writes its audit entries (0010) with the timeline...
    run(store, "gd-a", T0, 40.0)
    ledger.drop(engine)  # ...and 0010 makes the table again below
    with engine.begin() as connection:  # a summary 0005 kept, with a figure no timeline gives
        connection.execute(
            text("INSERT INTO gameday_summary (gameday_id, events, data) VALUES ('gd-a', 4, :d)"),
            {"d": json.dumps({"gameday_id": "gd-a", "started_at": T0, "verdict": "x", "mtta": 1.0})},
        )
    migrate(engine)
    assert store.run_summaries("pager-stress") == [("gd-a", None)]
    assert [r.mtta for r in history(finished_summaries(store, "pager-stress"))] == [40.0]
    assert dict(store.run_summaries("pager-stress"))["gd-a"] is not None

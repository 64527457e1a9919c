"""Findings in the database (SQLite, and PostgreSQL when SCE_TEST_POSTGRES_URL is set): recorded once
when a game day finishes (a replayed publish adds nothing, a failing store never stops the debrief),
listed by state, scenario, owner and channel, and changed only over the version read, so of two
replicas fixing the same finding at once exactly one wins."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from core_harness import CoreHarness, scenario_text
from databases import POSTGRES_URL, database_url, fresh_postgres_url
from sqlalchemy import Engine
from sqlmodel import SQLModel

from bot.gameday.findings.model import Finding, FindingDraft, FindingKind, FindingState
from bot.gameday.findings.recording import (
    FindingChanged,
    FindingFilter,
    FindingRecorder,
    NoSuchFinding,
    Refused,
    change_finding,
)
from bot.gameday.findings.transitions import move
from bot.gameday.ports import Timer
from bot.gameday.running.timer_types import TimerKind
from storage.database import make_engine, migrate
from storage.finding_store import FindingStore
from storage.sql_store import SqlStore

pytestmark = pytest.mark.postgres
KINDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])
S = FindingState
T = 1_800_000_000.0


@pytest.fixture(params=KINDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    url = (
        fresh_postgres_url(migrated=True) if request.param == "postgres" else database_url("sqlite", tmp_path)
    )
    made = make_engine(url)
    migrate(made)
    return made


def finished_gameday(engine: Engine, channel: str = "C1") -> tuple[CoreHarness, str]:
    """A real pager-stress game day on ``engine``, with findings recorded as it ends."""
    h = CoreHarness(SqlStore(engine))
    h.engine.finishing.after_debrief.append(FindingRecorder(FindingStore(engine), h.clock.now))
    gd = h.engine.start(scenario_text(), channel, "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 60)
    assert h.engine.add_note(gd, "gap", "no step for revoking the token", "U2", h.clock.now(), "d1").ok
    assert h.engine.add_note(gd, "action", "write the revoke runbook", "U1", h.clock.now(), "d2").ok
    h.advance_to(h.clock.now() + 8 * 60)  # past the handoff nobody takes
    assert h.engine.end(gd, "UFAC").ok
    h.posted_debrief()
    return h, gd


def test_a_finished_game_day_records_its_findings_once(engine: Engine) -> None:
    h, gd = finished_gameday(engine)
    store = FindingStore(engine)
    found = store.list(FindingFilter(), T)
    assert [(f.kind, f.state, f.gameday, f.channel, f.owner) for f in found] == [
        (FindingKind.GAP, S.OPEN, gd, "C1", "U2"),
        (FindingKind.ACTION, S.OPEN, gd, "C1", "U1"),
        (FindingKind.MISSED, S.OPEN, gd, "C1", None),
        (FindingKind.MISSED, S.OPEN, gd, "C1", None),
        (FindingKind.MISSED, S.OPEN, gd, "C1", None),
    ]
    numbers = [f.number for f in found]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5
    # the publish again, as after a crash between recording and posting: the same findings, no more
    h.engine.finishing.publish(Timer(-1, gd, f"{gd}:publish", h.clock.now(), TimerKind.PUBLISH))
    assert len(h.announcer.debriefs) == 2  # it did run again
    assert [f.number for f in store.list(FindingFilter(), T)] == numbers
    # and once more, straight: nothing new
    assert store.record([], "C1", T) == []
    again = [
        FindingDraft(gameday=gd, key=f.key, kind=f.kind, scenario=f.scenario, text="other") for f in found
    ]
    assert store.record(again, "C1", T) == []


def test_a_failing_findings_store_never_stops_the_debrief(engine: Engine) -> None:
    h = CoreHarness(SqlStore(engine))

    class Broken(FindingStore):
        def record(self, drafts: object, channel: str, now: float) -> list[Finding]:
            raise ConnectionError("database went away")

    h.engine.finishing.after_debrief.append(FindingRecorder(Broken(engine), h.clock.now))
    h.engine.finishing.after_debrief.append(lambda record, debrief: 1 / 0)  # a hook that raises itself
    gd = h.engine.start(scenario_text(), "C1", "UFAC", {"primary": "U1"}).gameday_id
    assert gd and h.engine.end(gd, "UFAC").ok
    assert h.posted_debrief().id == gd
    assert FindingStore(engine).list(FindingFilter(), T) == []


def draft(gameday: str, key: str, scenario: str = "pager-stress", owner: str | None = None) -> FindingDraft:
    return FindingDraft(
        gameday=gameday, key=key, kind=FindingKind.GAP, scenario=scenario, text=f"text {key}", owner=owner
    )


def seeded(engine: Engine) -> FindingStore:
    """Three findings in C1 (two game days), one in C2; the game days exist, as the foreign key wants."""
    h = CoreHarness(SqlStore(engine))
    # a channel holds one game day at a time; the findings say where each ran
    a, b, c = (h.engine.start(scenario_text(), ch, "UFAC", {"primary": "U1"}).gameday_id for ch in "XYZ")
    assert a and b and c
    store = FindingStore(engine)
    store.record([draft(a, "k1", owner="U1"), draft(a, "k2")], "C1", T)
    store.record([draft(b, "k1", scenario="lateral-movement", owner="U2")], "C1", T + 1)
    store.record([draft(c, "k1", owner="U1")], "C2", T + 2)
    return store


def test_lists_by_state_scenario_owner_and_channel(engine: Engine) -> None:
    store = seeded(engine)
    every = store.list(FindingFilter(), T + 10)
    assert [(f.key, f.channel) for f in every] == [("k1", "C1"), ("k2", "C1"), ("k1", "C1"), ("k1", "C2")]
    assert [f.created_at for f in every] == [T, T, T + 1, T + 2]
    in_c1 = FindingFilter(channels=["C1"])
    assert len(store.list(in_c1, T)) == 3
    assert len(store.list(FindingFilter(channels=["C2", "C3"]), T)) == 1
    assert store.list(FindingFilter(channels=[]), T) == []
    assert [f.owner for f in store.list(FindingFilter(owner="U1"), T)] == ["U1", "U1"]
    assert [f.owner for f in store.list(FindingFilter(owner="U1", channels=["C2"]), T)] == ["U1"]
    assert [f.scenario for f in store.list(FindingFilter(scenario="lateral-movement"), T)] == [
        "lateral-movement"
    ]
    first, second = every[0], every[1]
    change_finding(store, first.number, S.FIXED, T + 20, "U1", "done")
    change_finding(store, second.number, S.ACCEPTED_RISK, T + 20, "U1", reason="legacy", until=T + 100)
    assert [f.number for f in store.list(FindingFilter(state=S.FIXED), T + 30)] == [first.number]
    assert [f.number for f in store.list(FindingFilter(state=S.ACCEPTED_RISK), T + 30)] == [second.number]
    assert second.number not in [f.number for f in store.list(FindingFilter(state=S.OPEN), T + 30)]
    # the acceptance runs out: the same finding is listed open, and as open
    assert store.list(FindingFilter(state=S.ACCEPTED_RISK), T + 100) == []
    reopened = [f for f in store.list(FindingFilter(state=S.OPEN), T + 100) if f.number == second.number]
    assert len(reopened) == 1 and reopened[0].state is S.OPEN
    stored = store.get(first.number)
    assert stored is not None and stored.state is S.FIXED and stored.fixed_at == T + 20
    assert [(n.by, n.state, n.text) for n in stored.notes] == [("U1", S.FIXED, "done")]
    assert stored.version == 2
    for number in (0, -1, 10**6, 2**63 - 1):
        assert store.get(number) is None
    with pytest.raises(NoSuchFinding, match="There is no finding F-1000000 here."):
        change_finding(store, 10**6, S.FIXED, T, "U1")
    # a finding another channel's people may not see is not there for them
    c2 = every[3]
    with pytest.raises(NoSuchFinding):
        change_finding(store, c2.number, S.FIXED, T, "U1", visible=lambda f: f.channel == "C1")
    assert store.get(c2.number).state is S.OPEN  # type: ignore[union-attr]


def test_a_change_over_a_stale_read_is_refused(engine: Engine) -> None:
    store = seeded(engine)
    read = store.list(FindingFilter(), T)[0]
    assert change_finding(store, read.number, S.FIXING, T + 1, "U1").state is S.FIXING
    assert store.replace(read, move(read, S.FIXED, T + 2, "U2")) is False  # read before the change
    assert store.get(read.number).state is S.FIXING  # type: ignore[union-attr]

    class Stale(FindingStore):
        def get(self, number: int) -> Finding | None:
            return read  # what another replica read before the change above

    with pytest.raises(FindingChanged, match=f"F-{read.number} was changed by someone else just now"):
        change_finding(Stale(engine), read.number, S.FIXED, T + 3, "U2")
    assert store.get(read.number).state is S.FIXING  # type: ignore[union-attr]


@pytest.mark.skipif(POSTGRES_URL is None, reason="needs PostgreSQL (.ci/run provides it)")
def test_two_replicas_fixing_the_same_finding_at_once_one_wins() -> None:
    url = fresh_postgres_url(migrated=True)
    engines = [make_engine(url) for _ in range(2)]
    store = seeded(engines[0])
    numbers = [f.number for f in store.list(FindingFilter(), T)]
    start = threading.Barrier(2)  # a barrier is used again once both have passed it
    for number in numbers:  # several rounds: each a race
        outcomes: dict[str, bool] = {}

        def replica(index: int, number: int = number, outcomes: dict[str, bool] = outcomes) -> None:
            mine = FindingStore(engines[index])
            before = mine.get(number)
            assert before is not None
            start.wait()  # both have read version 1
            after = move(before, S.FIXED, T + 5, f"U{index}", f"fixed by replica {index}")
            outcomes[f"U{index}"] = mine.replace(before, after)

        threads = [threading.Thread(target=replica, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        won = [who for who, wrote in outcomes.items() if wrote]
        assert len(outcomes) == 2 and len(won) == 1, outcomes
        stored = store.get(number)
        assert stored is not None and stored.version == 2
        assert [n.by for n in stored.notes] == won
    # a fix that comes after is told, in a sentence
    with pytest.raises(Refused, match="is fixed already"):
        change_finding(FindingStore(engines[1]), numbers[0], S.FIXED, T + 9, "U9")
    for made in engines:
        made.dispose()


def test_the_migration_and_the_model_agree(engine: Engine) -> None:
    """The finding table the migrations make is the one storage/tables.py describes."""

    def ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return getattr(table, "name", None) == "finding"

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": ours})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []
    assert "finding" in SQLModel.metadata.tables  # the filter did not leave nothing to compare

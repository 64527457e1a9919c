"""A thread reply's cost against the length of its game day's timeline (1k, 10k, 100k events).

In this process: one running game day written straight into a migrated SQLite file (``bench.debrief``'s
busy pager-stress timeline, without its end), then `note:` replies applied one at a time through the
engine, each its own transaction, as a reply that arrives alone is. The first reply reads and folds the
whole timeline; the curve is of the replies after it. Baseline: one event row inserted and committed
through the same database engine, the write a reply cannot do without.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from statistics import median
from time import perf_counter

from sqlalchemy import insert

from bench.databases import sqlite_url
from bench.debrief import T0, finished_record, timeline
from bench.results import Curve
from bot.faults.simulated import SimulatedDriver
from bot.gameday.running.engine import Engine
from bot.gameday.running.replies import AddNote
from bot.gameday.timeline import Kind
from bot.runtime.quiet_announcer import QuietAnnouncer
from storage.database import make_engine, migrate
from storage.sql_store import EVENT_TABLE, GAMEDAY_TABLE, SqlStore

GAMEDAY = "gd-replies"


def running_gameday(url: str, size: int, text: str) -> SqlStore:
    """A running game day of ``size`` events, written as rows."""
    database = make_engine(url)
    migrate(database)
    record = replace(finished_record(GAMEDAY, text, T0), status="running")
    events = [e for e in timeline(size + 1, text) if e.kind is not Kind.ENDED][:size]
    with database.begin() as connection:
        connection.execute(
            insert(GAMEDAY_TABLE), [{c.name: getattr(record, c.name) for c in GAMEDAY_TABLE.columns}]
        )
        connection.execute(
            insert(EVENT_TABLE),
            [
                {
                    "gameday_id": GAMEDAY,
                    "seq": e.seq,
                    "kind": e.kind.value,
                    "at": e.at,
                    "actor": e.actor,
                    "data": e.data,
                }
                for e in events
            ],
        )
    return SqlStore(database)


def reply_costs(store: SqlStore, replies: int) -> tuple[float, float]:
    """(the median reply after the first, the median bare insert) in milliseconds."""
    at = T0 + 10**6
    engine = Engine(store, QuietAnnouncer(lambda: at), lambda: at, SimulatedDriver())
    took = []
    for i in range(replies + 1):
        note = engine.reply_input(
            AddNote("update", f"reply {i}"), "U1", at + i, f"bench-{i}", f"{at + i:.6f}"
        )
        start = perf_counter()
        engine.operate_across({GAMEDAY: [note]})
        took.append(perf_counter() - start)
    inserts = []
    last = len(store.events(GAMEDAY))
    for i in range(replies):  # after the replies, at the end of the same timeline
        row = {
            "gameday_id": GAMEDAY,
            "seq": last + i + 1,
            "kind": "note",
            "at": at,
            "actor": "U1",
            "data": {"kind": "update", "text": f"reply {i}", "step": None},
        }
        start = perf_counter()
        with store.engine.begin() as connection:
            connection.execute(insert(EVENT_TABLE), [row])
        inserts.append(perf_counter() - start)
    return median(took[1:]) * 1000, median(inserts) * 1000


def sizes_run(
    run_dir: Path, sizes: tuple[int, ...], replies: int, text: str
) -> tuple[list[float], list[float]]:
    ours, floor = [], []
    for size in sizes:
        store = running_gameday(sqlite_url(run_dir, f"replies-{size}"), size, text)
        try:
            reply, insert_ms = reply_costs(store, replies)
        finally:
            store.engine.dispose()
        ours.append(reply)
        floor.append(insert_ms)
    return ours, floor


def curve(run_dir: Path, sizes: tuple[int, ...], replies: int, text: str) -> Curve:
    ours, floor = sizes_run(run_dir, sizes, replies, text)
    return Curve(
        "reply-by-timeline",
        "A thread reply (note) against its game day's timeline",
        "events in the timeline",
        "ms",
        list(sizes),
        {
            "a note applied by the engine": list(ours),
            "one row inserted and committed": list(floor),
        },
        why="the game day's state is carried on from the last one folded (bot/gameday/folds.py) and its "
        "timeline from the last one read, so a reply folds and reads only what came since; what grows "
        "is copying the lists of the timeline's events and of its pages, in C.",
        baselines=frozenset({"one row inserted and committed"}),
    )

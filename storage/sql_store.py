"""The GameDayStore on SQL (SQLite or PostgreSQL) through sqlmodel.

A transaction on one game day locks its row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite takes
the database write lock at BEGIN IMMEDIATE), so replicas and threads never interleave on one game day.
Timers are claimed with ``FOR UPDATE SKIP LOCKED`` where the database has it.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, Table, and_, bindparam, or_, update
from sqlalchemy import select as select_columns
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.gameday.audit.chain import AUDITED
from bot.gameday.measuring.unattended import ID_PREFIX as UNATTENDED_PREFIX
from bot.gameday.ports import GameDayRecord, StoreUnavailable, Timer, run_after_commit
from bot.gameday.running.timer_types import TimerKind, TimerState
from bot.gameday.timeline import Event, Kind
from storage import audit_store as audit
from storage import summary_store
from storage.database import read_engine
from storage.tables import DeliveryRow, EventRow, GameDayRow, PageMessageRow, TimerRow
from storage.timeline_cache import TimelineCache

log = logging.getLogger(__name__)
OVER = ("completed", "aborted", "failed")
STALE_CLAIM_SECONDS = 10.0


def _record(row: Any) -> GameDayRecord:
    """A game day's record from its row (an ORM object or a plain row of the gameday table)."""
    return GameDayRecord(
        id=row.id,
        scenario_id=row.scenario_id,
        scenario_text=row.scenario_text,
        scenario_hash=row.scenario_hash,
        channel=row.channel,
        started_by=row.started_by,
        roster=dict(row.roster),
        created_at=row.created_at,
        status=row.status,
        thread_ts=row.thread_ts,
        dry_run=row.dry_run,
    )


# SQLModel sets __table__ on table models at class creation:
EVENT_TABLE: Table = EventRow.__table__  # type: ignore[attr-defined]
DELIVERY_TABLE: Table = DeliveryRow.__table__  # type: ignore[attr-defined]
GAMEDAY_TABLE: Table = GameDayRow.__table__  # type: ignore[attr-defined]
TIMERS: Table = TimerRow.__table__  # type: ignore[attr-defined]
EVENTS = EVENT_TABLE.c
CLAIMED = ("id", "gameday_id", "key", "due_at", "kind", "payload", "attempts")  # a Timer's fields


@functools.lru_cache(maxsize=64)  # the inbox batches at most 50 game days
def _events_after_statement(count: int) -> Any:
    """The events after a known prefix for each of ``count`` game days (``:g<i>``, ``:s<i>``): one
    statement per count, built once, so a batch binds values instead of building a condition per game
    day and SQLAlchemy finds its compiled form at once."""
    after = [
        and_(EVENTS.gameday_id == bindparam(f"g{i}"), EVENTS.seq > bindparam(f"s{i}")) for i in range(count)
    ]
    return (
        select_columns(EVENTS.gameday_id, EVENTS.seq, EVENTS.kind, EVENTS.at, EVENTS.actor, EVENTS.data)
        .where(or_(*after))
        .order_by(EVENTS.gameday_id, EVENTS.seq)
    )


def _events_after(session: Session, known: dict[str, tuple[Event, ...]]) -> dict[str, list[Event]]:
    """Each game day's known (committed) prefix and the events after it: one query for all of them."""
    timelines = {gameday_id: list(prefix) for gameday_id, prefix in known.items()}
    values: dict[str, Any] = {}
    for i, (gameday_id, prefix) in enumerate(known.items()):
        values[f"g{i}"], values[f"s{i}"] = gameday_id, len(prefix)
    rows = session.execute(_events_after_statement(len(known)), values)
    for gameday_id, seq, kind, at, actor, data in rows:
        timelines[gameday_id].append(Event(seq, Kind(kind), at, actor, dict(data)))
    return timelines


def _timer(row: TimerRow) -> Timer:
    assert row.id is not None
    return Timer(
        row.id, row.gameday_id, row.key, row.due_at, TimerKind(row.kind), dict(row.payload), row.attempts
    )


def _whose_timers(gameday_id: Any, own: frozenset[str] | None) -> Any:
    """The timers this process fires: its ``own`` game days' only (`sce run`), or with None every game
    day's but the unattended runs' (each run fires its own: ``bot/gameday/measuring/unattended``)."""
    if own is None:
        return gameday_id.not_like(f"{UNATTENDED_PREFIX}%")
    return gameday_id.in_(sorted(own))


def _claim_statement(skip_locked: bool, own: frozenset[str] | None = None) -> Any:
    """Mark the oldest due pending timers firing and return them; ``:now``, ``:claimed_at``, ``:limit``."""
    due = (
        select_columns(TIMERS.c.id)
        .where(
            TIMERS.c.state == TimerState.PENDING,
            TIMERS.c.due_at <= bindparam("now"),
            _whose_timers(TIMERS.c.gameday_id, own),
        )
        .order_by(TIMERS.c.due_at, TIMERS.c.id)
        .limit(bindparam("limit"))
    )
    if skip_locked:  # another replica's claim in flight: its rows are left to it
        due = due.with_for_update(skip_locked=True)
    return (
        TIMERS.update()
        .where(TIMERS.c.id.in_(due.scalar_subquery()))
        .values(state=TimerState.FIRING, attempts=TIMERS.c.attempts + 1, claimed_at=bindparam("claimed_at"))
        .returning(*(TIMERS.c[c] for c in CLAIMED))
    )


def _earlier_posts(gameday_id: str, timer_id: int) -> SelectOfScalar[float]:
    """When the earliest of a game day's posts older than ``timer_id`` still owed is due."""
    owed = [TimerState.PENDING, TimerState.FIRING]
    return (
        select(TimerRow.due_at)
        .where(
            TimerRow.gameday_id == gameday_id,
            TimerRow.kind == TimerKind.POST,
            col(TimerRow.id) < timer_id,
            col(TimerRow.state).in_(owed),
        )
        .order_by(col(TimerRow.due_at))
    )


class SqlTx:
    """One locked unit of work; see GameDayTx."""

    def __init__(self, session: Session, row: Any, events: list[Event]):
        self._session = session
        self.record = _record(row)
        self._saved = (self.record.thread_ts, self.record.status)
        self._events = events
        self._committed = len(self._events)
        self._deliveries: set[str] = set()
        self.after: list[Callable[[], None]] = []

    @property
    def events(self) -> list[Event]:
        return list(self._events)

    def append(
        self, kind: Kind, at: float, actor: str | None = None, data: dict[str, Any] | None = None
    ) -> Event:
        event = Event(len(self._events) + 1, kind, at, actor, dict(data or {}))
        self._events.append(event)  # written in one statement with the others at the end (write_pending)
        return event

    def schedule(
        self, key: str, due_at: float, kind: TimerKind, payload: dict[str, Any] | None = None
    ) -> bool:
        return self._insert_timer(key, due_at, kind, dict(payload or {})) is not None

    def schedule_claimed(
        self, key: str, due_at: float, kind: TimerKind, payload: dict[str, Any] | None = None
    ) -> Timer | None:
        body = dict(payload or {})
        # claimed with the wall clock, as in claim_due_timers: a claim left by a dead process ages
        timer_id = self._insert_timer(key, due_at, kind, body, TimerState.FIRING, 1, time.time())
        return None if timer_id is None else Timer(timer_id, self.record.id, key, due_at, kind, body, 1)

    def _insert_timer(
        self,
        key: str,
        due_at: float,
        kind: TimerKind,
        payload: dict[str, Any],
        state: TimerState = TimerState.PENDING,
        attempts: int = 0,
        claimed_at: float | None = None,
    ) -> int | None:
        """One statement: the new timer's id, or None when its key exists already."""
        values = {
            "gameday_id": self.record.id,
            "key": key,
            "due_at": due_at,
            "kind": kind,
            "payload": payload,
            "state": state,
            "attempts": attempts,
            "claimed_at": claimed_at,
        }
        dialect = self._session.get_bind().dialect.name
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        statement = insert(TIMERS).values(values).on_conflict_do_nothing(index_elements=["key"])
        found = self._session.execute(statement.returning(TIMERS.c.id)).scalar()
        return None if found is None else int(found)

    def earlier_post_due(self, timer_id: int) -> float | None:
        return self._session.exec(_earlier_posts(self.record.id, timer_id)).first()

    def complete_timer(self, timer_id: int) -> None:
        self._session.execute(
            update(TimerRow).where(col(TimerRow.id) == timer_id).values(state=TimerState.DONE)
        )

    def cancel_pending_timers(self) -> None:
        self._session.flush()
        self._session.execute(
            update(TimerRow)
            .where(
                col(TimerRow.gameday_id) == self.record.id,
                col(TimerRow.state).in_([TimerState.PENDING, TimerState.HELD]),
                col(TimerRow.kind) != TimerKind.POST,  # a message committed is delivered
            )
            .values(state=TimerState.CANCELLED)
        )

    def hold_pending_timers(self, kinds: frozenset[TimerKind]) -> None:
        self._session.flush()
        self._session.execute(
            update(TimerRow)
            .where(
                col(TimerRow.gameday_id) == self.record.id,
                col(TimerRow.state) == TimerState.PENDING,
                col(TimerRow.kind).in_(sorted(kinds)),
            )
            .values(state=TimerState.HELD)
        )

    def release_held_timers(self, shift: float) -> list[float]:
        self._session.flush()
        held = self._session.exec(
            select(TimerRow).where(TimerRow.gameday_id == self.record.id, TimerRow.state == TimerState.HELD)
        ).all()
        for row in held:
            row.state = TimerState.PENDING
            row.due_at = row.due_at + shift
            self._session.add(row)
        return [row.due_at for row in held]

    def seen_delivery(self, delivery_id: str) -> bool:
        if delivery_id in self._deliveries:
            return True
        found = self._session.execute(select(DeliveryRow.id).where(DeliveryRow.id == delivery_id)).first()
        return found is not None

    def seen_deliveries(self, delivery_ids: Sequence[str]) -> set[str]:
        seen = {d for d in delivery_ids if d in self._deliveries}
        ask = sorted(set(delivery_ids) - seen)
        for start in range(0, len(ask), 500):  # bounded IN lists
            chunk = ask[start : start + 500]
            seen.update(
                self._session.execute(select(DeliveryRow.id).where(col(DeliveryRow.id).in_(chunk))).scalars()
            )
        return seen

    def record_delivery(self, delivery_id: str) -> None:
        self._deliveries.add(delivery_id)

    def index_message(self, target_id: str, channel: str, message_ts: str) -> None:
        self._session.merge(
            PageMessageRow(
                channel=channel, message_ts=message_ts, gameday_id=self.record.id, target_id=target_id
            )
        )

    def after_commit(self, call: Callable[[], None]) -> None:
        self.after.append(call)

    def save_record(self) -> None:
        if (self.record.thread_ts, self.record.status) != self._saved:
            self._session.execute(
                GAMEDAY_TABLE.update()
                .where(GAMEDAY_TABLE.c.id == self.record.id)
                .values(thread_ts=self.record.thread_ts, status=self.record.status)
            )

    def pending_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The new event rows and delivery rows, to be inserted with other game days' in one statement."""
        events = [
            {"gameday_id": self.record.id, "seq": e.seq, "kind": str(e.kind), "at": e.at}
            | {"actor": e.actor, "data": e.data}
            for e in self._events[self._committed :]
        ]
        deliveries = [{"id": d, "gameday_id": self.record.id} for d in sorted(self._deliveries)]
        return events, deliveries

    @property
    def timeline(self) -> tuple[Event, ...]:
        return tuple(self._events)


def _write_pending(session: Session, txs: list[SqlTx]) -> None:
    events: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for tx in txs:
        tx.save_record()
        new_events, new_deliveries = tx.pending_rows()
        events += new_events
        deliveries += new_deliveries
    if events:
        session.execute(EVENT_TABLE.insert(), events)
        # the audit ledger's entries commit with the events they record (storage/audit_store.py)
        audit.append(session, [_audit_draft(e) for e in events if e["kind"] in AUDITED])
    if deliveries:
        session.execute(DELIVERY_TABLE.insert(), deliveries)


def _audit_draft(event: dict[str, Any]) -> audit.AuditDraft:
    return audit.AuditDraft(event["at"], event["gameday_id"], event["kind"], event["actor"], event["data"])


THREADS_REMEMBERED = 10_000


class SqlStore:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.reader = read_engine(engine)  # SQLite: reads that never wait for the write lock
        self._skip_locked = engine.dialect.name == "postgresql"
        self._claim = _claim_statement(self._skip_locked)  # built once: the poller runs it at every wake
        self._own: frozenset[str] | None = None  # None: every game day's timers but unattended runs'
        # a game day's thread never changes once posted: every reply in it need not ask the database
        self._threads: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._threads_lock = threading.Lock()
        self._timelines = TimelineCache()

    def create(self, record: GameDayRecord) -> None:
        with Session(self.engine) as session, session.begin():
            session.add(
                GameDayRow(
                    id=record.id,
                    scenario_id=record.scenario_id,
                    scenario_text=record.scenario_text,
                    scenario_hash=record.scenario_hash,
                    channel=record.channel,
                    thread_ts=record.thread_ts,
                    started_by=record.started_by,
                    roster=record.roster,
                    created_at=record.created_at,
                    status=record.status,
                    dry_run=record.dry_run,
                )
            )

    @contextmanager
    def transaction(self, gameday_id: str) -> Iterator[SqlTx]:
        with self.transactions([gameday_id]) as txs:
            yield txs[gameday_id]

    @contextmanager
    def transactions(self, gameday_ids: Sequence[str]) -> Iterator[dict[str, SqlTx]]:
        ids = sorted(set(gameday_ids))  # every process locks in the same order: no deadlock
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                rows = session.execute(
                    select_columns(GAMEDAY_TABLE)
                    .where(GAMEDAY_TABLE.c.id.in_(ids))
                    .order_by(GAMEDAY_TABLE.c.id)
                    .with_for_update()
                ).all()
                missing = set(ids) - {row.id for row in rows}
                if missing:
                    raise LookupError(f"no game day {', '.join(sorted(missing))}")
                timelines = _events_after(session, {gd: self._timelines.get(gd) for gd in ids})
                txs = {row.id: SqlTx(session, row, timelines[row.id]) for row in rows}
                yield txs
                _write_pending(session, list(txs.values()))
        except (OperationalError, InterfaceError) as exc:
            reason = str(exc.orig or exc).strip()[:200]
            raise StoreUnavailable(f"the database did not answer ({reason})") from exc
        for gameday_id, tx in txs.items():  # committed: later transactions read only what follows
            self._timelines.put(gameday_id, tx.timeline, tx.record)
            if tx.record.thread_ts and tx.record.thread_ts != tx._saved[0]:  # its kickoff, just recorded
                self._remember_thread((tx.record.channel, tx.record.thread_ts), gameday_id)
        for tx in txs.values():
            run_after_commit(tx.after)

    def get(self, gameday_id: str) -> GameDayRecord | None:
        with Session(self.reader) as session:
            row = session.get(GameDayRow, gameday_id)
            return _record(row) if row else None

    def peek(self, gameday_id: str) -> tuple[GameDayRecord, list[Event]] | None:
        return self._timelines.peek(gameday_id)

    def events(self, gameday_id: str) -> list[Event]:
        with Session(self.reader) as session:
            return _events_after(session, {gameday_id: self._timelines.get(gameday_id)})[gameday_id]

    def find_by_thread(self, channel: str, thread_ts: str) -> str | None:
        key = (channel, thread_ts)
        with self._threads_lock:
            if key in self._threads:
                self._threads.move_to_end(key)
                return self._threads[key]
        query = select(GameDayRow.id).where(GameDayRow.channel == channel, GameDayRow.thread_ts == thread_ts)
        with Session(self.reader) as session:  # a committed game day: no wait for the write lock
            found = session.exec(query).first()
        if found is None:  # the writer: on SQLite it waits for a kickoff still committing (its message
            with Session(self.engine) as session:  # is already out)
                found = session.exec(query).first()
        if found is not None:  # only hits: a thread that is no game day's yet may become one
            self._remember_thread(key, found)
        return found

    def _remember_thread(self, key: tuple[str, str], gameday_id: str) -> None:
        with self._threads_lock:
            self._threads[key] = gameday_id
            self._threads.move_to_end(key)
            while len(self._threads) > THREADS_REMEMBERED:
                self._threads.popitem(last=False)

    def known_thread(self, channel: str, thread_ts: str) -> str | None:
        key = (channel, thread_ts)
        with self._threads_lock:
            found = self._threads.get(key)
            if found is not None:
                self._threads.move_to_end(key)
            return found

    def find_target(self, channel: str, message_ts: str) -> tuple[str, str] | None:
        with Session(self.reader) as session:  # committed: no wait for the write lock
            row = session.get(PageMessageRow, (channel, message_ts))
        if row is None:  # the writer: on SQLite a click on a page just posted waits for its commit
            with Session(self.engine) as session:
                row = session.get(PageMessageRow, (channel, message_ts))
        return (row.gameday_id, row.target_id) if row else None

    def active_in_channel(self, channel: str) -> list[GameDayRecord]:
        with Session(self.reader) as session:
            rows = session.exec(
                select(GameDayRow)
                .where(GameDayRow.channel == channel, col(GameDayRow.status).not_in(OVER))
                .order_by(col(GameDayRow.created_at))
            )
            return [_record(r) for r in rows]

    def active(self) -> list[GameDayRecord]:
        with Session(self.reader) as session:
            rows = session.exec(
                select(GameDayRow)
                .where(col(GameDayRow.status).not_in(OVER))
                .order_by(col(GameDayRow.created_at))
            )
            return [_record(r) for r in rows]

    def latest(self) -> GameDayRecord | None:
        with Session(self.reader) as session:
            row = session.exec(select(GameDayRow).order_by(col(GameDayRow.created_at).desc())).first()
            return _record(row) if row else None

    def all(self) -> list[GameDayRecord]:
        with Session(self.reader) as session:
            return [_record(r) for r in session.exec(select(GameDayRow).order_by(col(GameDayRow.created_at)))]

    def run_summaries(
        self, scenario_id: str | None, channel: str | None = None
    ) -> list[tuple[str, dict[str, Any] | None]]:
        return summary_store.run_summaries(self.reader, scenario_id, channel)

    def save_run_summaries(self, summaries: Mapping[str, tuple[int, dict[str, Any]]]) -> None:
        try:
            summary_store.save_run_summaries(self.engine, summaries)
        except (OperationalError, InterfaceError) as exc:  # a read-only copy, a busy file: next time
            log.warning("history summaries not kept: %s", str(exc.orig or exc).strip()[:200])

    def own_timers(self, gameday_ids: Collection[str]) -> None:
        """From now on claim, look at and take back only these game days' timers (`sce run`: the
        unattended game day it runs, whose timers no other process fires)."""
        self._own = frozenset(gameday_ids)
        self._claim = _claim_statement(self._skip_locked, self._own)

    def claim_due_timers(self, now: float, limit: int = 50) -> list[Timer]:
        """One statement: the due timers, oldest first, marked firing and handed back (UPDATE ...
        RETURNING). On PostgreSQL the rows another replica is claiming at that moment are skipped."""
        values = {"now": now, "claimed_at": time.time(), "limit": limit}  # the wall clock: replicas share it
        with self.engine.begin() as connection:
            rows = connection.execute(self._claim, values).all()
        timers = [Timer(i, g, k, d, TimerKind(kind), dict(p), a) for i, g, k, d, kind, p, a in rows]
        return sorted(timers, key=lambda t: (t.due_at, t.id))  # RETURNING keeps no order

    def release_timer(self, timer_id: int, retry_at: float) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(TimerRow)
                .where(col(TimerRow.id) == timer_id)
                .values(state=TimerState.PENDING, due_at=retry_at)
            )

    def defer_timer(self, timer_id: int, due_at: float) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(TimerRow)
                .where(col(TimerRow.id) == timer_id)
                .values(state=TimerState.PENDING, due_at=due_at, attempts=TimerRow.attempts - 1)
            )

    def earlier_post_due(self, gameday_id: str, timer_id: int) -> float | None:
        with Session(self.reader) as session:
            return session.exec(_earlier_posts(gameday_id, timer_id)).first()

    def unfinished_timers(self, gameday_id: str) -> int:
        """How many of a game day's timers are still to run (pending, held or firing)."""
        waiting = [TimerState.PENDING, TimerState.HELD, TimerState.FIRING]
        with Session(self.reader) as session:
            rows = session.exec(
                select(TimerRow.id).where(TimerRow.gameday_id == gameday_id, col(TimerRow.state).in_(waiting))
            )
            return len(rows.all())

    def next_due_at(self) -> float | None:
        with Session(self.reader) as session:
            return session.exec(
                select(TimerRow.due_at)
                .where(
                    TimerRow.state == TimerState.PENDING, _whose_timers(col(TimerRow.gameday_id), self._own)
                )
                .order_by(col(TimerRow.due_at))
                .limit(1)
            ).first()

    def renew_claims(self, timer_ids: list[int]) -> None:
        if not timer_ids:
            return
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(TimerRow)
                .where(col(TimerRow.id).in_(timer_ids), col(TimerRow.state) == TimerState.FIRING)
                .values(claimed_at=time.time())
            )

    def reset_stale_timers(self, min_age: float = STALE_CLAIM_SECONDS) -> int:
        """Put back timers a dead process claimed and never finished.

        On PostgreSQL a live process renews the claims it holds (renew_claims) and keeps a game day's row
        locked while it fires one of its timers, so a claim older than ``min_age`` whose game day row is
        free belongs to a process that died: it is taken back, even while other replicas run. SQLite has
        one writer process, so at its start every claim is stale.
        """
        with Session(self.engine) as session, session.begin():
            if not self._skip_locked:
                result = session.execute(
                    update(TimerRow)
                    .where(
                        col(TimerRow.state) == TimerState.FIRING,
                        _whose_timers(col(TimerRow.gameday_id), self._own),
                    )
                    .values(state=TimerState.PENDING)
                )
                # an UPDATE's result is a CursorResult, which has rowcount:
                return int(result.rowcount or 0)  # type: ignore[attr-defined]
            stale = list(
                session.exec(
                    select(TimerRow.id)
                    .join(GameDayRow, col(GameDayRow.id) == col(TimerRow.gameday_id))
                    .where(
                        TimerRow.state == TimerState.FIRING,
                        col(TimerRow.claimed_at) < time.time() - min_age,
                        _whose_timers(col(TimerRow.gameday_id), self._own),
                    )
                    .with_for_update(skip_locked=True, of=GameDayRow)
                )
            )
            if stale:
                session.execute(
                    update(TimerRow).where(col(TimerRow.id).in_(stale)).values(state=TimerState.PENDING)
                )
            return len(stale)

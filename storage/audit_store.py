"""The audit ledger in the database (``audit_entry``): appended in the same transaction as the timeline
events it records, so a committed start or fault always has its entry and a rolled-back one never does.

One chain for the whole database: appending takes the chain's lock (a transaction-scoped advisory lock
on PostgreSQL, taken after the game days' row locks, so every writer locks in the same order; SQLite has
one writer at a time already), reads the head and numbers on from it. The primary key on ``seq`` makes
a fork impossible even without the lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, select, text
from sqlalchemy.orm import Session

from bot.gameday.audit.chain import GENESIS, BrokenChain, Sealed, Verified, seal, verify_lines
from storage.tables import AuditRow

AUDIT: Table = AuditRow.__table__  # type: ignore[attr-defined]
A = AUDIT.c
CHAIN_LOCK = 0x5CE_A0D17  # the advisory lock's key on PostgreSQL: one chain, one key


@dataclass(frozen=True)
class AuditDraft:
    at: float
    gameday: str | None
    kind: str
    actor: str | None
    data: dict[str, Any]


def append(session: Session | Connection, drafts: Sequence[AuditDraft]) -> list[Sealed]:
    """Seal and insert ``drafts`` after the chain's head, inside the caller's transaction."""
    if not drafts:
        return []
    bind = session.get_bind() if isinstance(session, Session) else session
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    head = session.execute(select(A.seq, A.hash).order_by(A.seq.desc()).limit(1)).first()
    seq, prev = (head.seq, head.hash) if head is not None else (0, GENESIS)
    sealed = []
    for draft in drafts:
        seq += 1
        entry = seal(seq, prev, draft.at, draft.gameday, draft.kind, draft.actor, draft.data)
        sealed.append(entry)
        prev = entry.hash
    rows = [
        {
            "seq": s.seq,
            "gameday_id": d.gameday,
            "kind": d.kind[:32],
            "body": s.body,
            "prev": s.prev,
            "hash": s.hash,
        }
        for s, d in zip(sealed, drafts, strict=True)
    ]
    session.execute(AUDIT.insert(), rows)
    return sealed


def record(engine: Engine, drafts: Sequence[AuditDraft]) -> list[Sealed]:
    """Append in a transaction of its own (a halt: no game day's transaction to ride)."""
    with engine.begin() as connection:
        return append(connection, drafts)


def entries(engine: Engine, gameday: str | None = None) -> Iterator[Sealed]:
    """The chain in order (or one game day's entries), read in pages so a long chain streams."""
    after, page = 0, 1000
    while True:
        query = select(A.seq, A.body, A.prev, A.hash).where(A.seq > after).order_by(A.seq).limit(page)
        if gameday is not None:
            query = query.where(A.gameday_id == gameday)
        with engine.connect() as connection:
            rows = connection.execute(query).all()
        for row in rows:
            yield Sealed(row.seq, row.body, row.prev, row.hash)
        if len(rows) < page:
            return
        after = rows[-1].seq


def verify_stored(engine: Engine) -> Verified:
    """The chain as stored, checked as an export would be, and each row's looked-up columns against its
    body (an edited ``gameday_id`` would hide an entry from its game day's bundle)."""
    lines = []
    with engine.connect() as connection:
        rows = connection.execute(select(A.seq, A.gameday_id, A.kind, A.body).order_by(A.seq)).all()
    for line_no, row in enumerate(rows, start=1):
        try:
            fields = json.loads(row.body)
        except ValueError:
            raise BrokenChain(
                f"line {line_no}: entry {row.seq}'s stored body is not JSON (edited)."
            ) from None
        if not isinstance(fields, dict) or (
            fields.get("gameday"),
            str(fields.get("kind"))[:32],
            fields.get("seq"),
        ) != (
            row.gameday_id,
            row.kind,
            row.seq,
        ):
            raise BrokenChain(f"line {line_no}: entry {row.seq}'s columns differ from its body (edited).")
    lines = [s.line() for s in entries(engine)]
    return verify_lines(lines)

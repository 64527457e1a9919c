"""The halt lever in the database (``halt``): pulled and lifted in one transaction with its audit
entry; at most one halt holds at a time (a unique index), so two replicas pulling at once make one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Table, select, update
from sqlalchemy.exc import IntegrityError

from bot.gameday.halt import Halt
from storage import audit_store
from storage.tables import HaltRow

HALTS: Table = HaltRow.__table__  # type: ignore[attr-defined]
H = HALTS.c


def _halt(row: Any) -> Halt:
    return Halt(row.id, row.halted_at, row.halted_by, row.reason, row.source)


class HaltStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def current(self) -> Halt | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(HALTS).where(H.active == 1)).first()
        return _halt(row) if row is not None else None

    def pull(self, by: str, reason: str, source: str, at: float) -> tuple[Halt, bool]:
        """The halt in force after pulling: (halt, True) when this pull made it, (the one already in
        force, False) otherwise."""
        try:
            with self.engine.begin() as connection:
                held = connection.execute(select(HALTS).where(H.active == 1)).first()
                if held is not None:
                    return _halt(held), False
                values = {"active": 1, "halted_at": at, "halted_by": by, "reason": reason, "source": source}
                key = connection.execute(HALTS.insert().values(**values)).inserted_primary_key
                assert key is not None  # an insert of one row always has it
                number = int(key[0])
                data = {"halt": number, "reason": reason, "source": source}
                audit_store.append(connection, [audit_store.AuditDraft(at, None, "halted", by, data)])
        except IntegrityError:  # another replica's pull won the race: that one is the halt
            current = self.current()
            if current is None:
                raise
            return current, False
        return Halt(number, at, by, reason, source), True

    def lift(self, by: str, at: float) -> Halt | None:
        """Lift the halt in force; the halt lifted, or None when none held."""
        with self.engine.begin() as connection:
            held = connection.execute(select(HALTS).where(H.active == 1)).first()
            if held is None:
                return None
            connection.execute(
                update(HALTS).where(H.id == held.id).values(active=None, lifted_at=at, lifted_by=by)
            )
            data = {"halt": held.id, "held_seconds": at - held.halted_at}
            audit_store.append(connection, [audit_store.AuditDraft(at, None, "unhalted", by, data)])
        return _halt(held)

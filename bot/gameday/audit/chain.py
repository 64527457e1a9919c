"""The audit ledger's hash chain, pure: what an entry is, how it is hashed, and how a chain is checked.

Every start, approval, fault applied or reverted, end (an abort is an end with its status) and halt is
one entry. An entry's *body* is its canonical JSON (sorted keys, no spaces, ASCII, no NaN), and its hash
is SHA-256 over the previous entry's hash, a newline and the body; the first entry follows ``GENESIS``.
Entries are numbered 1, 2, 3... with no gap, so an edited entry breaks its own hash, a removed one leaves
a gap in the numbers (or a ``prev`` that names no neighbour), and a reordered pair breaks both. Cutting
entries off the end cannot be seen from the chain alone: ``verify`` hands back the head hash, to be
compared with one written down before (SECURITY.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
FIELDS = ("seq", "at", "gameday", "kind", "actor", "data")
AUDITED = frozenset(
    {
        "gameday_started",
        "approved",
        "standing_approved",
        "fault_applied",
        "fault_reverted",
        "fault_revert_failed",
        "fault_left_over",
        "failure_paged",
        "failure_resolved",
        "gameday_ended",
    }
)
"""The timeline's kinds that are entries (``Kind`` values); halts are entries of their own."""


def body_of(entry: Mapping[str, Any]) -> str:
    """The canonical JSON of an entry's fields (anything else it carries, such as its hash, left out)."""
    return json.dumps(
        {name: entry.get(name) for name in FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    )


def hash_of(prev: str, body: str) -> str:
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class Sealed:
    """An entry as stored and exported: its body, the hash it follows and its own."""

    seq: int
    body: str
    prev: str
    hash: str

    def line(self) -> str:
        """One JSON Lines line: the entry's fields, then ``prev`` and ``hash``."""
        fields = json.loads(self.body)
        return json.dumps(fields | {"prev": self.prev, "hash": self.hash}, ensure_ascii=True)


def seal(
    seq: int, prev: str, at: float, gameday: str | None, kind: str, actor: str | None, data: Mapping[str, Any]
) -> Sealed:
    body = body_of(
        {"seq": seq, "at": at, "gameday": gameday, "kind": kind, "actor": actor, "data": dict(data)}
    )
    return Sealed(seq, body, prev, hash_of(prev, body))


class BrokenChain(ValueError):
    """The first place a chain does not hold, as one sentence naming its line."""


@dataclass(frozen=True)
class Verified:
    entries: int
    head: str  # the last entry's hash (GENESIS for an empty chain): compare with one written down before


def _entry(line_no: int, text: str) -> dict[str, Any]:
    try:
        entry = json.loads(text)
    except ValueError:
        raise BrokenChain(f"line {line_no}: not JSON, so not an audit entry.") from None
    if not isinstance(entry, dict):
        raise BrokenChain(f"line {line_no}: not a JSON object, so not an audit entry.")
    missing = [name for name in (*FIELDS, "prev", "hash") if name not in entry]
    if missing:
        raise BrokenChain(f"line {line_no}: not an audit entry (no {', '.join(missing)}).")
    if type(entry["seq"]) is not int or not all(isinstance(entry[k], str) for k in ("prev", "hash")):
        raise BrokenChain(f"line {line_no}: seq must be a whole number and prev and hash text.")
    return entry


def verify_lines(lines: Iterable[str], segment: bool = False) -> Verified:
    """Check an export (JSON Lines, blank lines ignored); BrokenChain names the first bad line.

    ``segment``: the lines are some of a chain's entries (an evidence bundle's game day): each must still
    match its own hash and come after the one before, but neighbours need not be adjacent in the chain.
    """
    expected_seq, prev, count = 1, GENESIS, 0
    for line_no, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        entry = _entry(line_no, text)
        try:
            body = body_of(entry)
        except ValueError:
            raise BrokenChain(
                f"line {line_no}: holds a number JSON cannot carry (NaN or infinity)."
            ) from None
        seq = entry["seq"]
        if segment:
            if count and seq < expected_seq:
                raise BrokenChain(
                    f"line {line_no}: entry {seq} comes after entry {expected_seq - 1} (reordered)."
                )
        elif seq > expected_seq:
            missing = (
                f"entry {expected_seq}" if seq == expected_seq + 1 else f"entries {expected_seq}-{seq - 1}"
            )
            raise BrokenChain(f"line {line_no}: {missing} missing before it (removed).")
        elif seq < expected_seq:
            raise BrokenChain(
                f"line {line_no}: entry {seq} comes after entry {expected_seq - 1} (reordered)."
            )
        elif entry["prev"] != prev:
            raise BrokenChain(
                f"line {line_no}: its prev is not the hash of the entry before it (removed or reordered)."
            )
        if hash_of(entry["prev"], body) != entry["hash"]:
            raise BrokenChain(f"line {line_no}: entry {seq} does not match its hash (edited).")
        expected_seq, prev, count = seq + 1, entry["hash"], count + 1
    return Verified(count, prev)

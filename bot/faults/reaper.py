"""The reaper: reverts every fault whose lease has expired, from what the cluster itself says.

It needs no database: each object the bot created carries ``app.kubernetes.io/managed-by=sce`` and
``sce.dev/expires-at``; each object it changed carries the game day, the expiry and how to restore it.
So faults orphaned by a crash (applied, never recorded, or recorded in a database now lost) are found
too. Run it at start-up and every minute; running it twice is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.faults.chaos_mesh import CHAOS_KINDS
from bot.faults.cluster import Cluster, ResourceKind, api_error, describe
from bot.faults.labels import FAULT, GAMEDAY, expires_at_of, is_borrowed, is_managed, labels_of, rfc3339
from bot.faults.undo import CORE_KINDS, owned_selector, undo_object

REAPED_KINDS: tuple[ResourceKind, ...] = CORE_KINDS + CHAOS_KINDS


@dataclass
class ReapReport:
    """What one pass did, and what it could not do (tried again on the next pass)."""

    reverted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # each expired object's fault, as (game day, fault, undone, sentence): the game day's timeline is told
    # (bot/gameday/running/failure_paging.reaper_found), so one the reaper cannot undo pages a real incident
    faults: list[tuple[str, str, bool, str]] = field(default_factory=list)

    def by_fault(self) -> dict[tuple[str, str], tuple[bool, str]]:
        """Each fault found once: undone only when every one of its expired objects was."""
        found: dict[tuple[str, str], tuple[bool, str]] = {}
        for gameday_id, fault_id, undone, sentence in self.faults:
            before = found.get((gameday_id, fault_id))
            if before is None:
                found[(gameday_id, fault_id)] = (undone, sentence)
            else:
                found[(gameday_id, fault_id)] = (before[0] and undone, f"{before[1]}; {sentence}")
        return found

    @property
    def sentences(self) -> list[str]:
        return self.reverted + [f"failed: {line}" for line in self.failed]


def revert_expired(
    cluster: Cluster,
    namespaces: Iterable[str],
    now: float,
    kinds: Iterable[ResourceKind] = REAPED_KINDS,
) -> ReapReport:
    """Undo every object of ours in ``namespaces`` (and allowed by the deployment) whose expiry passed.

    Transient API errors are retried inside each call; what still fails is reported, not raised, so
    one stuck object never stops the others.
    """
    report = ReapReport()
    api = cluster.api(None)
    for namespace in sorted(set(namespaces) & cluster.allowed_namespaces):
        for kind in kinds:
            try:
                found = api.list(kind, namespace, owned_selector(kind))
            except Exception as exc:
                report.failed.append(f"could not list {kind.kind} in {namespace}: {api_error(exc)}")
                continue
            for obj in found:
                if not (is_managed(obj) or is_borrowed(obj)):
                    continue
                what = describe(kind, namespace, (obj.get("metadata") or {}).get("name", "?"))
                expires_at = expires_at_of(obj)
                if expires_at is None:
                    report.failed.append(f"{what} has no readable expiry annotation; left in place")
                    continue
                if expires_at > now:
                    continue
                gameday_id, fault_id = labels_of(obj).get(GAMEDAY), labels_of(obj).get(FAULT)
                try:
                    sentence = undo_object(api, kind, obj)
                except Exception as exc:
                    problem = f"could not revert {what}: {api_error(exc)}"
                    report.failed.append(problem)
                    if gameday_id and fault_id:
                        report.faults.append((gameday_id, fault_id, False, problem))
                    continue
                if sentence:
                    report.reverted.append(f"{sentence} (expired {rfc3339(expires_at)})")
                    if gameday_id and fault_id:
                        report.faults.append((gameday_id, fault_id, True, sentence))
    return report

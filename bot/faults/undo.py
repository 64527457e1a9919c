"""Undoing what the bot did to a cluster, from the marks on the objects alone.

Used by every driver's ``revert`` and by the reaper, so a fault is undone the same way whether the
game day ends, is aborted, or the bot restarts and finds the fault's lease expired.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.faults.cluster import DEPLOYMENT, NETWORK_POLICY, POD, SECRET, KubeApi, ResourceKind, describe
from bot.faults.labels import (
    FAULT,
    GAMEDAY,
    MANAGED_BY,
    MANAGER,
    ORIGINAL_REPLICAS,
    annotations_of,
    belongs_to,
    is_borrowed,
    is_managed,
    unmarked,
)
from bot.faults.token_revoke import is_revoke_record, recreate_tokens

# What the kubernetes driver creates (deleted on undo) or changes (restored on undo).
CORE_KINDS: tuple[ResourceKind, ...] = (NETWORK_POLICY, POD, SECRET, DEPLOYMENT)
BORROWED_KINDS = frozenset({DEPLOYMENT})


def undo_object(api: KubeApi, kind: ResourceKind, obj: dict[str, Any]) -> str | None:
    """Delete an object the bot created, restore one it changed; a sentence, or None if not ours.
    A token-revoke's record Secret first has its revoked token Secrets recreated (``token_revoke``)."""
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace") or "", meta.get("name") or ""
    what = describe(kind, namespace, name)
    if is_managed(obj):
        restored = recreate_tokens(api, obj) if kind == SECRET and is_revoke_record(obj) else []
        gone = f"deleted {what}" if api.delete(kind, namespace, name) else f"{what} was already gone"
        return "; ".join([*restored, gone])
    if kind in BORROWED_KINDS and is_borrowed(obj):
        original = int(annotations_of(obj)[ORIGINAL_REPLICAS])
        api.patch(kind, namespace, name, {"spec": {"replicas": original}, "metadata": unmarked()})
        return f"restored {what} to {original} replicas"
    return None


def owned_selector(kind: ResourceKind) -> dict[str, str]:
    """The selector finding everything of ``kind`` the bot may have to undo."""
    return {} if kind in BORROWED_KINDS else {MANAGED_BY: MANAGER}


def undo_fault(
    api: KubeApi,
    namespaces: Iterable[str],
    kinds: Iterable[ResourceKind],
    gameday_id: str,
    fault_id: str,
) -> list[str]:
    """Undo every object one fault left in ``namespaces``; what was done, one sentence each."""
    done: list[str] = []
    selector = {GAMEDAY: gameday_id, FAULT: fault_id}
    for namespace in sorted(namespaces):
        for kind in kinds:
            for obj in api.list(kind, namespace, selector):
                sentence = undo_object(api, kind, obj)
                if sentence:
                    done.append(sentence)
    return done


def undo_faults(
    api: KubeApi,
    namespaces: Iterable[str],
    kinds: Iterable[ResourceKind],
    gameday_id: str,
    fault_ids: Iterable[str],
) -> dict[str, str]:
    """Undo several faults of one game day from one listing per namespace and kind (an abort of 50
    faults lists 4 times, not 200); for each fault, the sentence its own revert would say."""
    done: dict[str, list[str]] = {fault_id: [] for fault_id in fault_ids}
    kinds = tuple(kinds)
    for namespace in sorted(namespaces):
        for kind in kinds:
            for obj in api.list(kind, namespace, {GAMEDAY: gameday_id}):
                fault_id = next((f for f in done if belongs_to(obj, gameday_id, f)), None)
                if fault_id is None:
                    continue
                sentence = undo_object(api, kind, obj)
                if sentence:
                    done[fault_id].append(sentence)
    return {fault_id: reverted_sentence(fault_id, sentences) for fault_id, sentences in done.items()}


def reverted_sentence(fault_id: str, done: list[str]) -> str:
    if not done:
        return (
            f"nothing left to revert for fault {fault_id} (already reverted or expired, or a fault "
            "with nothing to undo such as k8s.pod-delete)"
        )
    return f"reverted fault {fault_id}: " + "; ".join(done)

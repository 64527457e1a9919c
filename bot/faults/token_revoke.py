"""``k8s.token-revoke``: delete service-account token Secrets, and give the service account its tokens
back on revert.

Which tokens: one named ``secret``; or a share (``bot/gameday/scenario/target_share``) of the legacy
token Secrets of ``service_account`` (all of them, up to ``max_targets``, when no percent or count is
given); or, naming neither, a share of those carrying the step's ``selector`` labels (one by default).
A named secret or service account is the whole choice: a selector beside it is not used.

A deleted token is gone for good: the drill is that callers holding it now get 401. The revert cannot
bring that token back and does not try; it recreates each revoked Secret under its name, labels and
service account, so the cluster's token controller issues a NEW token there (the rotation the drill
exercises, done for whoever did not do it). What to recreate is written before anything is deleted, on
a record Secret the bot owns (``sce-<game day>-<fault>-revoked``, no data, names and labels only): the
revert and the reaper read it from the cluster, and a replayed apply finishes the same draw instead of
drawing again. Token values are never copied into the record, the timeline or a message.
"""

from __future__ import annotations

import json
from typing import Any

from bot.faults.cluster import SECRET, KubeApi, describe
from bot.faults.labels import annotations_of, belongs_to, is_managed, labels_of, object_name, owned_metadata
from bot.faults.params import ShareParams, parse_params, share_of
from bot.gameday.ports import FaultRejected
from bot.gameday.scenario.model import FaultSpec
from bot.gameday.scenario.target_share import (
    MAX_TARGETS_LIMIT,
    AppliedFault,
    Draw,
    TargetShare,
    draw_targets,
    fresh_seed,
    listing,
)

TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_ANNOTATION = "kubernetes.io/service-account.name"
REVOKED = "sce.dev/revoked-tokens"  # on the record Secret: JSON list of {name, service_account, labels}
SEED = "sce.dev/draw-seed"


class TokenRevokeParams(ShareParams):
    secret: str | None = None
    service_account: str | None = None


def token_params(spec: FaultSpec) -> tuple[TokenRevokeParams, TargetShare | None]:
    """The step's token parameters and share; FaultRejected naming what does not fit."""
    params = parse_params(TokenRevokeParams, spec)
    if params.secret is not None and params.service_account is not None:
        raise FaultRejected(f"{spec.type}: name exactly one of `secret` or `service_account`")
    if params.secret is None and params.service_account is None and not spec.selector:
        raise FaultRejected(
            f"{spec.type}: name exactly one of `secret` or `service_account`, or pick a share of the "
            "token Secrets matching `selector:`"
        )
    if params.secret is not None:
        if share_of(spec, None) is not None:
            raise FaultRejected(f"{spec.type}: `secret:` names one token; a share picks among several")
        return params, None
    # by default every token of a service account (up to the ceiling), or one of a selector's
    every = params.service_account is not None
    return params, share_of(spec, TargetShare() if every else TargetShare(count=1))


def record_name(gameday_id: str, fault_id: str) -> str:
    return object_name(gameday_id, fault_id, "revoked")


def candidates(
    api: KubeApi, namespace: str, selector: dict[str, str], service_account: str | None
) -> list[dict[str, Any]]:
    """Live legacy token Secrets with the selector's labels (and of the service account, if named)."""
    return [
        secret
        for secret in api.list(SECRET, namespace, selector)
        if secret.get("type") == TOKEN_TYPE
        and not is_managed(secret)
        and not (secret.get("metadata") or {}).get("deletionTimestamp")
        and (service_account is None or annotations_of(secret).get(SA_ANNOTATION) == service_account)
    ]


def revoke(
    api: KubeApi, namespace: str, spec: FaultSpec, gameday_id: str, fault_id: str, expires_at: float
) -> str:
    """Apply ``k8s.token-revoke``: record what to recreate, then delete; the sentence (with its draw)."""
    params, share = token_params(spec)
    record = api.get(SECRET, namespace, record_name(gameday_id, fault_id))
    if record is not None and belongs_to(record, gameday_id, fault_id):
        return _finish_replay(api, namespace, record)
    if params.secret is not None:
        secret = api.get(SECRET, namespace, params.secret)
        if secret is None:
            return f"Secret {namespace}/{params.secret} is already gone: nothing to revoke"
        if secret.get("type") != TOKEN_TYPE:
            raise FaultRejected(f"Secret {namespace}/{params.secret} is not a service-account token")
        chosen, draw = [secret], None
    else:
        assert share is not None
        selector = {} if params.service_account else dict(spec.selector)
        found = candidates(api, namespace, selector, params.service_account)
        if not found:
            where = _where(namespace, spec, params)
            raise FaultRejected(f"no service-account token Secret {where}: nothing was revoked")
        draw = draw_targets((s["metadata"]["name"] for s in found), share, fresh_seed())
        chosen = sorted(
            (s for s in found if s["metadata"]["name"] in draw.targets), key=lambda s: s["metadata"]["name"]
        )
    body = _record(chosen, namespace, gameday_id, fault_id, expires_at, draw)
    api.create(SECRET, namespace, body)
    names = [s["metadata"]["name"] for s in chosen]
    for name in names:
        api.delete(SECRET, namespace, name)
    return AppliedFault.of(_revoked_sentence(namespace, names, draw), draw)


def _where(namespace: str, spec: FaultSpec, params: TokenRevokeParams) -> str:
    if params.service_account:
        return f"in {namespace} belongs to ServiceAccount {params.service_account}"
    return f"in {namespace} matches " + ",".join(f"{k}={v}" for k, v in sorted(spec.selector.items()))


def _record(
    chosen: list[dict[str, Any]],
    namespace: str,
    gameday_id: str,
    fault_id: str,
    expires_at: float,
    draw: Draw | None,
) -> dict[str, Any]:
    """The bot's record of what it revoked: names, service accounts and labels, never token values."""
    entries = [
        {
            "name": s["metadata"]["name"],
            "service_account": annotations_of(s).get(SA_ANNOTATION, ""),
            "labels": labels_of(s),
        }
        for s in chosen
    ]
    metadata = owned_metadata(record_name(gameday_id, fault_id), namespace, gameday_id, fault_id, expires_at)
    metadata["annotations"][REVOKED] = json.dumps(entries, sort_keys=True)
    if draw is not None:
        metadata["annotations"][SEED] = str(draw.seed)
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque"}


def planned_record(gameday_id: str, fault_id: str, namespace: str, expires_at: float) -> dict[str, Any]:
    """The record Secret as a dry run shows it: the names are known only once drawn at apply."""
    body = _record([], namespace, gameday_id, fault_id, expires_at, None)
    body["metadata"]["annotations"][REVOKED] = "(the revoked token Secrets, drawn at apply)"
    return body


def _finish_replay(api: KubeApi, namespace: str, record: dict[str, Any]) -> str:
    """A replayed apply (the bot restarted mid-step): delete what the recorded draw chose, nothing else."""
    names = [entry["name"] for entry in revoked_entries(record)]
    for name in names:
        api.delete(SECRET, namespace, name)
    return _revoked_sentence(namespace, names, None) + " (finished what was recorded before a restart)"


def _revoked_sentence(namespace: str, names: list[str], draw: Draw | None) -> str:
    plural = len(names) > 1
    picked = f"{draw.sentence('token Secrets')}; " if draw else ""
    return (
        f"{picked}revoked service-account token Secret{'s' if plural else ''} {listing(names)} in "
        f"{namespace}; clients using {'them' if plural else 'it'} now get 401 (the revert recreates "
        f"{'them' if plural else 'it'} with new tokens)"
    )


def revoked_entries(record: dict[str, Any]) -> list[dict[str, Any]]:
    """What a record Secret says was revoked; [] when it is unreadable (it is then only deleted)."""
    try:
        entries = json.loads(annotations_of(record).get(REVOKED) or "[]")
    except ValueError:
        return []
    if not isinstance(entries, list):
        return []
    return [
        entry
        for entry in entries[:MAX_TARGETS_LIMIT]
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"]
    ]


def is_revoke_record(obj: dict[str, Any]) -> bool:
    """A Secret the bot made to remember which token Secrets one fault revoked."""
    return obj.get("type") == "Opaque" and is_managed(obj) and REVOKED in annotations_of(obj)


def recreate_tokens(api: KubeApi, record: dict[str, Any]) -> list[str]:
    """Recreate every revoked token Secret of ``record`` in the record's own namespace (never another):
    same name, labels and service account, no data, so the token controller issues a new token."""
    namespace = str((record.get("metadata") or {}).get("namespace") or "")
    done = []
    for entry in revoked_entries(record):
        labels = entry.get("labels") if isinstance(entry.get("labels"), dict) else {}
        account = entry.get("service_account") if isinstance(entry.get("service_account"), str) else ""
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": entry["name"],
                "namespace": namespace,
                "labels": {str(k): str(v) for k, v in (labels or {}).items()},
                "annotations": {SA_ANNOTATION: account},
            },
            "type": TOKEN_TYPE,
        }
        what = describe(SECRET, namespace, entry["name"])
        made = api.create(SECRET, namespace, body)
        done.append(f"recreated {what} (a new token)" if made else f"{what} was already back")
    return done

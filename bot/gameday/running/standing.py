"""Standing approvals: an approver's yes, given once in Slack, for unattended runs of one scenario file.

A live game day of a scenario with ``approval.required`` waits for a second person to press Approve. An
unattended run (`sce run`, a regression run) has nobody to wait for, so an approver says yes ahead of time:
``/sce approve-standing <scenario> [for 30d]``. The yes is bound to the file's content hash (the hash
the game day records, ``content_hash``): an edited file has another hash, and the approval no longer
matches it. It expires (30 days unless said, 90 at most) and can be revoked at any time. Who may give one:
whoever may approve a live game day of that scenario (its ``approval.approvers``, SCE_APPROVERS) and the
admins (SCE_ADMINS); there is no starter to exclude, since no person starts an unattended run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.gameday.people.mentions import literal
from bot.gameday.scenario.durations import DurationError, parse_span

DAY = 86400.0
DEFAULT_SECONDS = 30 * DAY
AT_MOST_SECONDS = 90 * DAY
AT_LEAST_SECONDS = 3600.0
"""An hour at least: anything shorter is a live approval's job (``/sce start`` and Approve)."""
GRANT_USAGE = "/sce approve-standing <scenario> [for 30d] | list"
REVOKE_USAGE = "/sce revoke-standing <scenario>"


class StandingError(ValueError):
    """A standing-approval command that cannot be done as typed; the message is the sentence to show."""


@dataclass(frozen=True)
class StandingApproval:
    id: int
    scenario_id: str
    scenario_hash: str
    channel: str
    granted_by: str
    granted_at: float
    expires_at: float
    revoked_at: float | None = None
    revoked_by: str | None = None

    def holds(self, scenario_hash: str, now: float) -> bool:
        """Whether it lets a run of the file with ``scenario_hash`` start at ``now``."""
        return self.revoked_at is None and self.scenario_hash == scenario_hash and now < self.expires_at

    def event_data(self) -> dict[str, Any]:
        """What the run's timeline keeps of it (Kind.STANDING_APPROVED; the actor is ``granted_by``)."""
        return {
            "approval": self.id,
            "scenario_hash": self.scenario_hash,
            "granted_at": self.granted_at,
            "expires_at": self.expires_at,
        }


class StandingApprovalPort(Protocol):
    def grant(
        self, scenario_id: str, scenario_hash: str, channel: str, by: str, now: float, seconds: float
    ) -> StandingApproval: ...

    def of_scenario(self, scenario_id: str) -> list[StandingApproval]:
        """Every standing approval of the scenario ever given, revoked and expired ones included."""
        ...


def parse_grant(args: Sequence[str]) -> tuple[str, float]:
    """(scenario id, seconds) of ``<scenario> [for <duration>]``; StandingError with the sentence."""
    if not args:
        raise StandingError(f"Which scenario? Usage: `{literal(GRANT_USAGE)}`.")
    scenario_id, rest = args[0], [w.lower() for w in args[1:]]
    if rest and rest[0] == "for":
        rest = rest[1:]
        if not rest:
            raise StandingError("For how long? Write it like `for 30d` (at most 90d).")
    if len(rest) > 1:
        raise StandingError(f"Too many words. Usage: `{literal(GRANT_USAGE)}`.")
    return scenario_id, parse_length(rest[0]) if rest else DEFAULT_SECONDS


def parse_length(text: str) -> float:
    """``30d``, ``2w`` or ``12h`` as seconds, between an hour and 90 days; StandingError otherwise."""
    try:
        seconds = parse_span(text)
    except DurationError:
        shown = literal(text[:40])
        raise StandingError(
            f"`{shown}` is not a duration; write it like `for 30d`, `for 2w` or `for 12h`."
        ) from None
    if seconds > AT_MOST_SECONDS:
        raise StandingError("A standing approval lasts 90 days at most (`for 90d`); give it again then.")
    if seconds < AT_LEAST_SECONDS:
        raise StandingError("A standing approval lasts an hour at least; for one run, approve it live.")
    return seconds


def grant_refusal(
    scenario_id: str, required: bool, user: str, approvers: Iterable[str], is_admin: bool
) -> str | None:
    """None when ``user`` may give (or revoke) a standing approval of the scenario; otherwise why not."""
    allowed = set(approvers)
    if not required:
        return (
            f"`{literal(scenario_id)}` needs no approval (approval.required is not set): "
            "`sce run` runs it as it is."
        )
    if user in allowed or is_admin:
        return None
    if not allowed:
        return (
            "No approvers are configured: add approval.approvers to the scenario or set SCE_APPROVERS "
            "(or ask an admin)."
        )
    names = ", ".join(f"<@{a}>" for a in sorted(allowed))
    return f"Only {names} (or an admin) may give or revoke a standing approval of `{literal(scenario_id)}`."


def current(approvals: Iterable[StandingApproval], scenario_hash: str, now: float) -> StandingApproval | None:
    """The standing approval that lets this file run now: of those that hold, the latest to expire."""
    holding = [a for a in approvals if a.holds(scenario_hash, now)]
    return max(holding, key=lambda a: (a.expires_at, a.id), default=None)


def run_refusal(
    scenario_id: str, approvals: Sequence[StandingApproval], scenario_hash: str, now: float
) -> str:
    """The one sentence `sce run` says when no standing approval holds: how to give one, and why an
    earlier one does not count (an edited file, an expiry, a revocation)."""
    how = (
        f"{scenario_id} requires an approval (approval.required): an unattended run needs a standing "
        f"approval of this exact file; an approver gives one in Slack with `/sce approve-standing "
        f"{scenario_id} for 30d` (editing the file voids it)"
    )
    same = [a for a in approvals if a.scenario_hash == scenario_hash]
    if any(a.revoked_at is None and a.expires_at <= now for a in same):
        return how + f"; the one given for this file expired {_day(max(a.expires_at for a in same))}."
    if same and all(a.revoked_at is not None for a in same):
        return how + "; the one given for this file was revoked."
    if any(a.revoked_at is None and a.expires_at > now for a in approvals):
        return how + "; the one given was for another version of the file: it was edited since."
    return how + "."


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def standing_line(approval: StandingApproval) -> str:
    """The standing approval a run started on, as its progress line says it (who, when, until when)."""
    return (
        f"runs on standing approval #{approval.id} of {approval.scenario_id}, given by {approval.granted_by} "
        f"on {_day(approval.granted_at)}, until {_day(approval.expires_at)}"
    )

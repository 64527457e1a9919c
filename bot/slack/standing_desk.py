"""`/sce approve-standing <scenario> [for 30d]`, `/sce approve-standing list`, `/sce revoke-standing
<scenario>`: parse, check who asks, call the store, answer (the rules: bot/gameday/running/standing.py).

A standing approval is bound to the scenario file's content hash as the scenario catalog reads it now,
attachments included: the hash a game day of it records. Who may give or revoke one: the scenario's
approvers and SCE_APPROVERS (user groups expanded), and the admins. The list shows this channel's
standing approvals (an admin's: every channel's), each saying whether its file is still the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.gameday.measuring.redaction import redact
from bot.gameday.people.mentions import literal, user_id_from
from bot.gameday.policy.enforcing import ApproverRule, approval_rules, approver_refusal
from bot.gameday.running.commands import Command
from bot.gameday.running.standing import (
    REVOKE_USAGE,
    StandingApproval,
    StandingError,
    grant_refusal,
    parse_grant,
)
from bot.gameday.scenario.catalog import UnknownScenario
from bot.gameday.scenario.loading import LoadedScenario, ScenarioError
from bot.gameday.scenario.model import content_hash
from bot.runtime.service import Services
from bot.slack.oncall_lookup import expand_groups
from bot.slack.render import render
from storage.standing_store import StandingStore


@dataclass(frozen=True)
class Listed:
    """A standing approval as the list shows it: does it still match its file?"""

    approval: StandingApproval
    matches: bool | None  # None: the file no longer loads


class StandingDesk:
    def __init__(self, services: Services):
        self.s = services
        self.store = StandingStore(services.store.engine)

    def approve(self, command: Command, user: str, channel: str) -> str:
        if command.args and command.args[0].lower() == "list":
            return self.listing(user, channel)
        try:
            scenario_id, seconds = parse_grant(command.args)
            loaded = self._load(scenario_id)
        except (StandingError, UnknownScenario, ScenarioError) as exc:
            return self._said(exc)
        refusal = self._refusal(loaded, user)
        if refusal:
            return refusal
        digest = content_hash(loaded.text)
        granted = self.store.grant(loaded.scenario.id, digest, channel, user, self.s.clock.now(), seconds)
        return render("standing_approvals", listed=[Listed(granted, True)], granted=True, everywhere=False)

    def revoke(self, command: Command, user: str, channel: str) -> str:
        if not command.args:
            return f"Which scenario? Usage: `{literal(REVOKE_USAGE)}`."
        try:
            loaded = self._load(command.args[0])
        except (UnknownScenario, ScenarioError) as exc:
            return self._said(exc)
        refusal = self._refusal(loaded, user, granting=False)
        if refusal:
            return refusal
        count = self.store.revoke(loaded.scenario.id, user, self.s.clock.now())
        if not count:
            return f"`{literal(loaded.scenario.id)}` has no standing approval to revoke."
        return (
            f"Revoked {count} standing approval(s) of `{literal(loaded.scenario.id)}`: unattended runs of it "
            "are refused until an approver gives a new one."
        )

    def listing(self, user: str, channel: str) -> str:
        everywhere = self.s.members.is_admin(user)
        approvals = self.store.unexpired(self.s.clock.now(), None if everywhere else channel)
        hashes: dict[str, str | None] = {}
        for approval in approvals:
            if approval.scenario_id not in hashes:
                try:
                    hashes[approval.scenario_id] = content_hash(self._load(approval.scenario_id).text)
                except (UnknownScenario, ScenarioError):
                    hashes[approval.scenario_id] = None
        listed = [
            Listed(a, None if hashes[a.scenario_id] is None else hashes[a.scenario_id] == a.scenario_hash)
            for a in approvals
        ]
        return render("standing_approvals", listed=listed, granted=False, everywhere=everywhere)

    def _load(self, scenario_id: str) -> LoadedScenario:
        """The scenario as a run of it would start it: attachments read in (the hash covers them)."""
        return self.s.catalog.load(scenario_id)

    def _refusal(self, loaded: LoadedScenario, user: str, granting: bool = True) -> str | None:
        """Why ``user`` may not give (``granting``) or revoke one; revoking needs no approval.required."""
        scenario = loaded.scenario
        wanted = [user_id_from(a) or a for a in scenario.approval.approvers]
        wanted += sorted(self.s.settings.approvers)
        approvers = expand_groups(self.s.client, wanted) if wanted else frozenset()
        is_admin = self.s.members.is_admin(user)
        required = scenario.approval.required or not granting
        refusal = grant_refusal(scenario.id, required, user, approvers, is_admin)
        if refusal or not granting:
            return refusal
        # the policy (SCE_POLICY) narrows who may approve which faults: admins included
        expand = self.s.engine.starting.expand_people
        rules = approval_rules(scenario, self.s.settings.policy)
        return approver_refusal([ApproverRule(i, r, expand(list(r.approvers))) for i, r in rules], user)

    @staticmethod
    def _said(exc: Exception) -> str:
        if isinstance(exc, ScenarioError):  # it may quote the scenario's text
            return literal(redact(str(exc)))
        return str(exc)  # the sentences show what was typed literally already

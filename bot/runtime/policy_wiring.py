"""The deployment's policy file (SCE_POLICY) handed to the engine's start and approval checks.

The policy's approvers may be Slack user groups: they are expanded to people with the Slack client when
an approval is given (outside every lock). A group Slack cannot list, or a Slack that cannot be reached
(`sce run` without a token), approves nobody: the policy fails closed.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.config import Settings
from bot.faults.attack_pod import DEFAULT_IMAGE
from bot.gameday.running.engine import Engine
from bot.slack.oncall_lookup import expand_groups

log = logging.getLogger(__name__)


def apply_policy(engine: Engine, settings: Settings, client: WebClient) -> None:
    """Let ``engine`` check every start and approval against ``settings.policy`` (None: no policy)."""
    engine.starting.policy = settings.policy
    engine.starting.default_image = settings.probe_image or DEFAULT_IMAGE  # an attack pod naming no image

    def people(ids: list[str]) -> frozenset[str]:
        try:
            return expand_groups(client, ids)
        except Exception as exc:  # Slack unreachable: its groups approve nobody
            log.warning("policy approvers: user groups could not be read (%s)", type(exc).__name__)
            return frozenset(i for i in ids if not i.startswith("S"))

    engine.starting.expand_people = people

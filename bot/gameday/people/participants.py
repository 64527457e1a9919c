"""The people of a game day: who took part, in which roles, and the names to show them by.

The core knows people only by their Slack user ids; names come from the edge (``users.info``) as a plain
mapping, so nothing here imports Slack. An id the mapping does not name is shown as the id itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.gameday.measuring.report_models import ParticipantReport
from bot.gameday.timeline import Event, Kind

# a Slack user id (U..., or W... in Enterprise Grid); alert actors look like "alertmanager:HighErrorRate"
USER_ID = re.compile(r"^[UW][A-Z0-9]{1,30}$")

# a role each kind of event gives its actor, in the order roles are listed
_ACTOR_ROLES = {Kind.STARTED: "facilitator", Kind.APPROVED: "approver", Kind.STANDING_APPROVED: "approver"}


def is_user_id(value: object) -> bool:
    return isinstance(value, str) and USER_ID.match(value) is not None


def user_ids(events: list[Event], roster: Mapping[str, str]) -> list[str]:
    """Every user id the debrief may show, in order of first appearance (the roster first)."""
    seen: dict[str, None] = {}
    for member in roster.values():
        if is_user_id(member):
            seen.setdefault(member, None)
    for event in events:
        for value in (event.actor, *_people_in(event)):
            if is_user_id(value):
                seen.setdefault(str(value), None)
    return list(seen)


def people_names(events: list[Event], roster: Mapping[str, str], names: Mapping[str, str]) -> dict[str, str]:
    """User id -> the name to show: from ``names`` when it has a non-empty one, else the id."""
    return {user: (names.get(user) or "").strip() or user for user in user_ids(events, roster)}


def participants(
    events: list[Event], roster: Mapping[str, str], names: Mapping[str, str]
) -> list[ParticipantReport]:
    """Everyone who acted, was paged or was given a role, with their roles and how many things they did."""
    roles: dict[str, list[str]] = {}
    actions: dict[str, int] = {}

    def role(user: object, name: str) -> None:
        if is_user_id(user):
            held = roles.setdefault(str(user), [])
            if name not in held:
                held.append(name)

    for name, user in roster.items():
        role(user, name)
    for event in events:
        if is_user_id(event.actor):
            actor = str(event.actor)
            actions[actor] = actions.get(actor, 0) + 1
            roles.setdefault(actor, [])
            if event.kind in _ACTOR_ROLES:
                role(actor, _ACTOR_ROLES[event.kind])
        data = event.data
        if event.kind is Kind.ROLE_ASSIGNED:
            role(data.get("user"), str(data.get("role")))
        elif event.kind is Kind.PAGE_SENT:
            role(data.get("responder"), "paged")
        elif event.kind is Kind.ESCALATED:
            role(data.get("to"), "paged (escalation)")
        elif event.kind is Kind.HANDOFF_REQUESTED:
            role(data.get("to"), "took a handoff")
    shown = people_names(events, roster, names)
    return [
        ParticipantReport(user=user, name=shown.get(user, user), roles=held, actions=actions.get(user, 0))
        for user, held in roles.items()
    ]


def _people_in(event: Event) -> list[object]:
    """The user ids an event's data names (besides its actor)."""
    data = event.data
    if event.kind is Kind.PAGE_SENT:
        return [data.get("responder")]
    if event.kind is Kind.ESCALATED:
        return [data.get("to")]
    if event.kind is Kind.HANDOFF_REQUESTED:
        return [data.get("from"), data.get("to")]
    if event.kind is Kind.ROLE_ASSIGNED:
        return [data.get("user")]
    if event.kind is Kind.STARTED:
        roster = data.get("roster")
        return list(roster.values()) if isinstance(roster, dict) else []
    return []

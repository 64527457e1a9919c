"""Who is primary and secondary for one game day.

From the start arguments (fixed for the game day), else the scenario's Slack user group (its first two
members, fixed at start), else a rotation file: then the rotation itself is kept with the game day and
asked again at each page, so a rotation that hands over mid-drill pages the right person.
"""

from __future__ import annotations

from bot.gameday.people.mentions import user_id_from
from bot.gameday.people.rotation import Rotation, on_call, parse_rotation
from bot.gameday.scenario.model import PRIMARY, SECONDARY, Scenario

ROTATION_KEY = "rotation"  # roster entry holding the rotation file's text
SOURCE_KEY = "source"


class RosterError(ValueError):
    """The on-call people could not be worked out; the message says what to type."""


def resolve_roster(
    scenario: Scenario,
    args: dict[str, str],
    group_members: list[str] | None = None,
    rotation_text: str | None = None,
    now: float = 0.0,
) -> dict[str, str]:
    """The roster a game day starts with; placeholders come from arguments, group or rotation."""
    wanted = {"primary": scenario.oncall.primary, "secondary": scenario.oncall.secondary}
    given = {"primary": args.get("oncall") or args.get("primary"), "secondary": args.get("secondary")}
    fallback: dict[str, str] = {}
    roster: dict[str, str] = {}
    if group_members and len(group_members) >= 2:
        fallback = {"primary": group_members[0], "secondary": group_members[1]}
        roster[SOURCE_KEY] = f"group:{scenario.oncall.group}"
    elif rotation_text is not None:
        now_on_call = on_call(parse_rotation(rotation_text), now)
        fallback = {"primary": now_on_call.primary, "secondary": now_on_call.secondary}
        roster[SOURCE_KEY] = "rotation"
        roster[ROTATION_KEY] = rotation_text
    for role, value in wanted.items():
        placeholder = value in (PRIMARY, SECONDARY)
        source = given[role] if (placeholder or given[role]) else value
        if source is None and role in fallback:
            roster[role] = fallback[role]
            continue
        if source is None:
            example = "oncall=@alice secondary=@bob"
            raise RosterError(
                f"who is {role} on call? add it to the command, e.g. `/sce start {scenario.id} {example}`, "
                "or give the scenario an oncall.group or oncall.rotation"
            )
        user = user_id_from(source)
        if user is None:
            raise RosterError(f"`{source}` is not a Slack user; type @ and pick the person for {role}=")
        roster[role] = user
    if any(given.values()):  # people named in the command override the rotation for the whole drill
        roster.pop(ROTATION_KEY, None)
        roster.pop(SOURCE_KEY, None)
    return roster


def roster_at(roster: dict[str, str], at: float) -> dict[str, str]:
    """The roster in force at ``at``: a rotation-backed roster follows the rotation's handoffs."""
    text = roster.get(ROTATION_KEY)
    if text is None:
        return roster
    rotation: Rotation = parse_rotation(text)
    current = on_call(rotation, at)
    return {**roster, "primary": current.primary, "secondary": current.secondary}

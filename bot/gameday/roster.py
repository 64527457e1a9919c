"""Who is primary and secondary for one game day: filled once at start, then fixed."""

from __future__ import annotations

from bot.gameday.mentions import user_id_from
from bot.gameday.scenario import PRIMARY, SECONDARY, Scenario


class RosterError(ValueError):
    """The on-call people could not be worked out; the message says what to type."""


def resolve_roster(scenario: Scenario, args: dict[str, str]) -> dict[str, str]:
    """Fill ``@primary``/``@secondary`` from ``oncall=``/``primary=`` and ``secondary=`` arguments.

    Values in the scenario that are not placeholders are used as they are.
    """
    wanted = {"primary": scenario.oncall.primary, "secondary": scenario.oncall.secondary}
    given = {"primary": args.get("oncall") or args.get("primary"), "secondary": args.get("secondary")}
    roster: dict[str, str] = {}
    for role, value in wanted.items():
        placeholder = value in (PRIMARY, SECONDARY)
        source = given[role] if (placeholder or given[role]) else value
        if source is None:
            example = "oncall=@alice secondary=@bob"
            raise RosterError(
                f"who is {role} on call? add it to the command, e.g. `/sce start {scenario.id} {example}`"
            )
        user = user_id_from(source)
        if user is None:
            raise RosterError(f"`{source}` is not a Slack user; type @ and pick the person for {role}=")
        roster[role] = user
    return roster

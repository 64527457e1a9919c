"""Who to page for a scenario: the command's people, else the scenario's user group, else a rotation."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.gameday.people.roster import RosterError, resolve_roster
from bot.gameday.scenario.catalog import RotationCatalog
from bot.gameday.scenario.model import Scenario
from bot.integrations.pagerduty import OnCallSchedule, PagerDutyError


def group_members(client: WebClient, group: str) -> list[str]:
    """The members of a Slack user group, in Slack's order: first is primary, second secondary."""
    try:
        response = client.usergroups_users_list(usergroup=group)
    except SlackApiError as exc:
        raise RosterError(f"Could not read the user group {group} ({exc.response.get('error')}).") from None
    members = [str(u) for u in response.get("users") or []]
    if len(members) < 2:
        raise RosterError(f"The user group {group} needs at least two members to page a secondary.")
    return members


def pagerduty_members(client: WebClient, schedule: OnCallSchedule, schedule_id: str, now: float) -> list[str]:
    """Primary and secondary on a PagerDuty schedule now, as Slack user ids (matched by email)."""
    try:
        on_call = schedule.on_call(schedule_id, now)
    except PagerDutyError as exc:
        raise RosterError(f"PagerDuty could not say who is on call on {schedule_id}: {exc}") from None
    members = []
    for person in (on_call.primary, on_call.secondary):
        if not person:
            continue
        try:
            members.append(str(client.users_lookupByEmail(email=person)["user"]["id"]))
        except SlackApiError:
            raise RosterError(
                f"{person} is on call on {schedule_id} but has no Slack account with that email."
            ) from None
    if len(members) < 2:
        raise RosterError(f"PagerDuty schedule {schedule_id} has no secondary on call to escalate to.")
    return members


def roster_for(
    client: WebClient,
    rotations: RotationCatalog,
    scenario: Scenario,
    options: dict[str, str],
    now: float,
    pagerduty: OnCallSchedule | None = None,
) -> dict[str, str]:
    """Raises RosterError, RotationError or UnknownScenario with a sentence for the person asking."""
    explicit = bool(options.get("oncall") or options.get("primary"))
    oncall = scenario.oncall
    group = None if explicit or not oncall.group else group_members(client, oncall.group)
    if group is None and not explicit and oncall.pagerduty_schedule and pagerduty is not None:
        group = pagerduty_members(client, pagerduty, oncall.pagerduty_schedule, now)
    rotation = None if explicit or group else rotations.text_for(oncall.rotation)
    return resolve_roster(scenario, options, group, rotation, now)


def expand_groups(client: WebClient, people: frozenset[str] | list[str]) -> frozenset[str]:
    """User ids as they are, and the members of user groups (S...) in their place."""
    expanded: set[str] = set()
    for entry in people:
        if entry.startswith("S"):
            try:
                expanded.update(
                    str(u) for u in client.usergroups_users_list(usergroup=entry).get("users") or []
                )
            except SlackApiError:
                continue  # an unreadable group approves nobody
        else:
            expanded.add(entry)
    return frozenset(expanded)

"""Who may see a game day, and into which channel one may be booked: its channel's people decide.

A game day, its status, debrief, history and schedule belong to the channel it runs in. Slack says who
is in that channel (the edge asks it); these rules only decide, so every surface applies the same one.
``members`` may be a collection that asks Slack only when it is first looked into: the rules look at
it last, so a question answered by the channel it was asked in or by the admins costs no call.
"""

from __future__ import annotations

from collections.abc import Collection

from bot.gameday.people.mentions import literal

NOT_BOOKABLE = (
    "A game day can be booked only into a channel that both you and the bot are in: pick the channel "
    "with # so Slack links it, and `/invite @sce` there first."
)
NOT_FOUND = "There is no game day `{typed}` that you can see; ask for it in the channel it ran in."


def may_see(
    channel: str,
    user: str,
    members: Collection[str],
    admins: Collection[str],
    asked_in: str | None = None,
) -> bool:
    """True when ``user`` may see what happened in ``channel``: asked there, an admin, or a member of it.

    Asking in the channel itself is enough: Slack lets only a channel's members type in it, and the
    answer is shown there, to the person asking, and nowhere else.
    """
    if not user:
        return False
    return asked_in == channel or user in admins or user in members


def unseen_gameday(typed: str) -> str:
    """The one answer for an id that does not exist and for one of a channel the asker is not in."""
    return NOT_FOUND.format(typed=literal(typed))


def booking_refusal(requester: str, members: Collection[str], bot_user: str | None) -> str | None:
    """None when a game day may be booked into the channel of ``members``; otherwise why not.

    Both the person booking and the bot must be in it: the person, so nobody books a drill into a room
    they cannot see; the bot, so the reminders and the start can be posted. The sentence is the same
    whatever is missing, so it says nothing about a private channel to someone outside it.
    """
    if requester and bot_user and requester in members and bot_user in members:
        return None
    return NOT_BOOKABLE

"""Preflight's Slack check: the bot is in the channel a game day would run in.

A slash command reaches the bot from any channel, but the bot can post its thread only where it is a
member: a game day started elsewhere would begin with a kickoff Slack refuses. So `/sce start` asks
Slack (``conversations.info``, fresh: someone may have just invited it) and refuses with what to do.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.gameday.preflight import Check

log = logging.getLogger(__name__)

NAME = "slack channel"
NOT_IN = (
    "I am not in this channel, so I could not post the game day's thread: invite me "
    "(`/invite @` and my name) and start it again"
)


def bot_in_channel(client: WebClient, channel: str) -> Check:
    """Whether the bot is a member of ``channel`` (its own DM counts), as one preflight check."""
    try:
        found = client.conversations_info(channel=channel).get("channel") or {}
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        if error in ("channel_not_found", "not_in_channel"):  # a private channel it is not in
            return Check(NAME, False, NOT_IN)
        log.warning("conversations.info %s failed: %s", channel, error)
        return Check(
            NAME, False, f"Slack did not say whether I am in this channel ({error}); try again", blind=True
        )
    except (SlackClientError, OSError):
        log.warning("conversations.info %s: Slack out of reach", channel, exc_info=True)
        return Check(NAME, False, "Slack did not answer whether I am in this channel; try again", blind=True)
    if found.get("is_member") is True or found.get("is_im") is True:
        return Check(NAME, True, "I am in this channel")
    return Check(NAME, False, NOT_IN)

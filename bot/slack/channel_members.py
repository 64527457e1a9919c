"""Who is in a channel, as Slack says (conversations.members), remembered for a short while.

Every surface that shows a game day asks here and lets the core rule (bot.gameday.people.visibility) decide.
Answers are kept ``MEMBERS_TTL`` seconds per channel: a Home tab or a `/sce debrief` costs at most one
call per channel a minute, and someone who leaves a channel stops seeing its game days within that time.
Slack's refusals (a private channel the bot is not in, a DM) mean nobody is in it: the rule fails closed.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.gameday.people import visibility
from bot.slack.oncall_lookup import expand_groups

log = logging.getLogger(__name__)
MEMBERS_TTL = 60.0
PAGE = 1000  # Slack's largest page
MAX_PAGES = 50  # 50,000 members; anyone past them is not seen (fails closed)
MAX_CHANNELS = 1024  # channels remembered; ids typed in commands must not grow the cache without end
DEFINITE = frozenset(
    {"channel_not_found", "not_in_channel", "missing_scope", "method_not_supported_for_channel_type"}
)
"""Slack's answers that will not change in a minute, so they are remembered like a member list."""


class _AskedWhenNeeded(Collection[str]):
    """A set loaded on first use, so a rule that is settled earlier never makes the call."""

    def __init__(self, load: Callable[[], frozenset[str]]):
        self._load = load
        self._value: frozenset[str] | None = None

    def _get(self) -> frozenset[str]:
        if self._value is None:
            self._value = self._load()
        return self._value

    def __contains__(self, item: object) -> bool:
        return item in self._get()

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


class ChannelMembers:
    def __init__(
        self, client: WebClient, now: Callable[[], float], admins: frozenset[str], ttl: float = MEMBERS_TTL
    ):
        self.client = client
        self.now = now
        self.ttl = ttl
        self.configured_admins = admins
        self._lock = threading.Lock()
        self._channels: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()
        self._admins: tuple[float, frozenset[str]] | None = None
        self._bot_user: str | None = None

    def of(self, channel: str) -> frozenset[str]:
        """The user ids in ``channel`` (the bot's too when it is in it); empty when Slack will not say."""
        with self._lock:
            cached = self._channels.get(channel)
            if cached is not None and cached[0] > self.now():
                return cached[1]
        members, definite = self._ask(channel)
        if definite:
            with self._lock:
                self._channels[channel] = (self.now() + self.ttl, members)
                self._channels.move_to_end(channel)
                while len(self._channels) > MAX_CHANNELS:
                    self._channels.popitem(last=False)
        return members

    def _ask(self, channel: str) -> tuple[frozenset[str], bool]:
        found: list[str] = []
        cursor: str | None = None
        try:
            for _ in range(MAX_PAGES):
                response = self.client.conversations_members(channel=channel, limit=PAGE, cursor=cursor)
                found.extend(str(m) for m in response.get("members") or [])
                cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return frozenset(found), True
            log.warning("channel %s has more than %d members; the others are not seen", channel, len(found))
            return frozenset(found), True
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error not in DEFINITE:
                log.warning("conversations.members %s failed: %s", channel, error)
            return frozenset(), error in DEFINITE
        except (SlackClientError, OSError):
            log.warning("conversations.members %s: Slack out of reach", channel, exc_info=True)
            return frozenset(), False

    def admins(self) -> frozenset[str]:
        """SCE_ADMINS as user ids, user groups expanded (asked again after ``ttl``)."""
        if not self.configured_admins:
            return frozenset()
        with self._lock:
            if self._admins is not None and self._admins[0] > self.now():
                return self._admins[1]
        try:
            expanded = expand_groups(self.client, self.configured_admins)
        except (SlackClientError, OSError):
            log.warning("could not read the admins' user groups", exc_info=True)
            return frozenset(a for a in self.configured_admins if not a.startswith("S"))
        with self._lock:
            self._admins = (self.now() + self.ttl, expanded)
        return expanded

    def bot_user(self) -> str | None:
        """The bot's own user id (auth.test, asked once)."""
        if self._bot_user is None:
            try:
                self._bot_user = str(self.client.auth_test()["user_id"])
            except (SlackClientError, OSError, KeyError):
                log.warning("auth.test failed; the bot's own membership is unknown", exc_info=True)
        return self._bot_user

    def may_see(self, channel: str, user: str, asked_in: str | None = None) -> bool:
        """The core rule with Slack's answers, each asked only if the rule gets that far."""
        return visibility.may_see(
            channel,
            user,
            _AskedWhenNeeded(lambda: self.of(channel)),
            _AskedWhenNeeded(self.admins),
            asked_in,
        )

    def is_admin(self, user: str) -> bool:
        return user in self.admins()

    def booking_refusal(self, channel: str, requester: str) -> str | None:
        """None when ``requester`` may book a game day into ``channel``; otherwise the sentence."""
        return visibility.booking_refusal(requester, self.of(channel), self.bot_user())

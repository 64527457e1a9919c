"""People's names for the debrief, from Slack's ``users.info``, remembered for a while.

The core knows people by their user ids only (``bot.gameday.people.participants``); here, at the
edge, each id is asked once and its name kept ``NAMES_TTL`` seconds, so a debrief of many game days, or
several debriefs published at once, costs one call per person. A user Slack will not describe (deleted,
another workspace, a rate limit) keeps their id: a debrief is never held up for a name.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.gameday.measuring.report import with_names
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.people.participants import is_user_id

log = logging.getLogger(__name__)
NAMES_TTL = 3600.0  # a renamed person shows their new name within the hour
MAX_PEOPLE = 4096  # names remembered; the oldest go first
MAX_NAME = 80  # characters of a name shown (Slack's own limit is 80)


class SlackNames:
    """User id -> display name, through ``users.info``, cached per id."""

    def __init__(
        self, client: WebClient, ttl: float = NAMES_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.clock = clock
        self._names: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def names(self, users: Iterable[str]) -> dict[str, str]:
        """The name of each user id Slack could describe (ids it could not are left out)."""
        result = {}
        for user in dict.fromkeys(users):
            name = self.name(user)
            if name is not None:
                result[user] = name
        return result

    def name(self, user: str) -> str | None:
        if not is_user_id(user):
            return None
        now = self.clock()
        with self._lock:
            cached = self._names.get(user)
            if cached is not None and now - cached[0] < self.ttl:
                return cached[1]
        name = self._ask(user)
        if name is not None:
            with self._lock:
                self._names[user] = (now, name)
                self._names.move_to_end(user)
                while len(self._names) > MAX_PEOPLE:
                    self._names.popitem(last=False)
        return name

    def _ask(self, user: str) -> str | None:
        try:
            found = self.client.users_info(user=user).get("user") or {}
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("users.info did not name %s (%s); the debrief shows the id", user, _error(exc))
            return None
        profile = found.get("profile") or {}
        for candidate in (profile.get("display_name"), profile.get("real_name"), found.get("real_name")):
            if isinstance(candidate, str) and candidate.strip():
                return candidate.strip()[:MAX_NAME]
        name = found.get("name")
        return name.strip()[:MAX_NAME] if isinstance(name, str) and name.strip() else None


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return type(exc).__name__


def named(debrief: Debrief, names: SlackNames | None) -> Debrief:
    """The debrief with the people Slack can name shown by name; as it is without a client."""
    return debrief if names is None else with_names(debrief, names.names(debrief.people))


def names_from_token(token: str | None, api_url: str, timeout: int = 5) -> SlackNames | None:
    """Names for a command line that has the bot's token (``sce debrief``), else None: ids are shown."""
    return SlackNames(WebClient(token=token, base_url=api_url, timeout=timeout)) if token else None

"""No surprise chaos: every channel in a scenario's ``comms.announce`` (SRE, helpdesk, app teams) is told,
in an exercise-marked message, when a game day of it is booked, ``remind_before`` ahead of a booked
start, when it starts and when it ends (with its verdict).

The start and the end go out through the game day's outbox (a row committed with the change, posted
after the commit, retried with the timers' backoff); the booking and the reminder from the schedule's
own claim. Whatever the path, each message carries its key in its Slack metadata and the channel is
searched for that key before it is posted, so a retry never posts it twice (as the weekly digest does).

A channel the bot cannot post to (not in it, archived, no such channel) is one logged line, and, for a
game day, one note in its thread (looked for by its key before it is said again); it never stops the
game day nor the other channels. Only Slack failing for a while (rate limit, 5xx, no connection) is
retried. A ``#name`` is resolved to its id with ``conversations.list`` (bounded pages, cached).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.gameday.ports import GameDayRecord, GameDayTx
from bot.gameday.running.engine import Engine
from bot.gameday.running.finishing import build_debrief_for
from bot.gameday.running.outbound import sends
from bot.gameday.running.outbox import PostKind
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState, Status
from bot.slack import blocks
from bot.slack.announcer import POST_EVENT, SlackAnnouncer
from bot.slack.keyed_posts import find_keyed_post
from bot.slack.render import render

log = logging.getLogger(__name__)
COMMS_POST = "comms"
LIST_PAGES = 20  # conversations.list pages of 200 read to resolve a name: 4,000 channels
NAMES_TTL = 600.0  # how long a name -> id lookup is trusted
HISTORY_PAGES = 5  # pages of 100 searched for a message's key before posting it
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class Unreachable(Exception):
    """A channel the bot cannot post to; ``why`` is Slack's error or our sentence."""

    def __init__(self, ref: str, why: str):
        super().__init__(f"{ref}: {why}")
        self.ref, self.why = ref, why


def _transient(exc: SlackApiError) -> bool:
    status = getattr(exc.response, "status_code", 200) or 200
    return status == 429 or status >= 500 or str(exc.response.get("error")) in TRANSIENT


class ChannelAnnouncer:
    """Posts to the announce channels: names resolved, each message once per key."""

    def __init__(self, client: WebClient, clock: Callable[[], float]):
        self.client = client
        self.now = clock
        self._names: dict[str, str] = {}
        self._names_at = float("-inf")
        self._lock = threading.Lock()

    def resolve(self, ref: str) -> str:
        """The channel id of ``#name`` (or the id itself); Unreachable when the bot sees no such channel."""
        if not ref.startswith("#"):
            return ref
        name = ref[1:]
        with self._lock:
            if self.now() - self._names_at > NAMES_TTL or name not in self._names:
                self._names, self._names_at = self._list_names(), self.now()
            found = self._names.get(name)
        if found is None:
            raise Unreachable(ref, "no channel of that name the bot can see")
        return found

    def _list_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        cursor = None
        for _ in range(LIST_PAGES):
            response = self.client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
            )
            for channel in response.get("channels") or []:
                if isinstance(channel, dict) and channel.get("name") and channel.get("id"):
                    names[str(channel["name"])] = str(channel["id"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return names

    def post_once(self, ref: str, key: str, since: float, text: str) -> str:
        """Post ``text`` to the channel ``ref`` unless a message with ``key`` is there since ``since``; the
        message's ts. Unreachable when the bot cannot post there; Slack's passing failures are raised."""
        try:
            channel = self.resolve(ref)
            found = find_keyed_post(self.client, channel, key, since, HISTORY_PAGES)
            if found is not None:
                return found
            response = self.client.chat_postMessage(
                channel=channel,
                text=blocks.fallback(text),
                blocks=blocks.sections(text),
                unfurl_links=False,
                metadata={"event_type": POST_EVENT, "event_payload": {"key": key}},
            )
            return str(response["ts"])
        except SlackApiError as exc:
            if _transient(exc):
                raise
            raise Unreachable(ref, str(exc.response.get("error") or "refused")) from None

    def announce(self, refs: list[str], key: str, since: float, text: str) -> list[Unreachable]:
        """``text`` to every channel of ``refs`` (key: ``<key>:<channel>``); the ones it could not reach,
        each logged once here. Slack's passing failures are raised (the caller tries again, and what
        went out already is found by its key)."""
        missed = []
        for ref in refs:
            try:
                self.post_once(ref, f"{key}:{ref}", since, text)
            except Unreachable as exc:
                log.warning("comms: cannot announce to %s (%s)", exc.ref, exc.why)
                missed.append(exc)
        return missed


def announcement(moment: str, scenario: Scenario, channel: str, **more: Any) -> str:
    """The exercise-marked message of one moment (booked, reminder, start, end)."""
    change = scenario.change
    return render(
        "announcement",
        moment=moment,
        scenario_id=scenario.id,
        title=scenario.title,
        channel=channel,
        ticket=change.ticket if change else None,
        url=change.url if change else None,
        **more,
    )


def register_comms(engine: Engine, thread: SlackAnnouncer, channels: ChannelAnnouncer) -> None:
    """Teach the engine's outbox the announcement post, and have every start and end post one to each
    announce channel (every process: another replica may retry it). A dry run announces nothing: it
    changes nothing anybody could mistake for an incident."""

    def wanted(tx: GameDayTx, scenario: Scenario) -> list[str]:
        return [] if scenario.comms is None or not sends(tx.record) else list(scenario.comms.announce)

    def at_start(tx: GameDayTx, scenario: Scenario) -> None:
        for ref in wanted(tx, scenario):
            engine.injects.outbox.post(tx, f"comms:start:{ref}", COMMS_POST, {"moment": "start", "ref": ref})

    def at_end(tx: GameDayTx, scenario: Scenario, ended_at: float) -> None:
        for ref in wanted(tx, scenario):
            engine.injects.outbox.post(tx, f"comms:end:{ref}", COMMS_POST, {"moment": "end", "ref": ref})

    def send(
        record: GameDayRecord, scenario: Scenario, state: GameDayState, payload: dict[str, Any], key: str
    ) -> str:
        moment, ref = str(payload["moment"]), str(payload["ref"])
        more: dict[str, Any] = {"gameday_id": record.id, "waiting": state.status is Status.AWAITING_APPROVAL}
        if moment == "end":  # read outside every lock, like the debrief it agrees with
            debrief = build_debrief_for(record, engine.store.events(record.id))
            more.update(status=debrief.status, verdict=debrief.verdict)
        text = announcement(moment, scenario, record.channel, **more)
        try:
            return channels.post_once(ref, key, record.created_at - 1, text)
        except Unreachable as exc:
            log.warning("comms: game day %s cannot announce to %s (%s)", record.id, exc.ref, exc.why)
            note = f"{record.id}:comms-unreachable:{ref}"  # said once in the thread, whatever the moment
            said = thread.find_posted(record, note)
            if said is not None:
                return said
            text = render("announce_unreachable", shown=ref, why=exc.why)
            return thread.thread_post(record, text, blocks.sections(text), note)

    engine.injects.outbox.register(COMMS_POST, PostKind(send=send))
    engine.starting.after_start.append(at_start)
    engine.finishing.after_end.append(at_end)

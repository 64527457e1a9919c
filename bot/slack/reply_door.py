"""A person's reply in a known game-day thread, taken at the door: to its inbox, without a pass through Bolt.

Thread replies are most of what Slack sends during a game day, and Bolt's pass for each (the body parsed
and its signature checked again, its middleware, its listener matched, then a hop to its listener pool
after the ack) cost the bot more than writing the reply did. The door has already checked the signature,
the timestamp and the replay guard, and has read the event; when the event is a person's plain message
in a thread this process already knows as a game day's (it posted the kickoff, or looked the thread up
once), it does here exactly what the message listener would (``listeners/events.take_reply``) and
answers 200. Anything else (another app's post, an edit, a subtype, a thread not known here, alert
channels) goes to Bolt as before, and so does everything until Bolt has named the bot (its first
authorized request), so that the bot's own posts are told apart as the listener tells them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.runtime.service import Services
from bot.slack.inert import by_a_bot, is_edit
from bot.slack.listeners.events import take_reply


class SelfIds:
    """The bot's own bot id and bot user, as Bolt's authorization found them (None until then)."""

    bot_user_id: str | None = None
    bot_id: str | None = None


class RememberSelf(Middleware):
    """Keeps what Bolt's authorization says of the bot, from the first request that has it."""

    def __init__(self, ids: SelfIds):
        self.ids = ids

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        if self.ids.bot_user_id is None and req.context.bot_user_id:
            self.ids.bot_id, self.ids.bot_user_id = req.context.bot_id, req.context.bot_user_id
        return next()


def remember_self(app: App) -> SelfIds:
    ids = SelfIds()
    app.use(RememberSelf(ids))
    return ids


def reply_taker(services: Services, ids: SelfIds) -> Callable[[dict[str, Any]], bool]:
    """True when the event was a reply this took (or a message in a game-day thread that says nothing
    the bot acts on); False leaves it to Bolt."""
    store = services.store

    def take(event: dict[str, Any]) -> bool:
        user, thread_ts, channel, ts = (event.get(k) for k in ("user", "thread_ts", "channel", "ts"))
        if ids.bot_user_id is None or not isinstance(user, str) or user in (ids.bot_user_id, ids.bot_id):
            return False
        if not (isinstance(thread_ts, str) and isinstance(channel, str) and isinstance(ts, str)):
            return False
        if thread_ts == ts or not _a_time(ts):
            return False
        if event.get("type") != "message" or event.get("subtype") or is_edit(event) or by_a_bot(event):
            return False
        gameday_id = store.known_thread(channel, thread_ts)
        if gameday_id is None:
            return False
        take_reply(services, event, gameday_id)
        return True

    return take


def _a_time(ts: str) -> bool:
    try:
        float(ts)
    except ValueError:
        return False
    return True

"""Thread replies and reactions in a game-day thread, each timed by Slack's own ts; and a new channel
that means a real incident has started (SCE_INCIDENT_CHANNELS), which halts every game day."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.gameday.measuring.alerts import alert_from_slack_message
from bot.gameday.running.replies import parse_reply
from bot.runtime.service import Services
from bot.slack.inert import by_a_bot, is_edit, ours
from bot.slack.message_text import message_text

ACK_REACTIONS = frozenset({"eyes", "white_check_mark", "heavy_check_mark"})
INCIDENT_CHANNEL = "incident-channel"  # who pulled the halt, and its source


def register_messages(app: App, services: Services) -> None:
    """Messages: Bolt tries its listeners in the order they were registered, and each try costs it tens
    of microseconds, so this one, the busiest by far, is registered before every other."""
    store = services.store

    @app.event("message")
    def on_message(event: dict[str, Any], context: BoltContext) -> None:
        if is_edit(event) or ours(event, context.bot_id, context.bot_user_id):
            return  # our own posts carry the markers: never count them as detections
        channel = event.get("channel", "")
        thread_ts = event.get("thread_ts")
        in_thread = bool(thread_ts) and thread_ts != event.get("ts")
        gameday_id = store.find_by_thread(channel, str(thread_ts)) if in_thread else None
        if gameday_id is None and (
            channel == services.settings.alerts_channel or channel in services.intake.stop_channels()
        ):
            # a person's or another app's (Alertmanager, PagerDuty, Datadog): text, attachments, blocks
            services.intake.handle(alert_from_slack_message(channel, message_text(event), event["ts"]))
            return
        if by_a_bot(event) or event.get("subtype") or "user" not in event or gameday_id is None:
            return
        take_reply(services, event, gameday_id)


def take_reply(services: Services, event: dict[str, Any], gameday_id: str) -> None:
    """A person's message in ``gameday_id``'s thread: a reply, if it is one, put in the game day's inbox."""
    reply = parse_reply(event.get("text") or "")
    if reply is not None:  # written by the inbox, in order, batched with the game day's other input
        # one message, one effect: Slack may deliver it again under another event id (a proxy's
        # retry, `message` and `app_mention` for the same post), so the message itself is the key
        at, delivery = float(event["ts"]), f"message:{event['channel']}:{event['ts']}"
        item = services.engine.reply_input(reply, event["user"], at, delivery, event["ts"])
        services.inbox.put(gameday_id, item)


def register(app: App, services: Services) -> None:
    engine, inbox = services.engine, services.inbox

    @app.event("channel_created")
    def on_channel_created(event: dict[str, Any]) -> None:
        # as Slack documents it: {"type": "channel_created", "channel": {"id", "name", "created", "creator"}}
        patterns, lever = services.settings.incident_channels, services.halt
        channel = event.get("channel")
        if patterns is None or lever is None or not isinstance(channel, dict):
            return
        name = channel.get("name")
        glob = patterns.match(name)
        if glob is None:
            return
        creator = str(channel.get("creator") or "someone")[:32]
        reason = f"new channel #{name} (opened by {creator}) matches SCE_INCIDENT_CHANNELS {glob}"
        lever.pull(INCIDENT_CHANNEL, reason, INCIDENT_CHANNEL)

    @app.event("reaction_added")
    def on_reaction(event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if event.get("reaction") not in ACK_REACTIONS or item.get("type") != "message":
            return
        found = engine.find_target(item["channel"], item["ts"])
        if found is None:
            return
        gameday_id, target = found
        at = float(event.get("event_ts") or item["ts"])
        # the reaction itself (who, on what, which emoji, when) is the key, whatever event id brought it
        delivery = f"reaction:{item['channel']}:{item['ts']}:{event['user']}:{event['reaction']}:{at:.6f}"
        inbox.put(gameday_id, engine.reaction_input(event["user"], at, delivery, target))

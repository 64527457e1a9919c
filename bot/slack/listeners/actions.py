"""Button clicks: each is timed by its own action_ts and counted once per (action_ts, user)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.gameday.guardrails import facilitator_refusal
from bot.gameday.timeline import Kind
from bot.service import Services
from bot.slack import blocks


def _context(body: dict[str, Any], action: dict[str, Any]) -> tuple[str, str, float, str]:
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
    at = float(action["action_ts"])
    return user, channel, at, f"action:{action['action_ts']}:{user}"


def register(app: App, services: Services) -> None:
    engine, store = services.engine, services.store

    def tell(client: WebClient, channel: str, user: str, text: str) -> None:
        client.chat_postEphemeral(channel=channel, user=user, text=text)

    def on_target(
        kind: str, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        user, channel, at, delivery = _context(body, action)
        message_ts = body["container"]["message_ts"]
        found = store.find_target(channel, message_ts)
        if found is None:
            tell(client, channel, user, "This message is not part of a running game day.")
            return
        gameday_id, target = found
        if kind == blocks.ACK:
            outcome = engine.acknowledge(gameday_id, user, at, delivery, target_id=target)
        else:
            mark = Kind.DETECTED if kind == blocks.DETECTED else Kind.CONTAINED
            outcome = engine.mark(gameday_id, mark, user, at, delivery, source="button", page_id=target)
        if not outcome.ok:
            tell(client, channel, user, outcome.message)

    def listener_for(kind: str) -> Callable[..., None]:
        def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
            on_target(kind, ack, body, action, client)

        return listener

    for action_id in (blocks.ACK, blocks.DETECTED, blocks.CONTAINED):
        app.action(action_id)(listener_for(action_id))

    @app.action(blocks.ABORT)
    def on_abort(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        user, channel, _, _ = _context(body, action)
        refusal = facilitator_refusal("abort", user, services.settings.facilitators)
        tell(client, channel, user, refusal or engine.abort(action["value"], user, "abort button").message)

    @app.action(blocks.END)
    def on_end(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        user, channel, _, _ = _context(body, action)
        refusal = facilitator_refusal("end", user, services.settings.facilitators)
        tell(client, channel, user, refusal or engine.end(action["value"], user).message)

    @app.action(blocks.APPROVE)
    def on_approve(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        user, channel, at, delivery = _context(body, action)
        tell(client, channel, user, engine.approve(action["value"], user, at, delivery).message)

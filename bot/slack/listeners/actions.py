"""Button clicks and pickers: each is timed by its own action_ts and counted once per (action_ts, user)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.gameday.people.mentions import user_id_from
from bot.gameday.running.outcome import Outcome
from bot.gameday.scenario.guardrails import facilitator_refusal
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.timeline import Kind
from bot.runtime.service import Services
from bot.slack import blocks
from bot.slack.oncall_lookup import expand_groups

Listener = Callable[..., None]
NOT_A_GAMEDAY = "This message is not part of a game day."


def _context(body: dict[str, Any], action: dict[str, Any]) -> tuple[str, str, float, str]:
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
    at = float(action["action_ts"])
    return user, channel, at, f"action:{action['action_ts']}:{user}"


def register(app: App, services: Services) -> None:
    engine, store = services.engine, services.store

    def on_message_target(kind: str) -> Listener:
        """Buttons on a page, escalation or handoff message: the message says which target."""

        def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
            ack()
            user, channel, at, delivery = _context(body, action)
            found = engine.find_target(channel, body["container"]["message_ts"])
            if found is None:
                client.chat_postEphemeral(channel=channel, user=user, text=NOT_A_GAMEDAY)
                return
            gameday_id, target = found
            outcome: Outcome
            if kind == blocks.ACK:
                outcome = engine.acknowledge(gameday_id, user, at, delivery, target_id=target)
            elif kind == blocks.ESCALATE:
                outcome = engine.escalate_now(gameday_id, target, user, delivery)
            elif kind == blocks.HANDOFF:
                outcome = engine.request_handoff(gameday_id, user, action["selected_user"], at, delivery)
            else:
                mark = Kind.DETECTED if kind == blocks.DETECTED else Kind.CONTAINED
                outcome = engine.mark(gameday_id, mark, user, at, delivery, source="button", page_id=target)
            if not outcome.ok:
                client.chat_postEphemeral(channel=channel, user=user, text=outcome.message)

        return listener

    def on_control(name: str, run: Callable[[str, str, float, str], Outcome]) -> Listener:
        """Controls on the kickoff message: the button's value is the game day id."""

        def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
            ack()
            user, channel, at, delivery = _context(body, action)
            record = store.get(str(action.get("value") or ""))
            if record is None or record.channel != channel:  # a control acts only where it was posted
                client.chat_postEphemeral(channel=channel, user=user, text=NOT_A_GAMEDAY)
                return
            refusal = facilitator_refusal(name, user, services.settings.facilitators)
            message = refusal or run(record.id, user, at, delivery).message
            client.chat_postEphemeral(channel=channel, user=user, text=message)

        return listener

    for action_id in (blocks.ACK, blocks.DETECTED, blocks.CONTAINED, blocks.ESCALATE, blocks.HANDOFF):
        app.action(action_id)(on_message_target(action_id))

    def approve(gameday_id: str, user: str, at: float, delivery: str) -> Outcome:
        record = store.get(gameday_id)
        scenario_approvers = cached_scenario(record.scenario_text).approval.approvers if record else []
        wanted = [user_id_from(a) or a for a in scenario_approvers] + sorted(services.settings.approvers)
        return engine.approve(gameday_id, user, at, delivery, expand_groups(services.client, wanted))

    controls: dict[str, tuple[str, Callable[[str, str, float, str], Outcome]]] = {
        blocks.APPROVE: ("approve", approve),
        blocks.PAUSE: ("pause", lambda gd, user, at, delivery: engine.pause(gd, user)),
        blocks.RESUME: ("resume", lambda gd, user, at, delivery: engine.resume(gd, user)),
        blocks.NEXT: ("next", lambda gd, user, at, delivery: engine.next_step(gd, user)),
        blocks.END: ("end", lambda gd, user, at, delivery: engine.end(gd, user)),
        blocks.ABORT: ("abort", lambda gd, user, at, delivery: engine.abort(gd, user, "abort button")),
    }
    for action_id, (name, run) in controls.items():
        app.action(action_id)(on_control(name, run))

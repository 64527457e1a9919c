"""The buttons on the findings under a debrief, and the Mark fixed form: parse, ask the desk, answer.

Answers go only to the person who clicked (the click's response_url, which reaches them even in a
channel they are not in); the findings message is drawn again after a change (bot/slack/finding_buttons).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack import blocks
from bot.slack.finding_buttons import FIX_ACTION, FIX_BLOCK
from bot.slack.finding_clicks import VALUE_CHARS, Answer, Click, FindingClicks

log = logging.getLogger(__name__)
FORM_FAILED = "Slack did not open the form; `/sce fixed F-<n> <note>` does the same."
BLOCK_PREFIX = "finding:"


def click_of(body: dict[str, Any], typed: object) -> Click:
    """The clicker, the payload's channel (refused when its container names another) and the value."""
    user = str((body.get("user") or {}).get("id") or "")
    channel = str((body.get("channel") or {}).get("id") or "")
    container = str((body.get("container") or {}).get("channel_id") or "")
    if container and channel and container != channel:
        return Click(user, "", str(typed or ""))  # a message cannot be in two channels: no click
    return Click(user, channel or container, str(typed or ""))


def register(app: App, clicks: FindingClicks) -> None:
    def answer(body: dict[str, Any], respond: Respond, client: WebClient, said: Answer) -> None:
        if said.changed is not None:
            clicks.buttons.refresh(said.changed)
        try:
            if body.get("response_url"):
                respond(text=said.text, response_type="ephemeral", replace_original=False)
            else:
                channel = str((body.get("channel") or {}).get("id") or "")
                client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=said.text)
        except Exception:
            log.warning("could not answer a click on a finding", exc_info=True)

    @app.action(blocks.FINDING_OWNER)
    def owner(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        ack()
        block = str(action.get("block_id") or "")
        typed = block.removeprefix(BLOCK_PREFIX) if block.startswith(BLOCK_PREFIX) else "?"
        said = clicks.assign(click_of(body, typed), str(action.get("selected_user") or ""))
        answer(body, respond, client, said)

    @app.action(blocks.FINDING_TICKET)
    def ticket(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        ack()  # the tracker is asked after the ack, outside every lock: it may take seconds
        answer(body, respond, client, clicks.ticket(click_of(body, action.get("value"))))

    @app.action(blocks.FINDING_FIXED)
    def fixed(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        ack()
        form = clicks.fix_form(click_of(body, action.get("value")))
        if isinstance(form, Answer):
            answer(body, respond, client, form)
            return
        try:
            client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=form)
        except SlackApiError:
            log.warning("views.open failed for a finding's Mark fixed", exc_info=True)
            answer(body, respond, client, Answer(FORM_FAILED))

    @app.view(blocks.FIX_NOTE)
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        user = str((body.get("user") or {}).get("id") or "")
        meta = str(view.get("private_metadata") or "")
        typed, _, channel = meta.partition(" ") if len(meta) <= 2 * VALUE_CHARS else ("?", "", "")
        value = (((view.get("state") or {}).get("values") or {}).get(FIX_BLOCK) or {}).get(FIX_ACTION) or {}
        said = clicks.fixed(Click(user, channel, typed), str(value.get("value") or ""))
        if not said.ok:
            ack(response_action="errors", errors={FIX_BLOCK: said.text})
            return
        ack()
        assert said.changed is not None
        clicks.buttons.refresh(said.changed)
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=said.text)
        except SlackApiError:
            log.warning("could not confirm a finding marked fixed to its author", exc_info=True)

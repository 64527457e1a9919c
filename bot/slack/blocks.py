"""Block Kit payloads: rendered text plus the buttons that go with it. Action ids live here only."""

from __future__ import annotations

from typing import Any

from bot.slack.fit import SECTION_CHARS, cut, fallback, section, sections

__all__ = ["fallback", "section", "sections"]  # within Slack's limits, never cut inside <...> (bot.slack.fit)

ACK = "sce_ack"
DETECTED = "sce_detected"
CONTAINED = "sce_contained"
ABORT = "sce_abort"
END = "sce_end"
APPROVE = "sce_approve"
PAUSE = "sce_pause"
RESUME = "sce_resume"
NEXT = "sce_next"
ESCALATE = "sce_escalate"
HANDOFF = "sce_handoff"
FINDING_OWNER = "sce_finding_owner"  # the findings under a debrief (bot/slack/finding_buttons): a user picker
FINDING_TICKET = "sce_finding_ticket"
FINDING_FIXED = "sce_finding_fixed"
FINDING_ACTIONS = (FINDING_OWNER, FINDING_TICKET, FINDING_FIXED)
ACTION_IDS = (
    ACK,
    DETECTED,
    CONTAINED,
    ABORT,
    END,
    APPROVE,
    PAUSE,
    RESUME,
    NEXT,
    ESCALATE,
    HANDOFF,
    *FINDING_ACTIONS,
)
FIX_NOTE = "sce_finding_fix_note"  # the modal Mark fixed opens: its callback id
ADD_TO_DEBRIEF = "sce_add_to_debrief"  # message shortcut callback id

Block = dict[str, Any]


def button(
    label: str, action_id: str, value: str, style: str | None = None, confirm: Block | None = None
) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirm(title: str, text: str, yes: str) -> Block:
    """Slack asks the person to confirm before the click is sent."""
    return {
        "title": {"type": "plain_text", "text": title},
        "text": {"type": "mrkdwn", "text": text},
        "confirm": {"type": "plain_text", "text": yes},
        "deny": {"type": "plain_text", "text": "Cancel"},
        "style": "danger",
    }


def user_picker(action_id: str, placeholder: str) -> Block:
    return {
        "type": "users_select",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": placeholder},
    }


def actions(block_id: str, *elements: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def page_blocks(text: str, target_id: str, role: str = "page") -> list[Block]:
    """A page (or its escalation): the block id ``<role>:<page id>`` tells scripted responders what it is."""
    return [
        section(text),
        actions(
            f"{role}:{target_id}",
            button("Acknowledge", ACK, target_id, "primary"),
            button("Escalate", ESCALATE, target_id),
            button("Mark detected", DETECTED, target_id),
            button("Mark contained", CONTAINED, target_id),
            user_picker(HANDOFF, "Hand off to..."),
        ),
    ]


def taken_page_blocks(text: str, target_id: str, role: str = "page") -> list[Block]:
    """A page someone acknowledged: Acknowledge and Escalate are gone; what still applies stays."""
    return [
        section(text),
        actions(
            f"{role}:{target_id}",
            button("Mark detected", DETECTED, target_id),
            button("Mark contained", CONTAINED, target_id),
            user_picker(HANDOFF, "Hand off to..."),
        ),
    ]


def handoff_blocks(text: str, target_id: str) -> list[Block]:
    return [section(text), actions(f"handoff:{target_id}", button("Acknowledge", ACK, target_id, "primary"))]


def taken_handoff_blocks(text: str, target_id: str) -> list[Block]:
    """A handoff taken over: no button left; the block id still says which handoff it was."""
    return [{**section(text), "block_id": f"handoff:{target_id}"}]


def kickoff_blocks(header: str, status: str, gameday_id: str, state: str, mode: str = "live") -> list[Block]:
    """The living kickoff message: charter, current state, and the controls that apply now."""
    status_line = {"type": "mrkdwn", "text": cut(status, SECTION_CHARS)}  # Slack's limit for a context's text
    blocks = [section(header), {"type": "context", "elements": [status_line]}]
    abort = button(
        "Abort",
        ABORT,
        gameday_id,
        "danger",
        confirm(
            "Abort the game day?", "Every fault is reverted at once; the verdict is inconclusive.", "Abort"
        ),
    )
    controls: list[Block] = []
    if state == "awaiting_approval":
        controls = [button("Approve", APPROVE, gameday_id, "primary"), abort]
    elif state == "preflight":  # waiting for its canary alert: nothing runs yet, it can still be called off
        controls = [abort]
    elif state == "running":
        controls = [button("Next step", NEXT, gameday_id, "primary")] if mode == "tabletop" else []
        controls += [button("Pause", PAUSE, gameday_id), button("End", END, gameday_id), abort]
    elif state == "paused":
        controls = [button("Resume", RESUME, gameday_id, "primary"), button("End", END, gameday_id), abort]
    if controls:
        blocks.append(actions(f"controls:{gameday_id}", *controls))
    return blocks

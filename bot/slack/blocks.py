"""Block Kit payloads: rendered text plus the buttons that go with it. Action ids live here only."""

from __future__ import annotations

from typing import Any

ACK = "sce_ack"
DETECTED = "sce_detected"
CONTAINED = "sce_contained"
ABORT = "sce_abort"
END = "sce_end"
APPROVE = "sce_approve"
ACTION_IDS = (ACK, DETECTED, CONTAINED, ABORT, END, APPROVE)

Block = dict[str, Any]


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def actions(block_id: str, *elements: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def page_blocks(text: str, target_id: str, role: str = "page") -> list[Block]:
    """A page (or its escalation): the block id ``<role>:<page id>`` tells scripted responders what it is."""
    return [
        section(text),
        actions(
            f"{role}:{target_id}",
            button("Acknowledge", ACK, target_id, "primary"),
            button("Mark detected", DETECTED, target_id),
            button("Mark contained", CONTAINED, target_id),
        ),
    ]


def handoff_blocks(text: str, target_id: str) -> list[Block]:
    return [section(text), actions(f"handoff:{target_id}", button("Acknowledge", ACK, target_id, "primary"))]


def kickoff_blocks(header: str, status: str, gameday_id: str, state: str) -> list[Block]:
    """The living kickoff message: charter, current state, and the controls that apply now."""
    blocks = [section(header), {"type": "context", "elements": [{"type": "mrkdwn", "text": status}]}]
    if state == "awaiting_approval":
        blocks.append(
            actions(
                f"controls:{gameday_id}",
                button("Approve", APPROVE, gameday_id, "primary"),
                button("Abort", ABORT, gameday_id, "danger"),
            )
        )
    elif state in ("running", "paused"):
        blocks.append(
            actions(
                f"controls:{gameday_id}",
                button("End", END, gameday_id),
                button("Abort", ABORT, gameday_id, "danger"),
            )
        )
    return blocks

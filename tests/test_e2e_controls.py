"""The facilitator's and responders' controls over real HTTP: buttons, pickers, shortcut, commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot_process import LiveBot
from threads import start_gameday, wait_for_block, wait_for_text, wait_until

from bot.workspace.client import WorkspaceClient

TABLETOP = """
id: tabletop-drill
title: Tabletop drill
mode: tabletop
charter: {objective: Practise decisions., hypothesis: The team decides within 10 minutes.}
guardrails: {max_duration: 1h}
steps:
  - {at: 0s, page: {severity: SEV-2, summary: "Simulated: odd login"}}
  - {at: 5m, say: "Inject 2: the same account creates a token", facilitator_note: "Ask who owns IAM"}
"""


def kickoff(people: WorkspaceClient, thread: str) -> dict[str, Any]:
    return next(m for m in people.messages("C1") if m["ts"] == thread)


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e.get("action_id")
        for b in message.get("blocks") or []
        for e in b.get("elements") or []
        if b.get("type") == "actions"
    ]


def test_page_controls_hand_off_by_picker_and_escalate_by_button(
    live_bot: LiveBot, people: WorkspaceClient
) -> None:
    bot = live_bot
    thread = start_gameday(people)
    page = wait_for_block(people, thread, "page:p0")
    assert {"sce_ack", "sce_escalate", "sce_detected", "sce_contained", "sce_handoff"} <= set(buttons(page))
    ack_ts = float(page["ts"]) + 2.0
    people.click("U1", "C1", page["ts"], "sce_ack", action_ts=f"{ack_ts:.6f}")
    picked_ts = float(page["ts"]) + 3.0
    people.click("U1", "C1", page["ts"], "sce_handoff", selected_user="U2", action_ts=f"{picked_ts:.6f}")
    handoff = wait_for_block(people, thread, "handoff:h1")
    assert "<@U2>" in handoff["text"]
    people.click("U2", "C1", handoff["ts"], "sce_ack", action_ts=f"{picked_ts + 4.5:.6f}")
    wait_for_text(people, thread, r"acknowledged the handoff")
    people.slash("UFAC", "/sce", "end")
    wait_for_text(people, thread, "Debrief")
    debrief = bot.debrief_json()
    handoffs = debrief["handoffs"]
    assert len(handoffs) == 1 and handoffs[0]["from_user"] == "U1" and handoffs[0]["to_user"] == "U2"
    assert abs(handoffs[0]["latency_seconds"] - 4.5) < 0.0005


def test_escalate_button_and_shortcut_note_and_roles(live_bot: LiveBot, people: WorkspaceClient) -> None:
    bot = live_bot
    thread = start_gameday(people)
    page = wait_for_block(people, thread, "page:p0")
    people.click("U1", "C1", page["ts"], "sce_escalate")
    escalation = wait_for_block(people, thread, "escalation:p0")
    assert "<@U2>" in escalation["text"]
    chatter = people.post("U2", "C1", "the IdP logs show a second country <!channel>", thread_ts=thread)
    shortcut = people.shortcut("U1", "C1", chatter["ts"], "sce_add_to_debrief")
    assert shortcut["status"] == 200
    wait_until(lambda: any("recorded" in (e.get("text") or "") for e in people.ephemerals("U1")), what="note")
    role = people.slash("UFAC", "/sce", "role commander <@U2|bob>")
    assert "commander" in role["text"]
    people.slash("UFAC", "/sce", "end")
    wait_for_text(people, thread, "Debrief")
    debrief = bot.debrief_json()
    assert debrief["pages"][0]["escalated"] is True
    assert any("second country" in n["text"] and "<!channel>" in n["text"] for n in debrief["notes"])
    assert any(
        e["kind"] == "role_assigned" and e["data"] == {"role": "commander", "user": "U2"}
        for e in debrief["timeline"]
    )


def test_pause_and_resume_buttons_change_the_living_status_message(
    live_bot: LiveBot, people: WorkspaceClient
) -> None:
    bot = live_bot
    thread = start_gameday(people)
    wait_for_block(people, thread, "page:p0")
    assert "sce_pause" in buttons(kickoff(people, thread))
    people.click("UFAC", "C1", thread, "sce_pause")
    wait_until(lambda: "sce_resume" in buttons(kickoff(people, thread)), what="resume button")
    assert "paused" in str(kickoff(people, thread)["blocks"])
    people.click("UFAC", "C1", thread, "sce_resume")
    wait_until(lambda: "sce_pause" in buttons(kickoff(people, thread)), what="pause button again")
    abort = next(
        e
        for b in kickoff(people, thread)["blocks"]
        for e in b.get("elements") or []
        if e.get("action_id") == "sce_abort"
    )
    assert abort["confirm"]["confirm"]["text"] == "Abort"  # Slack asks before the click is sent
    people.click("UFAC", "C1", thread, "sce_abort")
    wait_for_text(people, thread, "Debrief")
    kinds = [e["kind"] for e in bot.debrief_json()["timeline"]]
    assert kinds.index("paused") < kinds.index("resumed") < kinds.index("gameday_ended")
    assert bot.debrief_json()["verdict"] == "inconclusive"


def test_tabletop_next_shows_the_facilitator_note_only_to_the_facilitator(
    live_bot: LiveBot, people: WorkspaceClient, scenarios_dir: Path
) -> None:
    (scenarios_dir / "tabletop-drill.yaml").write_text(TABLETOP)
    thread = start_gameday(people, "start tabletop-drill oncall=<@U1> secondary=<@U2>")
    wait_for_block(people, thread, "page:p0")
    assert "sce_next" in buttons(kickoff(people, thread))
    reply = people.slash("UFAC", "/sce", "next")
    assert "Ask who owns IAM" in reply["text"]
    said = wait_for_text(people, thread, "Inject 2")
    assert "Ask who owns IAM" not in said["text"]
    thread_texts = " ".join(m.get("text") or "" for m in people.messages("C1", thread_ts=thread))
    assert "Ask who owns IAM" not in thread_texts

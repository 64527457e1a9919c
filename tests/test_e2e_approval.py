"""Approval over real HTTP: starter and strangers refused; an approver from a user group starts it."""

from __future__ import annotations

import time
from pathlib import Path

from bot_process import LiveBot
from threads import start_gameday, wait_for_block, wait_until

from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace


def test_only_an_approver_who_did_not_start_it_can_approve(
    live_bot: LiveBot,
    people: WorkspaceClient,
    workspace: LocalWorkspace,
    scenarios_dir: Path,
) -> None:
    workspace.state.usergroups["S0LEADS"] = ["U2", "UFAC"]
    text = (scenarios_dir / "pager-stress.yaml").read_text()
    (scenarios_dir / "pager-stress.yaml").write_text(
        text.replace(
            "approval: {required: false, approvers: []}",
            "approval: {required: true, approvers: [S0LEADS]}\nchange: {ticket: CAB-1}",
        )
    )
    bot = live_bot
    thread = start_gameday(people)
    kickoff = next(m for m in people.messages("C1") if m["ts"] == thread)
    assert "sce_approve" in str(kickoff["blocks"])
    time.sleep(1.0)
    assert not any("you are paged" in (m.get("text") or "") for m in people.messages("C1", thread_ts=thread))

    people.click("UFAC", "C1", thread, "sce_approve")  # in the group, but started it
    people.click("U1", "C1", thread, "sce_approve")  # not an approver
    wait_until(lambda: len(people.ephemerals("U1")) >= 1, what="the refusal")
    assert any("Two-person rule" in (e.get("text") or "") for e in people.ephemerals("UFAC"))
    assert any(
        "Only" in (e.get("text") or "") and "may approve" in (e.get("text") or "")
        for e in people.ephemerals("U1")
    )
    assert not any("you are paged" in (m.get("text") or "") for m in people.messages("C1", thread_ts=thread))

    people.click("U2", "C1", thread, "sce_approve")
    wait_for_block(people, thread, "page:p0")
    people.slash("UFAC", "/sce", "abort")
    timeline = wait_until(
        lambda: bot.debrief_json()["timeline"] if bot.debrief_json()["status"] == "aborted" else None,
        what="the end",
    )
    kinds = [e["kind"] for e in timeline]
    approved = next(e for e in timeline if e["kind"] == "approved")
    assert approved["actor"] == "U2" and len(approved["data"]["scenario_hash"]) == 64
    assert kinds.index("approved") < kinds.index("page_sent")

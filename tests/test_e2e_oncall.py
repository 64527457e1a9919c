"""Who gets paged when the command names nobody: the scenario's user group, or the rotation file."""

from __future__ import annotations

from pathlib import Path

from inprocess_bot import bot_on
from threads import start_gameday, wait_for_block

from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

ROTATION = """
id: secops
members: [U2, U1]
handoff: {every: day, time: "00:00"}
timezone: UTC
start: 2026-01-01
"""


def test_start_without_people_uses_the_rotation_and_oncall_says_who(
    workspace: LocalWorkspace, people: WorkspaceClient, scenarios_dir: Path, tmp_path: Path
) -> None:
    rotations = scenarios_dir.parent / "rotations"
    rotations.mkdir()
    (rotations / "secops.yaml").write_text(ROTATION)
    import time

    from bot.gameday.people.rotation import on_call, parse_rotation

    with bot_on(workspace, tmp_path, scenarios_dir=scenarios_dir):
        expected = on_call(parse_rotation(ROTATION), time.time())
        told = people.slash("UFAC", "/sce", "oncall")
        assert (
            f"primary <@{expected.primary}>" in told["text"]
            and f"to <@{expected.next_primary}>" in told["text"]
        )
        thread = start_gameday(people, "start pager-stress")
        page = wait_for_block(people, thread, "page:p0")
        assert f"<@{expected.primary}>" in page["text"]


def test_start_without_people_uses_the_scenarios_user_group(
    people: WorkspaceClient, workspace: LocalWorkspace, scenarios_dir: Path, tmp_path: Path
) -> None:
    workspace.state.usergroups["S0SECOPS"] = ["U2", "U1"]
    text = (scenarios_dir / "pager-stress.yaml").read_text()
    text = text.replace("escalate_after: 3m}", "escalate_after: 3m, group: S0SECOPS}")
    (scenarios_dir / "pager-stress.yaml").write_text(text)
    with bot_on(workspace, tmp_path, scenarios_dir=scenarios_dir):
        thread = start_gameday(people, "start pager-stress")
        page = wait_for_block(people, thread, "page:p0")
        assert "<@U2>" in page["text"]
        refused = people.slash("UFAC", "/sce", "start pager-stress")  # one game day per channel at a time
        assert "still running in this channel" in refused["text"]

"""`/sce findings` and `/sce fixed` through `sce serve`'s Bolt app and the local Slack-compatible
workspace: findings recorded as real game days end in two channels, each channel seeing only its own
(an admin every channel's), a note shown literally, every answer only to the person asking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from core_harness import scenario_text

from bot.config import Settings
from bot.gameday.clock import VirtualClock
from bot.gameday.findings.recording import FindingFilter
from bot.runtime.server import HttpServer
from bot.runtime.service import Services, build_services
from bot.slack.app import create_app, slack_over_http
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace
from storage.finding_store import FindingStore

ROOT = Path(__file__).resolve().parents[1]
ROSTER = {"primary": "U1", "secondary": "U2"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Services, WorkspaceClient, dict[str, list[str]]]]:
    clock = VirtualClock()
    ws = LocalWorkspace(
        signing_secret="s",
        clock=clock.now,
        channels={"C1": "drills", "C2": "red-team"},
        users={"U1": "alice", "U2": "bob", "U3": "dave", "UFAC": "carol", "UADMIN": "erin"},
    ).start()
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret="s",
        slack_api_url=ws.api_url,
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        scenarios_dir=ROOT / "scenarios",
        rotations_dir=tmp_path / "none",
        admins=frozenset({"UADMIN"}),
    )
    services = build_services(settings, clock)
    server = HttpServer(slack_over_http(create_app(services), services), "127.0.0.1", 0)
    server.start()
    ws.request_url = f"http://127.0.0.1:{server.port}/slack/events"
    people = WorkspaceClient(ws.base_url)
    ids = {channel: run_gameday(services, clock, channel) for channel in ("C1", "C2")}
    yield services, people, ids
    people.close()
    server.stop()
    services.stop()
    ws.stop()


def run_gameday(services: Services, clock: VirtualClock, channel: str) -> list[str]:
    """A game day in ``channel`` with one gap (U2's) and one action item (U1's), ended, its debrief
    posted by the timers as `sce serve` posts it: the ids of the findings it left."""
    engine = services.engine
    gd = engine.start(scenario_text(), channel, "UFAC", ROSTER).gameday_id
    assert gd
    clock.advance(30)
    services.timers.poll()
    assert engine.add_note(gd, "gap", f"no revoke step ({channel})", "U2", clock.now(), f"{channel}-1").ok
    assert engine.add_note(
        gd, "action", f"write the runbook ({channel})", "U1", clock.now(), f"{channel}-2"
    ).ok
    assert engine.end(gd, "UFAC").ok
    clock.advance(1)
    services.timers.poll()
    found = FindingStore(services.store.engine).list(FindingFilter(channels=[channel]), clock.now())
    assert found, "the end of the game day recorded no findings"
    return [f.id for f in found]


def ask(people: WorkspaceClient, user: str, text: str, channel: str) -> str:
    said = people.slash(user, "/sce", text, channel=channel)
    assert said["status"] == 200, said
    return str(said["text"])


def test_each_channel_sees_its_own_findings_and_an_admin_every_one(
    served: tuple[Services, WorkspaceClient, dict[str, list[str]]],
) -> None:
    _, people, ids = served
    in_c1 = ask(people, "U3", "findings", "C1")
    assert "Open findings* (this channel)" in in_c1
    assert all(f"`{i}`" in in_c1 for i in ids["C1"]) and not any(f"`{i}`" in in_c1 for i in ids["C2"])
    assert "no revoke step (C1)" in in_c1 and "(C2)" not in in_c1
    in_c2 = ask(people, "U3", "findings open", "C2")
    assert all(f"`{i}`" in in_c2 for i in ids["C2"]) and not any(f"`{i}`" in in_c2 for i in ids["C1"])
    every = ask(people, "UADMIN", "findings", "C1")
    assert "(every channel)" in every and all(f"`{i}`" in every for i in ids["C1"] + ids["C2"])
    mine = ask(people, "U2", "findings mine", "C1")
    assert "Your findings" in mine and "no revoke step (C1)" in mine and "write the runbook" not in mine
    assert (
        ask(people, "U3", "findings lateral-movement", "C1")
        == "Findings of lateral-movement (this channel): none."
    )
    by_scenario = ask(people, "U3", "findings pager-stress", "C2")
    assert "Findings of pager-stress" in by_scenario and "(C2)" in by_scenario and "(C1)" not in by_scenario
    # answers go to the person asking: nothing of them is in either channel
    for channel in ("C1", "C2"):
        assert not any("Open findings" in (m.get("text") or "") for m in people.messages(channel))


def test_fixed_takes_only_this_channels_findings_and_shows_the_note_literally(
    served: tuple[Services, WorkspaceClient, dict[str, list[str]]],
) -> None:
    services, people, ids = served
    c1, c2 = ids["C1"][0], ids["C2"][0]
    note = "rotated <!channel> key & <https://evil.example|the docs> " + "x" * 3000
    answer = ask(people, "U1", f"fixed {c1} {note}", "C1")
    assert answer.startswith(
        f"`{c1}` is fixed now: rotated &lt;!channel&gt; key &amp; &lt;https://evil.example|the"
    )
    assert "<!channel>" not in answer and "<https://" not in answer
    store = FindingStore(services.store.engine)
    stored = store.get(int(c1.removeprefix("F-")))
    assert stored is not None and stored.state.value == "fixed" and stored.notes[-1].by == "U1"
    assert len(stored.notes[-1].text) == 2000 and stored.notes[-1].text.startswith("rotated <!channel> key")
    # another channel's finding is not there, exactly as an id that does not exist
    elsewhere = ask(people, "U1", f"fixed {c2} done", "C1")
    assert elsewhere == f"There is no finding {c2} here."
    assert ask(people, "U1", "fixed F-999999 done", "C1") == "There is no finding F-999999 here."
    assert store.get(int(c2.removeprefix("F-"))).state.value == "open"  # type: ignore[union-attr]
    assert ask(people, "U1", f"fixed {c1} again", "C1") == f"{c1} is fixed already."
    for typed in ("F-0", "F-1;drop", "F-99999999999999999999", "<@U1>"):
        assert ask(people, "U1", f"fixed {typed} x", "C1").endswith(
            "is not a finding id; finding ids look like F-12."
        )
    assert ask(people, "U1", "fixed <!channel> x", "C1") == (
        "`&lt;!channel&gt;` is not a finding id; finding ids look like F-12."
    )
    assert "Which finding?" in ask(people, "U1", "fixed", "C1")
    usage = ask(people, "U1", "help", "C1")
    assert "• `/sce findings [open|mine|&lt;scenario&gt;]`\n• `/sce fixed F-&lt;n&gt; &lt;note&gt;`" in usage

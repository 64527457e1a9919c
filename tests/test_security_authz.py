"""Who may do what, and who may talk to the bot at all, over real HTTP against `sce serve`.

Authorization: every `/sce` subcommand and every button, picker and shortcut the bot registers, against
every role (facilitator, approver, the responder on call, a bystander in the channel, the person who
started the game day), with SCE_FACILITATORS and SCE_APPROVERS set. A refusal is an ephemeral sentence
naming who may, and changes nothing on the timeline; an allowed action takes effect.

Authentication: every Slack entry point (slash command, interactivity payload, events, message shortcut)
refuses a forged signature and a timestamp outside 5 minutes with 401 and no change, and so do the alert
webhooks with a bad HMAC or a stale timestamp.

One bot process serves the whole module; each test has channels (and game days) of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from bot_process import ROOT, SIGNING_SECRET, BotProcess
from slack_bolt import App
from threads import wait_for_block, wait_for_text, wait_until

from bot.config import Settings
from bot.gameday.running.commands import USAGE
from bot.integrations.hooks import signature
from bot.runtime.service import build_services
from bot.slack import blocks
from bot.slack.app import create_app
from bot.workspace import payloads
from bot.workspace.client import WorkspaceClient
from bot.workspace.delivery import sign
from bot.workspace.server import LocalWorkspace
from bot.workspace.state import Message

# --- who is who --------------------------------------------------------------------------------------------

ROLES: dict[str, str] = {
    "facilitator": "UFAC",
    "approver": "UAPP",
    "responder": "U1",  # the primary on call
    "bystander": "UBY",
    "starter": "USTART",  # started every game day of these tests
}
SECONDARY = "U2"
USERS = {"UFAC": "carol", "UAPP": "erin", "U1": "alice", "U2": "bob", "UBY": "frank", "USTART": "dave"}
CHANNELS = {f"C{n}": f"room-{n}" for n in range(1, 8)}
FACILITATORS = ("UFAC", "USTART")
APPROVERS = ("UAPP", "USTART")  # the starter is an approver too: the two-person rule must still refuse them
WEBHOOK_SECRET = "authz-webhook-secret"
ROSTER = f"oncall=<@{ROLES['responder']}> secondary=<@{SECONDARY}>"

EVERYONE = frozenset(ROLES)
FACILITATING = frozenset({"facilitator", "starter"})  # both are in SCE_FACILITATORS

# --- what the README promises: who may use each command and control ----------------------------------------
# "only those people may start, pause, resume, advance, assign roles, schedule, end and abort; anyone may
# acknowledge, hand off and add notes"; approval needs an approver who did not start the game day.

SLASH: dict[str, frozenset[str]] = {
    "help": EVERYONE,
    "list": EVERYONE,
    "status": EVERYONE,
    "oncall": EVERYONE,
    "note": EVERYONE,
    "gap": EVERYONE,
    "detected": EVERYONE,
    "contain": EVERYONE,
    "debrief": EVERYONE,
    "history": EVERYONE,
    "findings": EVERYONE,
    "fixed": EVERYONE,
    "ticket": EVERYONE,  # of this channel's findings only (SECURITY.md rules 17 and 20)
    "start": FACILITATING,
    "pause": FACILITATING,
    "resume": FACILITATING,
    "next": FACILITATING,
    "role": FACILITATING,
    "end": FACILITATING,
    "abort": FACILITATING,
    "schedule": FACILITATING,
}
SLASH_TEXT: dict[str, str] = {
    "help": "help",
    "list": "list",
    "status": "status",
    "oncall": "oncall secops",
    "note": "note authz note by {role}",
    "gap": "gap authz gap by {role}",
    "detected": "detected",
    "contain": "contain",
    "debrief": "debrief",
    "history": "history authz-live",
    "findings": "findings",
    "fixed": "fixed F-1 authz fix by {role}",
    "ticket": "ticket F-1",
    "start": f"start authz-tabletop {ROSTER}",
    "pause": "pause",
    "resume": "resume",
    "next": "next",
    "role": f"role commander <@{SECONDARY}>",
    "end": "end",
    "abort": "abort authz check",
    "schedule": "schedule authz-tabletop 2099-01-01 10:00",
}
# admins only (SCE_ADMINS; none of ROLES is one): each role is told so, and nothing changes
ADMIN_ONLY: dict[str, str] = {"halt": "halt authz check by {role}", "unhalt": "unhalt"}
# the deployment's approvers (and admins) only: a standing approval lets `sce run` start unattended
APPROVING_ONLY: dict[str, str] = {
    "approve-standing": "approve-standing authz-approval for 1d",
    "revoke-standing": "revoke-standing authz-approval",
}
APPROVING = frozenset({"approver", "starter"})  # both are in SCE_APPROVERS
CONTROLS: dict[str, frozenset[str]] = {
    blocks.ACK: EVERYONE,
    blocks.ESCALATE: EVERYONE,
    blocks.DETECTED: EVERYONE,
    blocks.CONTAINED: EVERYONE,
    blocks.HANDOFF: EVERYONE,  # the "Hand off to..." user picker
    blocks.ADD_TO_DEBRIEF: EVERYONE,  # the message shortcut
    blocks.PAUSE: FACILITATING,
    blocks.RESUME: FACILITATING,
    blocks.NEXT: FACILITATING,
    blocks.END: FACILITATING,
    blocks.ABORT: FACILITATING,
    blocks.APPROVE: frozenset({"approver"}),
    # a finding's buttons and its Mark fixed form: anyone in its channel (tests/test_finding_buttons.py)
    blocks.FINDING_OWNER: EVERYONE,
    blocks.FINDING_TICKET: EVERYONE,
    blocks.FINDING_FIXED: EVERYONE,
    blocks.FIX_NOTE: EVERYONE,
}
# the command a kickoff control stands for, as the refusal names it
CONTROL_COMMAND = {
    blocks.PAUSE: "pause",
    blocks.RESUME: "resume",
    blocks.NEXT: "next",
    blocks.END: "end",
    blocks.ABORT: "abort",
}

LIVE = """
id: authz-live
title: Authorization drill (live)
mode: live
charter: {objective: Check who may do what., hypothesis: Only the right people can steer a game day.}
guardrails: {max_duration: 1h}
oncall: {primary: "@primary", secondary: "@secondary", escalate_after: null}
steps:
  - {at: 0s, page: {severity: SEV-3, summary: "Simulated: page for the facilitator"}}
  - {at: 0s, page: {severity: SEV-3, summary: "Simulated: page for the approver"}}
  - {at: 0s, page: {severity: SEV-3, summary: "Simulated: page for the responder"}}
  - {at: 0s, page: {severity: SEV-3, summary: "Simulated: page for the bystander"}}
  - {at: 0s, page: {severity: SEV-3, summary: "Simulated: page for the starter"}}
"""
TABLETOP = """
id: authz-tabletop
title: Authorization drill (tabletop)
mode: tabletop
charter: {objective: Check who may facilitate., hypothesis: Only facilitators steer a tabletop.}
guardrails: {max_duration: 1h}
oncall: {primary: "@primary", secondary: "@secondary", escalate_after: null}
steps:
  - {at: 0s, page: {severity: SEV-3, summary: "Simulated: odd login"}}
  - {at: 1m, say: "Inject 2"}
  - {at: 2m, say: "Inject 3"}
  - {at: 3m, say: "Inject 4"}
  - {at: 4m, say: "Inject 5"}
  - {at: 5m, say: "Inject 6"}
"""
APPROVAL = """
id: authz-approval
title: Authorization drill (needs approval)
mode: live
charter: {objective: Check the two-person rule., hypothesis: Nobody approves their own game day.}
approval: {required: true}
change: {ticket: CAB-1}
guardrails: {max_duration: 1h}
oncall: {primary: "@primary", secondary: "@secondary", escalate_after: null}
steps:
  - {at: 0s, page: {severity: SEV-3, summary: "Simulated: approved page"}}
"""


# --- one workspace and one bot for the module ---------------------------------------------------------------


@pytest.fixture(scope="module")
def ws() -> Iterator[LocalWorkspace]:
    workspace = LocalWorkspace(signing_secret=SIGNING_SECRET, users=USERS, channels=CHANNELS).start()
    yield workspace
    workspace.stop()


@pytest.fixture(scope="module")
def bot(ws: LocalWorkspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    root = tmp_path_factory.mktemp("authz")
    scenarios = root / "scenarios"
    scenarios.mkdir()
    for name, text in (("authz-live", LIVE), ("authz-tabletop", TABLETOP), ("authz-approval", APPROVAL)):
        (scenarios / f"{name}.yaml").write_text(text)
    shutil.copytree(ROOT / "rotations", root / "rotations")
    process = BotProcess(
        ws.api_url,
        f"sqlite:///{root / 'sce.db'}",
        scenarios,
        root / "bot.log",
        extra_env={
            "SCE_FACILITATORS": ",".join(FACILITATORS),
            "SCE_APPROVERS": ",".join(APPROVERS),
            "SCE_ALERT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        },
    ).start()
    ws.request_url = process.url
    yield process
    process.stop()


@pytest.fixture(scope="module")
def slack(ws: LocalWorkspace) -> Iterator[WorkspaceClient]:
    client = WorkspaceClient(ws.base_url)
    yield client
    client.close()


# --- helpers ------------------------------------------------------------------------------------------------


def start_in(slack: WorkspaceClient, channel: str, user: str, scenario: str) -> tuple[str, str]:
    """`/sce start` as ``user``; the kickoff's ts (the thread) and the game day's id."""
    before = {m["ts"] for m in slack.messages(channel)}
    result = slack.slash(user, "/sce", f"start {scenario} {ROSTER}", channel=channel)
    assert result["status"] == 200, result

    def kickoff() -> dict[str, Any] | None:
        return next(
            (
                m
                for m in slack.messages(channel)
                if m["ts"] not in before
                and m.get("thread_ts") in (None, m["ts"])
                and "[GAME DAY]" in (m.get("text") or "")
            ),
            None,
        )

    message = wait_until(kickoff, what=f"the kickoff of {scenario} in {channel}")
    found = re.search(r"id `(gd-[0-9a-f]+)`", message["text"])
    assert found, message["text"]
    return str(message["ts"]), found[1]


def answers(slack: WorkspaceClient, user: str, channel: str) -> list[str]:
    """What only ``user`` saw in ``channel``, oldest first."""
    return [e.get("text") or "" for e in slack.ephemerals(user) if e.get("channel") == channel]


def answered(slack: WorkspaceClient, user: str, channel: str, act: Callable[[], dict[str, Any]]) -> str:
    """Run a click or shortcut and return the one ephemeral answer it brought ``user``."""
    seen = len(answers(slack, user, channel))
    result = act()
    assert result["status"] == 200, result
    new: list[str] = wait_until(
        lambda: answers(slack, user, channel)[seen:], what=f"an answer for {user} in {channel}"
    )
    assert len(new) == 1, new
    return new[0]


def slash(slack: WorkspaceClient, user: str, text: str, channel: str) -> str:
    """A slash command's answer, checked to be shown to ``user`` only: the ack's, or the one that
    follows an empty ack."""
    result = slack.slash(user, "/sce", text, channel=channel)
    assert result["status"] == 200, result
    body = result["body"]
    assert not (isinstance(body, dict) and body.get("response_type") == "in_channel"), body
    reply = result["text"] or ""
    assert reply and reply in answers(slack, user, channel), (text, reply)
    return reply


def timeline(bot: BotProcess, gameday: str) -> list[dict[str, Any]]:
    """The game day's timeline as `sce debrief <id> --format json` prints it."""
    events: list[dict[str, Any]] = bot.debrief_json(gameday)["timeline"]
    return events


def timeline_when(
    bot: BotProcess, gameday: str, ready: Callable[[list[dict[str, Any]]], bool], what: str
) -> list[dict[str, Any]]:
    """The timeline, once ``ready`` says it holds what the test waits for."""

    def check() -> list[dict[str, Any]] | None:
        events = timeline(bot, gameday)
        return events if ready(events) else None

    found: list[dict[str, Any]] = wait_until(check, what=what)
    return found


def channel_view(slack: WorkspaceClient, channel: str) -> list[tuple[str, str, str]]:
    return [(m["ts"], m.get("text") or "", json.dumps(m.get("blocks"))) for m in slack.messages(channel)]


def assert_sentence(text: str) -> None:
    assert text.strip(), "an empty answer"
    assert "Traceback" not in text and "Something went wrong" not in text, text
    assert text.rstrip().endswith((".", ")", "`")), f"not a sentence: {text!r}"


def assert_facilitator_refusal(text: str, command: str) -> None:
    assert_sentence(text)
    assert text.startswith("Only facilitators"), text
    assert f"`/sce {command}`" in text, text
    for user in FACILITATORS:  # names who may
        assert f"<@{user}>" in text, text


def assert_not_refused(text: str) -> None:
    assert text.strip()
    for refusal in ("Only facilitators", "may approve", "Two-person rule", "Something went wrong"):
        assert refusal not in text, text


# --- the matrix covers everything the bot registers ---------------------------------------------------------


class RecordingApp(App):
    """The real Bolt App that also remembers every command, action and shortcut registered on it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: dict[str, set[str]] = {"command": set(), "action": set(), "shortcut": set()}

    def command(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen["command"].add(str(command))
        return super().command(command, *args, **kwargs)

    def action(self, constraints: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen["action"].add(str(constraints))
        return super().action(constraints, *args, **kwargs)

    def shortcut(self, constraints: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen["shortcut"].add(str(constraints))
        return super().shortcut(constraints, *args, **kwargs)


def test_the_matrix_covers_every_subcommand_button_picker_and_shortcut(tmp_path: Path) -> None:
    settings = Settings(
        slack_bot_token="xoxb-test", slack_signing_secret="s", database_url=f"sqlite:///{tmp_path / 'm.db'}"
    )
    app = create_app(build_services(settings), app_class=RecordingApp)
    assert isinstance(app, RecordingApp)
    assert app.seen["command"] == {"/sce"}
    commands = set(SLASH) | set(ADMIN_ONLY) | set(APPROVING_ONLY)
    assert commands == set(USAGE), "a /sce subcommand is missing from the matrix"
    assert set(SLASH_TEXT) == set(SLASH)
    ids = {value for value in vars(blocks).values() if isinstance(value, str) and value.startswith("sce_")}
    registered = app.seen["action"] | app.seen["shortcut"]
    assert set(CONTROLS) == ids | registered, "a button, picker or shortcut is missing from the matrix"
    assert set(blocks.ACTION_IDS) | {blocks.ADD_TO_DEBRIEF} == registered
    assert set(CONTROL_COMMAND) == {c for c, roles in CONTROLS.items() if roles == FACILITATING}


# --- refusals: an ephemeral sentence naming who may, and nothing changes ------------------------------------


@pytest.mark.timeout(300)
def test_every_refusal_is_an_ephemeral_sentence_naming_who_may_and_changes_nothing(
    bot: BotProcess, slack: WorkspaceClient
) -> None:
    running_thread, running = start_in(slack, "C1", ROLES["starter"], "authz-tabletop")
    wait_for_block(slack, running_thread, "page:p0", channel="C1")
    waiting_thread, waiting = start_in(slack, "C2", ROLES["starter"], "authz-approval")
    timeline_when(bot, running, lambda t: any(e["kind"] == "page_sent" for e in t), "the first page")
    timeline_when(bot, waiting, bool, "the waiting game day's start")
    time.sleep(0.5)  # the kickoff's status refresh after the page
    before = {gd: timeline(bot, gd) for gd in (running, waiting)}
    views = {channel: channel_view(slack, channel) for channel in ("C1", "C2")}
    refused = 0

    for name, allowed in SLASH.items():
        for role, user in ROLES.items():
            if role not in allowed:
                text = SLASH_TEXT[name].format(role=role)
                assert_facilitator_refusal(slash(slack, user, text, "C1"), name)
                refused += 1

    admins_only = 0
    for text in ADMIN_ONLY.values():
        for role, user in ROLES.items():
            reply = slash(slack, user, text.format(role=role), "C1")
            assert_sentence(reply)
            assert reply.startswith("Only admins (SCE_ADMINS)"), reply
            admins_only += 1
    assert admins_only == len(ADMIN_ONLY) * len(ROLES)
    for text in APPROVING_ONLY.values():
        for role, user in ROLES.items():
            if role not in APPROVING:
                reply = slash(slack, user, text, "C1")
                assert_sentence(reply)
                assert reply.startswith("Only ") and "may give or revoke a standing approval" in reply, reply
                assert all(f"<@{a}>" in reply for a in APPROVERS), reply

    for control, allowed in CONTROLS.items():
        for role, user in ROLES.items():
            if role in allowed:
                continue
            if control == blocks.APPROVE:
                text = answered(
                    slack,
                    user,
                    "C2",
                    partial(slack.click, user, "C2", waiting_thread, blocks.APPROVE, value=waiting),
                )
                assert_sentence(text)
                if role == "starter":
                    assert text.startswith("Two-person rule"), text
                else:
                    assert "may approve" in text and "<@UAPP>" in text, text
            else:
                text = answered(
                    slack,
                    user,
                    "C1",
                    partial(slack.click, user, "C1", running_thread, control, value=running),
                )
                assert_facilitator_refusal(text, CONTROL_COMMAND[control])
            refused += 1

    assert refused == 24 + 15 + 4  # 8 commands x 3 roles, 5 controls x 3 roles, approve x 4 roles
    time.sleep(0.5)  # anything a refused request set off would have landed by now
    assert {gd: timeline(bot, gd) for gd in (running, waiting)} == before
    assert {channel: channel_view(slack, channel) for channel in ("C1", "C2")} == views
    assert not any("you are paged" in t for _, t, _ in channel_view(slack, "C2"))

    # the approver, who did not start it, may approve: then, and only then, the steps run
    text = answered(
        slack, "UAPP", "C2", lambda: slack.click("UAPP", "C2", waiting_thread, blocks.APPROVE, value=waiting)
    )
    assert text.startswith("Approved"), text
    wait_for_block(slack, waiting_thread, "page:p0", channel="C2")
    approvals = [e for e in timeline(bot, waiting) if e["kind"] == "approved"]
    assert [e["actor"] for e in approvals] == ["UAPP"]
    for gd, channel in ((running, "C1"), (waiting, "C2")):
        assert "aborted" in slash(slack, "UFAC", "abort authz refusals done", channel), gd


def test_an_approval_refusal_names_exactly_who_may_approve() -> None:
    from bot.gameday.scenario.guardrails import approval_refusal
    from bot.gameday.scenario.loading import parse_scenario

    scenario = parse_scenario(APPROVAL)
    deployment = frozenset(APPROVERS)
    bystander = approval_refusal(scenario, "USTART", "UBY", deployment)
    starter = approval_refusal(scenario, "USTART", "USTART", deployment)
    assert bystander is not None and starter is not None
    assert "<@UAPP>" in bystander and "<@USTART>" not in bystander, bystander
    assert "<@UAPP>" in starter and "<@USTART>" not in starter, starter


# --- allowed: the action takes effect, for every role the matrix allows -------------------------------------


@pytest.mark.timeout(300)
def test_anyone_may_acknowledge_escalate_mark_hand_off_and_add_notes(
    bot: BotProcess, slack: WorkspaceClient
) -> None:
    channel = "C3"
    thread, gd = start_in(slack, channel, ROLES["starter"], "authz-live")
    pages = [wait_for_block(slack, thread, f"page:p{i}", channel=channel) for i in range(len(ROLES))]
    chatter = slack.post(SECONDARY, channel, "the IdP shows a second login", thread_ts=thread)
    replies: dict[str, dict[str, str]] = {}

    for index, (role, user) in enumerate(ROLES.items()):
        page, page_id = pages[index], f"p{index}"
        assert slack.click(user, channel, page["ts"], blocks.ESCALATE)["status"] == 200
        wait_for_block(slack, thread, f"escalation:{page_id}", channel=channel)
        assert slack.click(user, channel, page["ts"], blocks.ACK)["status"] == 200
        wait_for_text(slack, thread, rf"<@{user}> acknowledged page {page_id}\b", channel=channel)
        for control in (blocks.DETECTED, blocks.CONTAINED):
            assert slack.click(user, channel, page["ts"], control)["status"] == 200
        picked = slack.click(user, channel, page["ts"], blocks.HANDOFF, selected_user=SECONDARY)
        assert picked["status"] == 200
        wait_for_block(slack, thread, f"handoff:h{index + 1}", channel=channel)
        note = answered(
            slack,
            user,
            channel,
            partial(slack.shortcut, user, channel, chatter["ts"], blocks.ADD_TO_DEBRIEF),
        )
        assert note == "Note recorded for the debrief.", note
        replies[role] = {}
        for name, allowed in SLASH.items():
            if allowed == EVERYONE:
                reply = slash(slack, user, SLASH_TEXT[name].format(role=role), channel)
                assert_not_refused(reply)
                replies[role][name] = reply

    # the Acknowledge button of a handoff is for the new owner only: everyone else is told so
    handoff = wait_for_block(slack, thread, "handoff:h1", channel=channel)
    for user in ROLES.values():
        refusal = answered(
            slack, user, channel, partial(slack.click, user, channel, handoff["ts"], blocks.ACK)
        )
        assert_sentence(refusal)
    assert slack.click(SECONDARY, channel, handoff["ts"], blocks.ACK)["status"] == 200
    wait_for_text(slack, thread, rf"<@{SECONDARY}> acknowledged the handoff", channel=channel)

    for role, said in replies.items():
        assert (
            said["note"] == "Note recorded for the debrief."
            and said["gap"] == "Gap recorded for the debrief."
        )
        assert said["detected"] == "Detection recorded." and said["contain"] == "Containment recorded."
        assert f"`{gd}` (authz-live): running" in said["status"], said["status"]
        assert "/sce help" in said["help"] and "`authz-live`" in said["list"]
        assert "On call now" in said["oncall"] and "Debrief" in said["debrief"]
        assert said["history"] == "No finished game day of `authz-live` in this channel yet.", role

    events = timeline_when(
        bot,
        gd,
        lambda t: sum(e["kind"] == "contained" for e in t) == 2 * len(ROLES),
        "every click on the timeline",
    )
    for index, (role, user) in enumerate(ROLES.items()):
        page_id = f"p{index}"
        mine = [e for e in events if e["actor"] == user]
        assert any(e["kind"] == "escalated" and e["data"]["page_id"] == page_id for e in events), role
        assert {"kind": "acknowledged", "page_id": page_id} in [
            {"kind": e["kind"], "page_id": e["data"].get("page_id")} for e in mine
        ], role
        for kind in ("detected", "contained"):
            sources = sorted(e["data"]["source"] for e in mine if e["kind"] == kind)
            assert sources == ["button", "command"], (role, kind, sources)
            assert any(e["data"]["page_id"] == page_id for e in mine if e["kind"] == kind), (role, kind)
        handoffs = [e for e in mine if e["kind"] == "handoff_requested"]
        assert [e["data"]["to"] for e in handoffs] == [SECONDARY], role
        notes = sorted((e["data"]["kind"], e["data"]["text"]) for e in mine if e["kind"] == "note")
        assert notes == sorted(
            [
                ("gap", f"authz gap by {role}"),
                ("note", f"authz note by {role}"),
                ("note", f"the IdP shows a second login (from <@{SECONDARY}>)"),
            ]
        ), (role, notes)
    completed = [(e["actor"], e["data"]["handoff_id"]) for e in events if e["kind"] == "handoff_completed"]
    assert completed == [(SECONDARY, "h1")]
    assert "Game day ended" in slash(slack, "UFAC", "end", channel)


def test_acknowledging_someone_elses_handoff_names_who_it_waits_for() -> None:
    from core_harness import CoreHarness

    h = CoreHarness()
    started = h.engine.start(LIVE, "C1", "USTART", {"primary": "U1", "secondary": SECONDARY})
    assert started.gameday_id is not None
    h.advance_to(h.clock.now() + 1)
    at = h.clock.now()
    assert h.engine.request_handoff(started.gameday_id, "U1", SECONDARY, at, "d1").ok
    refused = h.engine.acknowledge(started.gameday_id, "UBY", at + 1, "d2", target_id="h1")
    assert not refused.ok
    assert f"<@{SECONDARY}>" in refused.message, refused.message


@pytest.mark.timeout(300)
def test_facilitators_and_the_starter_may_steer_by_command_and_by_button(
    bot: BotProcess, slack: WorkspaceClient
) -> None:
    channel, fac, starter = "C4", ROLES["facilitator"], ROLES["starter"]
    thread, gd = start_in(slack, channel, starter, "authz-tabletop")  # start: the starter
    wait_for_block(slack, thread, "page:p0", channel=channel)

    def click(user: str, control: str) -> str:
        return answered(slack, user, channel, lambda: slack.click(user, channel, thread, control, value=gd))

    # pause and resume, each by each, by command and by button
    assert slash(slack, fac, "pause", channel).startswith("Paused")
    assert slash(slack, starter, "resume", channel).startswith("Resumed")
    assert slash(slack, starter, "pause", channel).startswith("Paused")
    assert slash(slack, fac, "resume", channel).startswith("Resumed")
    assert click(fac, blocks.PAUSE).startswith("Paused")
    assert click(starter, blocks.RESUME).startswith("Resumed")
    assert click(starter, blocks.PAUSE).startswith("Paused")
    assert click(fac, blocks.RESUME).startswith("Resumed")
    # next
    assert slash(slack, fac, "next", channel).startswith("Step 2 of 6 is out")
    assert slash(slack, starter, "next", channel).startswith("Step 3 of 6 is out")
    assert click(fac, blocks.NEXT).startswith("Step 4 of 6 is out")
    assert click(starter, blocks.NEXT).startswith("Step 5 of 6 is out")
    # roles
    assert slash(slack, fac, "role commander <@U1>", channel) == "<@U1> is the commander."
    assert slash(slack, starter, "role comms <@U2>", channel) == "<@U2> is the comms."
    # schedule, each booking one (a day apart: one game day at a time per channel) and cancelling the other's
    booked = {
        user: re.findall(
            r"`(sch-[0-9a-f]+)`", slash(slack, user, SLASH_TEXT["schedule"].replace("01-01", day), channel)
        )
        for user, day in ((fac, "01-01"), (starter, "01-02"))
    }
    assert all(len(ids) == 1 for ids in booked.values()), booked
    assert slash(slack, starter, f"schedule cancel {booked[fac][0]}", channel).endswith("cancelled.")
    assert slash(slack, fac, f"schedule cancel {booked[starter][0]}", channel).endswith("cancelled.")
    assert "Game day ended" in slash(slack, fac, "end", channel)

    events = timeline(bot, gd)
    assert [e["actor"] for e in events if e["kind"] == "paused"] == [fac, starter, fac, starter]
    assert [e["actor"] for e in events if e["kind"] == "resumed"] == [starter, fac, starter, fac]
    assert sum(e["kind"] == "step_ran" for e in events) == 5
    assert [(e["actor"], e["data"]["role"]) for e in events if e["kind"] == "role_assigned"] == [
        (fac, "commander"),
        (starter, "comms"),
    ]
    assert bot.debrief_json(gd)["end_reason"] == f"ended by <@{fac}>"

    def click_answer(user: str, on: str, control: str, gameday: str) -> str:
        return answered(slack, user, channel, lambda: slack.click(user, channel, on, control, value=gameday))

    # start (by the facilitator too), then end and abort by command and by button, by each of them
    endings = [
        (fac, starter, "command", "abort"),
        (starter, starter, "command", "end"),
        (starter, fac, "command", "abort"),
        (starter, fac, "button", "end"),
        (starter, starter, "button", "end"),
        (fac, fac, "button", "abort"),
        (starter, starter, "button", "abort"),
    ]
    for starts, ends, how, what in endings:
        thread, gameday = start_in(slack, channel, starts, "authz-tabletop")
        wait_for_block(slack, thread, "page:p0", channel=channel)
        if how == "command":
            reply = slash(slack, ends, "end" if what == "end" else "abort authz", channel)
        else:
            control = blocks.END if what == "end" else blocks.ABORT
            reply = click_answer(ends, thread, control, gameday)
        assert_not_refused(reply)
        status = "completed" if what == "end" else "aborted"
        events = timeline_when(bot, gameday, lambda t: t[-1]["kind"] == "gameday_ended", "the end")
        debrief = bot.debrief_json(gameday)
        assert debrief["status"] == status and events == debrief["timeline"]
        verb = "ended" if what == "end" else "aborted"
        assert debrief["end_reason"].startswith(f"{verb} by <@{ends}>"), (starts, ends, how, what)
        started = next(e for e in debrief["timeline"] if e["kind"] == "gameday_started")
        assert started["actor"] == starts


# --- authentication: signatures and the 5-minute window on every entry point --------------------------------


def slack_headers(body: bytes, timestamp: int | str, secret: str = SIGNING_SECRET) -> dict[str, str]:
    base = f"v0:{timestamp}:".encode() + body
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest(),
    }


def forgeries(body: bytes) -> dict[str, dict[str, str]]:
    """Every way a request may fail Slack's signature check, by name."""
    now = int(time.time())
    return {
        "wrong secret": slack_headers(body, now, "not-the-signing-secret"),
        "stale (6 minutes old)": slack_headers(body, now - 6 * 60),
        "from the future (6 minutes ahead)": slack_headers(body, now + 6 * 60),
        "unsigned": {},
        "signature of another body": slack_headers(body + b"x", now),
        "timestamp without signature": {"X-Slack-Request-Timestamp": str(now)},
        "timestamp not a number": slack_headers(body, "soon"),
        "signature without timestamp": {"X-Slack-Signature": slack_headers(body, now)["X-Slack-Signature"]},
        "not a v0 signature": {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": slack_headers(body, now)["X-Slack-Signature"].replace("v0=", "v1="),
        },
    }


@pytest.mark.timeout(300)
def test_every_slack_entry_point_refuses_forged_and_stale_requests_with_401_and_no_change(
    bot: BotProcess, slack: WorkspaceClient, ws: LocalWorkspace
) -> None:
    channel = "C5"
    thread, gd = start_in(slack, channel, ROLES["starter"], "authz-tabletop")
    wait_for_block(slack, thread, "page:p0", channel=channel)
    chatter = slack.post(SECONDARY, channel, "forwarding the IdP log", thread_ts=thread)
    state, nowhere = ws.state, "http://127.0.0.1:9/unused"
    fac, responder = state.users["UFAC"], state.users[ROLES["responder"]]
    form = "application/x-www-form-urlencoded"

    slash_form = payloads.slash_command_form(
        fac, state.channels[channel], "/sce", "note signed slash", nowhere, payloads.new_trigger_id()
    )
    kickoff = state.find_message(channel, thread)
    assert kickoff is not None
    pause = payloads.block_action(kickoff, blocks.PAUSE, f"{time.time():.6f}", gd, None, None)
    click = payloads.block_actions_payload(state, fac, kickoff, pause, nowhere, payloads.new_trigger_id())
    reply = Message(
        channel, f"{time.time():.6f}", responder.id, "gap: signed event", None, thread, None, None
    )
    event = payloads.event_callback(state, payloads.message_event(state, reply))
    chatted = state.find_message(channel, chatter["ts"])
    assert chatted is not None
    shortcut = payloads.message_shortcut_payload(
        state,
        responder,
        chatted,
        blocks.ADD_TO_DEBRIEF,
        f"{time.time():.6f}",
        nowhere,
        payloads.new_trigger_id(),
    )
    entries: dict[str, tuple[bytes, str]] = {
        "slash command": (urlencode(slash_form).encode(), form),
        "interactivity (button)": (urlencode({"payload": json.dumps(click)}).encode(), form),
        "events": (json.dumps(event).encode(), "application/json"),
        "message shortcut": (urlencode({"payload": json.dumps(shortcut)}).encode(), form),
    }

    before, view = timeline(bot, gd), channel_view(slack, channel)
    seen = {user: len(slack.ephemerals(user)) for user in USERS}
    statuses: dict[tuple[str, str], int] = {}
    for entry, (body, content_type) in entries.items():
        for forgery, headers in forgeries(body).items():
            response = requests.post(
                bot.url, data=body, headers={**headers, "Content-Type": content_type}, timeout=10
            )
            statuses[(entry, forgery)] = response.status_code
    assert {key: code for key, code in statuses.items() if code != 401} == {}
    time.sleep(0.5)
    assert timeline(bot, gd) == before
    assert channel_view(slack, channel) == view
    assert {user: len(slack.ephemerals(user)) for user in USERS} == seen

    # the same bodies, signed now with the right secret, are taken: the 401s were the signatures
    for entry, (body, content_type) in entries.items():
        headers = {
            "X-Slack-Request-Timestamp": str(now := int(time.time())),
            "X-Slack-Signature": sign(SIGNING_SECRET, now, body),
            "Content-Type": content_type,
        }
        assert requests.post(bot.url, data=body, headers=headers, timeout=10).status_code == 200, entry
    events = timeline_when(bot, gd, lambda t: len(t) >= len(before) + 4, "the four genuine requests")
    added = [(e["kind"], e["actor"], e["data"].get("text")) for e in events[len(before) :]]
    assert sorted(added, key=str) == sorted(
        [
            ("note", "UFAC", "signed slash"),
            ("paused", "UFAC", None),
            ("note", responder.id, f"forwarding the IdP log (from <@{SECONDARY}>)"),
            ("note", responder.id, "signed event"),
        ],
        key=str,
    ), added
    assert [e["data"]["kind"] for e in events[len(before) :] if e["data"].get("text") == "signed event"] == [
        "gap"
    ]
    slash(slack, "UFAC", "abort signatures done", channel)


def hook_headers(body: bytes, timestamp: int, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    stamp = str(timestamp)
    return {
        "X-SCE-Timestamp": stamp,
        "X-SCE-Signature": signature(secret, stamp, body),
        "Content-Type": "application/json",
    }


@pytest.mark.timeout(300)
def test_alert_webhooks_refuse_a_bad_hmac_and_a_stale_timestamp_with_401_and_no_detection(
    bot: BotProcess, slack: WorkspaceClient
) -> None:
    channel = "C6"
    thread, gd = start_in(slack, channel, ROLES["starter"], "authz-tabletop")
    wait_for_block(slack, thread, "page:p0", channel=channel)
    hooks = f"http://127.0.0.1:{bot.port}/hooks"
    alert = {"name": "DNS beacon", "text": f"query for sce-{gd}.sink.example", "id": "evt-authz-1"}
    body = json.dumps(alert).encode()
    now = int(time.time())
    attempts: dict[str, tuple[str, dict[str, str]]] = {
        "bad HMAC (another secret)": ("alert", hook_headers(body, now, "not-the-webhook-secret")),
        "stale (6 minutes old)": ("alert", hook_headers(body, now - 6 * 60)),
        "from the future (6 minutes ahead)": ("alert", hook_headers(body, now + 6 * 60)),
        "signature of another body": ("alert", hook_headers(body + b" ", now)),
        "unsigned": ("alert", {"Content-Type": "application/json"}),
        "timestamp not a number": (
            "alert",
            {**hook_headers(body, now), "X-SCE-Timestamp": "soon"},
        ),
        "signature without sha256= prefix": (
            "alert",
            {**hook_headers(body, now), "X-SCE-Signature": signature(WEBHOOK_SECRET, str(now), body)[7:]},
        ),
        "bearer token on the signed-only hook": (
            "alert",
            {"Authorization": f"Bearer {WEBHOOK_SECRET}", "Content-Type": "application/json"},
        ),
        "alertmanager: wrong bearer token": (
            "alertmanager",
            {"Authorization": "Bearer not-the-webhook-secret", "Content-Type": "application/json"},
        ),
        "alertmanager: stale signature": ("alertmanager", hook_headers(body, now - 6 * 60)),
    }
    before = timeline(bot, gd)
    for name, (path, headers) in attempts.items():
        response = requests.post(f"{hooks}/{path}", data=body, headers=headers, timeout=10)
        assert response.status_code == 401, (name, response.status_code, response.text)
        error = response.json()["error"]
        assert_sentence(error)
        assert "WWW-Authenticate" in response.headers, name
    time.sleep(0.3)
    assert timeline(bot, gd) == before

    accepted = requests.post(
        f"{hooks}/alert", data=body, headers=hook_headers(body, int(time.time())), timeout=10
    )
    assert accepted.status_code == 200, accepted.text
    detections = [e for e in timeline(bot, gd) if e["kind"] == "detected"]
    assert [(e["actor"], e["data"]["source"]) for e in detections] == [("webhook:DNS beacon", "webhook")]
    slash(slack, "UFAC", "abort webhooks done", channel)

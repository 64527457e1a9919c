"""The findings under a debrief and their buttons (Assign owner, Open ticket, Mark fixed), through `sce
serve`'s Bolt app and the local Slack-compatible workspace over real HTTP with signed requests; tickets go
to the local GitHub server of the ticket tests (tests/ticket_servers.py).

A real game day ends and posts its debrief; the follow-up lists its findings once. The attacks are the
requests Slack would sign for someone else's view of the message (a non-member looking at a public
channel, a forged value, another channel's finding, a channel that is not the message's): each gets one
sentence, only to them, and changes nothing. One workspace, bot and GitHub server serve the module; each
test has a channel of its own.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from core_harness import scenario_text
from served_app import local_settings, served_app
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from ticket_servers import GitHubServer

from bot.gameday.clock import VirtualClock
from bot.gameday.findings.model import Finding, FindingKind, FindingState
from bot.gameday.findings.recording import FindingFilter, Refused
from bot.gameday.findings.transitions import assign, move
from bot.runtime.service import Services
from bot.slack import blocks
from bot.slack.finding_clicks import NO_NOTE, NOT_A_FINDING, NOT_A_MEMBER, NOT_A_PERSON, TOO_LONG
from bot.workspace import payloads
from bot.workspace.client import WorkspaceClient
from bot.workspace.delivery import sign
from bot.workspace.server import LocalWorkspace
from storage.finding_store import FindingStore

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = {f"C{n}": f"room-{n}" for n in range(1, 9)}
USERS = {"U1": "alice", "U2": "bob", "U3": "dave", "UFAC": "carol", "UADMIN": "erin", "UOUT": "mallory"}
MEMBERS = ["UBOT", "U1", "U2", "U3", "UFAC"]  # UADMIN (an admin) and UOUT are in no channel
ROSTER = {"primary": "U1", "secondary": "U2"}
HOSTILE = "<!channel> rotate <@U3> via <https://evil.example|the docs> & *now* " + "x" * 5000


@dataclass
class World:
    ws: LocalWorkspace
    services: Services
    people: WorkspaceClient
    clock: VirtualClock
    github: GitHubServer

    @property
    def store(self) -> FindingStore:
        return FindingStore(self.services.store.engine)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    clock = VirtualClock()
    members = {channel: MEMBERS for channel in CHANNELS}
    ws = LocalWorkspace(
        signing_secret="s", clock=clock.now, channels=CHANNELS, users=USERS, members=members
    ).start()
    with GitHubServer() as github:
        settings = local_settings(
            ws,
            tmp_path_factory.mktemp("buttons"),
            ROOT / "scenarios",
            tickets="github:acme/security",
            github_token=GitHubServer.TOKEN,
            github_api_url=github.url,
            admins=frozenset({"UADMIN"}),
        )
        with served_app(ws, settings, clock) as (services, people):
            yield World(ws, services, people, clock, github)
        assert github.problems == []
    ws.stop()


def finish_gameday(world: World, channel: str, gaps: list[str]) -> tuple[str, list[Finding]]:
    """A game day in ``channel`` with these gaps, ended and its debrief posted as `sce serve` posts it."""
    engine, clock = world.services.engine, world.clock
    gd = engine.start(scenario_text(), channel, "UFAC", ROSTER).gameday_id
    assert gd
    clock.advance(30)
    world.services.timers.poll()
    for n, text in enumerate(gaps):
        assert engine.add_note(gd, "gap", text, "U2", clock.now(), f"{channel}-{n}").ok
    assert engine.end(gd, "UFAC").ok
    clock.advance(1)
    world.services.timers.poll()
    found = world.store.list(FindingFilter(gameday=gd), clock.now())
    assert len(found) >= len(gaps)
    return gd, found


def wait(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def follow_ups(world: World, channel: str) -> list[dict[str, Any]]:
    return [
        m
        for m in world.people.messages(channel)
        if str(((m.get("metadata") or {}).get("event_payload") or {}).get("key", "")).endswith(":findings")
    ]


def follow_up(world: World, channel: str) -> dict[str, Any]:
    return dict(wait(lambda: follow_ups(world, channel)[-1:], f"the findings message in {channel}")[0])


def block_of(message: dict[str, Any], finding: Finding) -> list[dict[str, Any]]:
    """The finding's section and its actions (if any) in the message."""
    shown = message["blocks"]
    at = next(i for i, b in enumerate(shown) if f"`{finding.id}`" in str((b.get("text") or {}).get("text")))
    after = shown[at + 1 : at + 2]
    return [shown[at], *[b for b in after if b.get("type") == "actions"]]


def answered(world: World, user: str, act: Callable[[], object]) -> str:
    """What the person sees only for themselves after ``act``: the newest ephemeral it brought."""
    before = len(world.people.ephemerals(user))
    act()
    return str(wait(lambda: world.people.ephemerals(user)[before:], f"an answer to {user}")[-1]["text"])


def forged_click(
    world: World,
    user: str,
    channel: str,
    message_ts: str,
    action: dict[str, Any],
    payload_channel: dict[str, str] | None = None,
) -> str:
    """A block_actions payload Slack would sign for ``user`` on a message of ``channel`` (as a non-member
    previewing a public channel sees it), with ``action`` (and the payload's channel) as given; the answer
    they see."""
    state = world.ws.state
    message = state.find_message(channel, message_ts)
    assert message is not None
    base = payloads.block_action(message, action["action_id"], f"{time.time():.6f}", None, None, None)
    response_url = world.ws.driver.response_url(user, channel)
    payload = payloads.block_actions_payload(
        state, state.users[user], message, {**base, **action}, response_url, payloads.new_trigger_id()
    )
    if payload_channel is not None:
        payload["channel"] = payload_channel
    return post_signed(world, user, payload)


def post_signed(world: World, user: str, payload: dict[str, Any]) -> str:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    now = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(now),
        "X-Slack-Signature": sign(world.ws.signing_secret, now, body),
    }
    url = world.ws.request_url
    assert url
    return answered(world, user, lambda: requests.post(url, data=body, headers=headers, timeout=10))


def valid_blocks(message: dict[str, Any]) -> None:
    assert 1 <= len(message["blocks"]) <= 50
    for block in message["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()  # slack_sdk's own limits: 3,000 characters a text, 255 a value...


# --- the message ----------------------------------------------------------------------------------


def test_the_debrief_is_followed_once_by_its_findings_each_with_its_buttons(world: World) -> None:
    gd, found = finish_gameday(world, "C1", ["no revoke step", "nobody owned the pager"])
    message = follow_up(world, "C1")
    record = world.services.store.get(gd)
    assert record is not None and message["thread_ts"] == record.thread_ts
    debrief = next(m for m in world.people.messages("C1") if "Debrief:" in (m.get("text") or ""))
    assert float(debrief["ts"]) < float(message["ts"])  # after the debrief
    valid_blocks(message)
    assert message["text"].startswith(":mag: *[GAME DAY] Findings of this game day*")
    assert f"{len(found)} to follow up" in message["blocks"][0]["text"]["text"]
    for finding in found:
        card, controls = block_of(message, finding)
        assert f"`{finding.id}` · {finding.kind} · *open*" in card["text"]["text"]
        assert controls["block_id"] == f"finding:{finding.id}"
        kinds = [(e["type"], e["action_id"], e.get("value")) for e in controls["elements"]]
        assert kinds == [
            ("users_select", blocks.FINDING_OWNER, None),
            ("button", blocks.FINDING_TICKET, finding.id),
            ("button", blocks.FINDING_FIXED, finding.id),
        ]
    # without SCE_TICKETS a finding has no Open ticket button
    untracked = copy.copy(world.services.finding_buttons)
    assert untracked is not None
    untracked.tickets = False
    controls = untracked.finding_blocks(found[0], None)[1]["elements"]
    assert [e["action_id"] for e in controls] == [blocks.FINDING_OWNER, blocks.FINDING_FIXED]
    # a publish replayed (the outbox key is taken) posts nothing more, and the timers add nothing either
    with world.services.store.transaction(gd) as tx:
        assert world.services.engine.injects.outbox.post(tx, "findings", "findings") is False
    world.services.timers.poll()
    assert len(follow_ups(world, "C1")) == 1


def test_many_findings_show_ten_with_controls_and_a_hostile_text_stays_text(world: World) -> None:
    gd, found = finish_gameday(world, "C2", [HOSTILE] + [f"gap number {n}" for n in range(11)])
    message = follow_up(world, "C2")
    valid_blocks(message)
    assert sum(1 for b in message["blocks"] if b["type"] == "actions") == 10
    more = message["blocks"][-1]
    assert more["type"] == "context"
    assert more["elements"][0]["text"] == f"+{len(found) - 10} more: `/sce findings pager-stress`"
    hostile = next(f for f in found if f.text.startswith("<!channel>"))
    card = block_of(message, hostile)[0]["text"]["text"]
    assert "&lt;!channel&gt; rotate &lt;@U3&gt; via &lt;https://evil.example|the docs&gt; &amp;" in card
    assert "<!channel>" not in card and "<@U3>" not in card and "<https://" not in card
    assert len(card) < 600  # the text is cut (300 characters of the finding, escaped)
    shown = json.dumps(message)
    assert "<!channel>" not in shown and "<https://evil" not in shown


# --- the buttons ----------------------------------------------------------------------------------


def test_assign_owner_sets_the_owner_keeps_the_state_and_shows_it(world: World) -> None:
    _, found = finish_gameday(world, "C3", ["no revoke step"])
    target, message = found[0], follow_up(world, "C3")
    said = answered(
        world,
        "U1",
        lambda: world.people.click(
            "U1",
            "C3",
            message["ts"],
            blocks.FINDING_OWNER,
            block_id=f"finding:{target.id}",
            selected_user="U3",
        ),
    )
    assert said.startswith(f"`{target.id}` is <@U3>'s now; it stays open")
    stored = world.store.get(target.number)
    assert stored is not None and stored.owner == "U3" and stored.state is FindingState.OPEN
    assert stored.notes[-1].by == "U1" and stored.notes[-1].text == "owner: U3"
    card, controls = block_of(wait(lambda: _with(world, "C3", "owner <@U3>"), "the owner shown"), target)
    assert controls["elements"][0]["initial_user"] == "U3"
    # picking the same person again changes nothing
    again = answered(
        world,
        "U2",
        lambda: world.people.click(
            "U2",
            "C3",
            message["ts"],
            blocks.FINDING_OWNER,
            block_id=f"finding:{target.id}",
            selected_user="U3",
        ),
    )
    assert again == f"{target.id} has that owner already."
    assert world.store.get(target.number) == stored


def _with(world: World, channel: str, needle: str) -> dict[str, Any] | None:
    message = follow_up(world, channel)
    return message if needle in json.dumps(message) else None


def test_mark_fixed_asks_for_the_note_in_a_modal_and_a_second_click_says_it_is_fixed(world: World) -> None:
    _, found = finish_gameday(world, "C4", ["no revoke step"])
    target, message = found[0], follow_up(world, "C4")
    before = len(world.people.modals("U2"))
    world.people.click("U2", "C4", message["ts"], blocks.FINDING_FIXED, value=target.id)
    modal = wait(lambda: world.people.modals("U2")[before:], "the Mark fixed form")[-1]
    View(**modal).validate_json()  # slack_sdk's own limits for a modal
    assert modal["callback_id"] == blocks.FIX_NOTE and modal["private_metadata"] == f"{target.id} C4"
    field = next(b for b in modal["blocks"] if b["type"] == "input")
    assert field["element"]["max_length"] == 2000
    # an empty note and one past 2,000 characters are refused in the form, which stays open
    empty = world.people.submit_view("U2", {"fix_note": {"note": "   "}})
    assert empty["body"] == {"response_action": "errors", "errors": {"fix_note": NO_NOTE}}
    long = world.people.submit_view("U2", {"fix_note": {"note": "y" * 2001}})
    assert long["body"]["errors"] == {"fix_note": TOO_LONG}
    assert world.store.get(target.number).state is FindingState.OPEN  # type: ignore[union-attr]
    note = "rotated the key <!here> & <https://evil.example|done>"
    said = answered(world, "U2", lambda: world.people.submit_view("U2", {"fix_note": {"note": note}}))
    assert said.startswith(f"`{target.id}` is fixed now: rotated the key &lt;!here&gt; &amp; &lt;https://")
    assert world.people.modals("U2")[before:] == []
    stored = world.store.get(target.number)
    assert stored is not None and stored.state is FindingState.FIXED and stored.notes[-1].text == note
    shown = wait(lambda: _with(world, "C4", "*fixed*"), "the finding shown fixed")
    assert block_of(shown, target)[1:] == []  # no controls left on a fixed finding
    # the stale button clicked again: the finding has moved on, no form opens
    assert (
        answered(
            world,
            "U1",
            lambda: world.people.click("U1", "C4", message["ts"], blocks.FINDING_FIXED, value=target.id),
        )
        == f"{target.id} is fixed already."
    )
    assert world.people.modals("U1") == []
    assert world.store.get(target.number) == stored


def test_open_ticket_opens_one_issue_and_a_second_click_names_it(world: World) -> None:
    _, found = finish_gameday(world, "C5", ["no revoke step"])
    target, message = found[0], follow_up(world, "C5")
    sent = len(world.github.received)
    said = answered(
        world,
        "U1",
        lambda: world.people.click("U1", "C5", message["ts"], blocks.FINDING_TICKET, value=target.id),
    )
    url = "https://github.com/acme/security/issues/"
    assert said.startswith(f"`{target.id}` has a ticket now: {url}")
    assert [path for _, path, _ in world.github.received[sent:]] == ["/repos/acme/security/issues"]
    ticket = world.store.ticket_of(target.number)
    assert ticket is not None and ticket.startswith(url)
    shown = wait(lambda: _with(world, "C5", "ticket <" + ticket), "the ticket shown")
    assert [e["action_id"] for e in block_of(shown, target)[1]["elements"]] == [
        blocks.FINDING_OWNER,
        blocks.FINDING_FIXED,
    ]
    again = answered(
        world,
        "U2",
        lambda: world.people.click("U2", "C5", message["ts"], blocks.FINDING_TICKET, value=target.id),
    )
    assert again == f"`{target.id}` has a ticket already: {ticket}"
    assert len(world.github.received) == sent + 1


# --- attacks --------------------------------------------------------------------------------------


def test_forged_values_other_channels_and_outsiders_change_nothing(world: World) -> None:
    _, mine = finish_gameday(world, "C6", ["no revoke step"])
    _, theirs = finish_gameday(world, "C7", ["red team gap"])
    target, other = mine[0], theirs[0]
    here = follow_up(world, "C6")["ts"]
    unchanged = {f.number: world.store.get(f.number) for f in (target, other)}

    def click(user: str, action_id: str, **kwargs: Any) -> str:
        return answered(world, user, lambda: world.people.click(user, "C6", here, action_id, **kwargs))

    # another channel's finding, on this channel's message: as if it did not exist
    for action_id in (blocks.FINDING_FIXED, blocks.FINDING_TICKET):
        assert click("U1", action_id, value=other.id) == f"There is no finding {other.id} here."
    owner = click("U1", blocks.FINDING_OWNER, block_id=f"finding:{other.id}", selected_user="U1")
    assert owner == f"There is no finding {other.id} here."
    # malformed and oversized values name no finding, and are not echoed
    for value in ("F-0", "<!channel>", "F-1;drop", "F-99999999999999999999", "F-" + "1" * 250):
        assert click("U1", blocks.FINDING_FIXED, value=value) == NOT_A_FINDING
    assert click("U1", blocks.FINDING_OWNER, block_id="controls:gd-1", selected_user="U1") == NOT_A_FINDING
    # a picked "person" that is no user id
    for typed in ("<!channel>", "U1> <!here", "", "u1"):
        said = click("U1", blocks.FINDING_OWNER, block_id=f"finding:{target.id}", selected_user=typed)
        assert said == NOT_A_PERSON
    # someone outside the channel (a public channel's preview shows its buttons) is refused
    outsider = {"action_id": blocks.FINDING_FIXED, "value": target.id}
    assert forged_click(world, "UOUT", "C6", here, outsider) == NOT_A_MEMBER
    picked = {"action_id": blocks.FINDING_OWNER, "block_id": f"finding:{target.id}", "selected_user": "UOUT"}
    assert forged_click(world, "UOUT", "C6", here, picked) == NOT_A_MEMBER
    # the payload's channel is not the message's: no channel, no click
    moved = forged_click(world, "U1", "C6", here, outsider, payload_channel={"id": "C7", "name": "room-7"})
    assert moved == NOT_A_FINDING
    # the form sent with another channel's finding in its metadata (Slack returns what the bot set)
    user = world.ws.state.users["U1"]
    forged_view = {"type": "modal", "callback_id": blocks.FIX_NOTE, "private_metadata": f"{other.id} C6"}
    view = payloads.view_submission_payload(
        user, forged_view, {"fix_note": {"note": "x"}}, payloads.new_trigger_id()
    )
    body = urlencode({"payload": json.dumps(view)}).encode()
    now = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(now),
        "X-Slack-Signature": sign(world.ws.signing_secret, now, body),
    }
    answer = requests.post(str(world.ws.request_url), data=body, headers=headers, timeout=10).json()
    assert answer == {
        "response_action": "errors",
        "errors": {"fix_note": f"There is no finding {other.id} here."},
    }
    assert {f.number: world.store.get(f.number) for f in (target, other)} == unchanged
    # an admin outside the channel may: the rule's third party
    admin = forged_click(world, "UADMIN", "C6", here, {**picked, "selected_user": "U3"})
    assert admin.startswith(f"`{target.id}` is <@U3>'s now")


# --- the rule behind Assign owner ------------------------------------------------------------------


def test_owning_a_finding_keeps_its_state_and_a_finding_that_moved_on_takes_no_owner() -> None:
    found = Finding(
        number=7,
        gameday="gd-1",
        key="k",
        kind=FindingKind.GAP,
        scenario="s",
        channel="C1",
        text="t",
        created_at=0.0,
    )
    owned = assign(found, "U3", 10.0, "U1")
    assert (owned.owner, owned.state, owned.version) == ("U3", FindingState.OPEN, 2)
    assert owned.notes[-1].model_dump() == {"at": 10.0, "by": "U1", "state": "open", "text": "owner: U3"}
    with pytest.raises(Refused, match=r"^F-7 has that owner already\.$"):
        assign(owned, "U3", 11.0, "U2")
    fixed = move(found, FindingState.FIXED, 5.0, "U1")
    with pytest.raises(Refused, match=r"^F-7 is fixed already; it needs no owner any more\.$"):
        assign(fixed, "U3", 11.0, "U2")
    accepted = move(found, FindingState.ACCEPTED_RISK, 5.0, "U1", reason="legacy box", until=1000.0)
    with pytest.raises(Refused, match="accepted risk until 1970-01-01"):
        assign(accepted, "U3", 11.0, "U2")
    lapsed = assign(accepted, "U3", 2000.0, "U2")  # the acceptance ran out: open again, and ownable
    assert lapsed.owner == "U3" and lapsed.notes[-1].state is FindingState.OPEN

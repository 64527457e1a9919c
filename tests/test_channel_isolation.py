"""A game day is seen only in its channel, by that channel's members, and by the admins (SCE_ADMINS).

Two channels run game days: #drills (public) and #red-team (private). alice is only in #drills, eve only
in #red-team, bob in both, dave in neither and erin is an admin (through the user group SADMINS) in
neither. Everyone is in #lobby; #no-bot has people but not the bot. Every surface (debrief by id, history,
Home, schedule into a channel, schedule list and cancel, buttons) is asked by each of them, and nothing
of the other channel may show: its game day ids, its scenario name, its schedule ids.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from bot_process import TEST_POSTS_PER_SECOND
from threads import wait_until

from bot.config import Settings
from bot.gameday.clock import VirtualClock
from bot.gameday.people.visibility import NOT_BOOKABLE, unseen_gameday
from bot.runtime.server import HttpServer
from bot.runtime.service import Services, build_services
from bot.slack import blocks
from bot.slack.app import create_app, slack_over_http
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace
from bot.workspace.state import BOT_USER_ID

ROOT = Path(__file__).resolve().parents[1]
DRILLS, RED, LOBBY, NOBOT = "CDRILLS", "CREDTEAM", "CLOBBY", "CNOBOT"
USERS = {"U1": "alice", "U2": "bob", "U3": "dave", "U4": "eve", "UADM": "erin"}
CHANNELS = {DRILLS: "drills", RED: "red-team", LOBBY: "lobby", NOBOT: "no-bot"}
MEMBERS = {DRILLS: ["U1", "U2", BOT_USER_ID], RED: ["U2", "U4", BOT_USER_ID], NOBOT: ["U1", "U2"]}
SCENARIO = {DRILLS: "pager-stress", RED: "secret-exfil"}  # the private channel's scenario name leaks nowhere
TITLE = {DRILLS: "Pager rotation stress", RED: "Secret exfiltration drill"}
IN = {user: {c for c, people in MEMBERS.items() if user in people} - {NOBOT} for user in USERS}
SEES = {**IN, "UADM": {DRILLS, RED}}


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@dataclass
class World:
    clock: VirtualClock
    services: Services
    workspace: LocalWorkspace
    people: WorkspaceClient
    finished: dict[str, str]  # channel -> id of its finished game day
    running: dict[str, str]  # channel -> id of its running game day
    kickoff: dict[str, str]  # channel -> ts of its running game day's kickoff
    booked: dict[str, str]  # channel -> id of its schedule

    def say(self, user: str, text: str, channel: str) -> str:
        result = self.people.slash(user, "/sce", text, channel=channel)
        assert result["status"] == 200, result
        return str(result["text"])

    def others(self, channel: str) -> list[str]:
        """What belongs to the other game-day channel and must not show here."""
        other = RED if channel == DRILLS else DRILLS
        return [self.finished[other], self.running[other], self.booked[other], SCENARIO[other], TITLE[other]]


def start(world: World, channel: str, who: str) -> str:
    answer = world.say(who, f"start {SCENARIO[channel]} oncall=<@{who}> secondary=<@U2>", channel)
    assert "Starting" in answer, answer
    found = wait_until(
        lambda: next((r.id for r in world.services.store.active_in_channel(channel) if r.thread_ts), None),
        what=f"a game day in {channel} with its kickoff",
    )
    wait_until(  # the start's last word, so no later answer is taken for a test's own
        lambda: any(
            f"Game day {found} started" in (e.get("text") or "") for e in world.people.ephemerals(who)
        ),
        what=f"the start's answer in {channel}",
    )
    return cast(str, found)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    shutil.copy(ROOT / "scenarios" / "pager-stress.yaml", scenarios)
    secret = (
        (ROOT / "scenarios" / "pager-stress.yaml")
        .read_text()
        .replace("id: pager-stress", "id: secret-exfil")
        .replace(f"title: {TITLE[DRILLS]}", f"title: {TITLE[RED]}")
    )
    (scenarios / "secret-exfil.yaml").write_text(secret)
    clock = VirtualClock(ts("2026-12-01T09:00:00"))
    workspace = LocalWorkspace(
        signing_secret="s",
        clock=clock.now,
        users=USERS,
        channels=CHANNELS,
        members=MEMBERS,
        private_channels={RED},
        usergroups={"SADMINS": ["UADM"]},
    ).start()
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret="s",
        slack_api_url=workspace.api_url,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        scenarios_dir=scenarios,
        rotations_dir=tmp_path / "none",
        admins=frozenset({"SADMINS"}),
        slack_posts_per_second=float(TEST_POSTS_PER_SECOND),  # the pace is test_slack_etiquette's
    )
    services = build_services(settings, clock)
    server = HttpServer(slack_over_http(create_app(services), services), "127.0.0.1", 0)
    server.start()
    workspace.request_url = f"http://127.0.0.1:{server.port}/slack/events"
    people = WorkspaceClient(workspace.base_url)
    world = World(clock, services, workspace, people, {}, {}, {}, {})
    try:
        for channel, who in ((DRILLS, "U1"), (RED, "U4")):
            world.finished[channel] = start(world, channel, who)
            assert "ended" in world.say(who, "end", channel).lower()
            wait_until(
                lambda c=channel: not services.store.active_in_channel(c) or None,
                what=f"the end in {channel}",
            )
            world.running[channel] = start(world, channel, who)
            record = services.store.get(world.running[channel])
            assert record is not None and record.thread_ts
            world.kickoff[channel] = record.thread_ts
            booking = world.say("U2", f"schedule {SCENARIO[channel]} 2099-01-05 10:00", channel)
            world.booked[channel] = booking.split("`")[1]
            assert world.booked[channel].startswith("sch-"), booking
        yield world
    finally:
        people.close()
        server.stop()
        workspace.stop()


def test_debrief_by_id_only_in_its_channel_to_its_members_and_to_admins(world: World) -> None:
    missing = "gd-0badc0de"
    for user, visible in SEES.items():
        for asked_in in {LOBBY, *IN[user]}:
            for channel, gameday in world.finished.items():
                for typed in (gameday, gameday.upper(), f"`{gameday}`", f"{gameday.upper()}."):
                    answer = world.say(user, f"debrief {typed}", asked_in)
                    if channel in visible or channel == asked_in:
                        assert "Debrief" in answer and TITLE[channel] in answer, (user, asked_in, typed)
                        assert gameday in answer
                    else:  # word for word what an id that does not exist gets
                        assert answer == unseen_gameday(typed), (user, asked_in, typed, answer)
                        assert SCENARIO[channel] not in answer and TITLE[channel] not in answer
                        nothing = world.say(user, f"debrief {typed.replace(gameday, missing)}", asked_in)
                        assert nothing == unseen_gameday(typed.replace(gameday, missing))
                        assert answer.replace(typed, "X") == nothing.replace(
                            typed.replace(gameday, missing), "X"
                        )


def test_history_covers_only_the_channel_asked_in_text_and_chart(world: World) -> None:
    people = world.people
    for user, channel in (("U2", DRILLS), ("U1", DRILLS), ("U2", RED), ("U4", RED)):
        mine, other = SCENARIO[channel], SCENARIO[RED if channel == DRILLS else DRILLS]
        assert "1 run(s)" in world.say(user, f"history {mine}", channel)
        refused = world.say(user, f"history {other}", channel)
        assert refused == f"No finished game day of `{other}` in this channel yet.", refused
    # an admin's history is posted where asked, for everyone there to see: no exception
    assert "in this channel yet" in world.say("UADM", f"history {SCENARIO[RED]}", LOBBY)
    charts = wait_until(
        lambda: (
            [f for f in people.files() if f["name"].endswith(".svg")]
            if len([f for f in people.files() if f["name"].endswith(".svg")]) == 4
            else None
        ),
        what="four charts",
    )
    for chart in charts:
        assert chart["channel"] in (DRILLS, RED)
        assert chart["name"] == f"history-{SCENARIO[chart['channel']]}.svg"
        for leak in world.others(chart["channel"]):
            assert leak not in chart["content"]
    assert not people.files(LOBBY)


def home_of(world: World, user: str) -> str:
    world.workspace.state.views.pop(user, None)
    assert world.people.open_home(user)["status"] == 200
    shown = wait_until(
        lambda: json.dumps(world.people.home(user)) if world.people.home(user) else None, what="Home"
    )
    return cast(str, shown)


def test_home_lists_only_the_channels_the_viewer_is_in(world: World) -> None:
    for user, visible in SEES.items():
        home = home_of(world, user)
        for channel in (DRILLS, RED):
            own = [world.running[channel], world.booked[channel].removeprefix("sch-"), f"<#{channel}>"]
            if channel in visible:
                assert world.running[channel] in home and SCENARIO[channel] in home, (user, channel)
                assert home.count(f"<#{channel}>") == 2, (user, channel)  # running and scheduled
            else:
                for leak in [*own, SCENARIO[channel]]:
                    assert leak not in home, (user, channel, leak)
        if not visible:
            assert "Nothing is running" in home and "Latest result" not in home
        else:
            assert home.count("1 run(s)") == len(visible), (user, home)


def test_schedule_only_into_a_channel_the_requester_and_the_bot_are_in(world: World) -> None:
    before = {s.id for s in world.services.schedules.active()}
    refused = [
        ("U1", DRILLS, f"<#{RED}|red-team>"),  # alice is not in the private channel
        ("U1", DRILLS, f"<#{RED}|drills>"),  # a mention's name proves nothing: the id is asked
        ("U1", DRILLS, f"<#{RED}>"),
        ("U1", DRILLS, RED),  # a bare id
        ("U3", LOBBY, f"<#{DRILLS}|drills>"),  # dave is in neither
        ("U3", LOBBY, f"<#{RED}|red-team>"),
        ("UADM", LOBBY, f"<#{RED}|red-team>"),  # admins see everything but book only where they are
        ("U1", DRILLS, f"<#{NOBOT}|no-bot>"),  # alice is in it, the bot is not
        ("U1", NOBOT, ""),  # typed in a channel the bot is not in
        ("U1", DRILLS, "<#CGHOST|ghost>"),  # no such channel
    ]
    for user, asked_in, target in refused:
        answer = world.say(user, f"schedule pager-stress 2099-02-01 10:00 {target}".strip(), asked_in)
        assert answer == NOT_BOOKABLE, (user, asked_in, target, answer)
    for bare in ("#red-team", "#drills"):  # Slack did not link it: not a channel this person can pick
        answer = world.say("U1", f"schedule pager-stress 2099-02-01 10:00 {bare}", DRILLS)
        assert "not a channel Slack linked" in answer and "red-team" not in answer.replace(bare, "")
    assert {s.id for s in world.services.schedules.active()} == before
    booked = world.say("U2", f"schedule secret-exfil 2099-02-01 10:00 <#{RED}|red-team>", DRILLS)
    assert "sch-" in booked and f"<#{RED}>" in booked
    assert [s.channel for s in world.services.schedules.active() if s.id not in before] == [RED]


def test_one_game_day_per_channel_for_bookings(world: World) -> None:
    say = world.say
    base = "schedule pager-stress 2099-01-05"  # the fixture booked 10:00 in both channels (30 min box)
    clash = say("U2", f"{base} 10:29", DRILLS)
    assert "One game day at a time per channel" in clash and world.booked[DRILLS] in clash
    assert world.booked[RED] not in clash
    assert "sch-" in say("U2", f"{base} 10:30", DRILLS)  # right after the time box: fine
    assert "sch-" in say("U2", "schedule secret-exfil 2099-01-05 10:45 <#CREDTEAM|red-team>", DRILLS)
    weekly = say("U2", "schedule pager-stress 2099-03-01 09:00 every 7d", DRILLS)
    assert "sch-" in weekly
    later = say("U2", "schedule pager-stress 2099-06-07 09:15", DRILLS)  # a Sunday, like 2099-03-01
    assert "One game day at a time per channel" in later and weekly.split("`")[1] in later


def test_schedule_list_and_cancel_only_for_the_asking_channel(world: World) -> None:
    say = world.say
    for user, channel in (("U1", DRILLS), ("U2", DRILLS), ("U2", RED), ("U4", RED)):
        listed = say(user, "schedule list", channel)
        assert world.booked[channel] in listed
        for leak in world.others(channel):
            assert leak not in listed, (user, channel, leak)
    assert "Nothing is scheduled" in say("U3", "schedule list", LOBBY)
    everything = say("UADM", "schedule LIST", LOBBY)
    assert world.booked[DRILLS] in everything and world.booked[RED] in everything
    red = world.booked[RED]
    for user, asked_in, typed in (
        ("U1", DRILLS, red),
        ("U1", DRILLS, red.upper()),
        ("U2", DRILLS, f" `{red}` "),  # bob is in both, but cancels only where he asks
        ("U3", LOBBY, red),
    ):
        answer = say(user, f"schedule cancel {typed}", asked_in)
        assert answer.startswith("No active schedule") and SCENARIO[RED] not in answer, (user, typed)
        assert answer == say(user, f"schedule cancel {typed.replace(red, 'sch-000000')}", asked_in).replace(
            "sch-000000", red
        )
        assert red in {s.id for s in world.services.schedules.active()}
    assert say("U2", f"schedule cancel {red.upper()}", RED) == f"Schedule `{red}` cancelled."
    assert say("UADM", f"schedule cancel {world.booked[DRILLS]}", LOBBY).endswith("cancelled.")
    assert world.services.schedules.active() == []


def test_a_control_acts_only_on_the_game_day_of_its_own_channel(world: World) -> None:
    people = world.people
    for action in (blocks.END, blocks.PAUSE, blocks.ABORT):
        seen = len(people.ephemerals("U1"))
        people.click("U1", DRILLS, world.kickoff[DRILLS], action, value=world.running[RED])
        # the click is acked first and answered after, by a message of its own
        said = wait_until(lambda n=seen: people.ephemerals("U1")[n:], what=f"the answer to {action}")[-1]
        assert said["text"] == "This message is not part of a game day.", said
    record = world.services.store.get(world.running[RED])
    assert record is not None and record.status == "running"


def test_a_booking_never_starts_beside_a_running_game_day(world: World) -> None:
    booked = world.say("U2", "schedule pager-stress 2026-12-01 09:20", DRILLS)
    assert "sch-" in booked
    world.clock.advance(21 * 60)  # the running one's time box (30 min) is not over yet
    world.services.timers.poll()
    failed = wait_until(
        lambda: next(
            (m for m in world.people.messages(DRILLS) if "could not start" in (m.get("text") or "")), None
        ),
        what="the refusal",
    )
    assert world.running[DRILLS] in failed["text"]
    assert [r.id for r in world.services.store.all() if r.channel == DRILLS] == [
        world.finished[DRILLS],
        world.running[DRILLS],
    ]


def calls(world: World, method: str) -> list[dict[str, Any]]:
    return world.people.calls(method)


def test_membership_is_remembered_a_minute_and_a_slack_failure_shows_nothing(world: World) -> None:
    red = world.finished[RED]
    assert "Debrief" in world.say("U2", f"debrief {red}", DRILLS)
    asked = len(calls(world, "conversations.members"))
    assert "Debrief" in world.say("U2", f"debrief {red}", DRILLS)
    assert len(calls(world, "conversations.members")) == asked  # remembered
    world.people.set_members(RED, ["U4", BOT_USER_ID])  # bob leaves #red-team
    world.clock.advance(61)
    assert world.say("U2", f"debrief {red}", DRILLS) == unseen_gameday(red)
    world.people.set_members(RED, ["U2", "U4", BOT_USER_ID])
    world.clock.advance(61)
    world.people.fail_api("conversations.members", status=500)  # Slack out of reach once
    assert world.say("U2", f"debrief {red}", DRILLS) == unseen_gameday(red)  # fails closed
    assert "Debrief" in world.say("U2", f"debrief {red}", DRILLS)  # and is not remembered

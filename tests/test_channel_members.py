"""The bot's view of who is in a channel: every page of conversations.members, remembered a while, bounded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.gameday.clock import VirtualClock
from bot.runtime.service import slack_client
from bot.slack import channel_members
from bot.slack.channel_members import ChannelMembers
from bot.workspace import BOT_USER_ID, LocalWorkspace

CROWD = {f"U{n:05d}": f"user{n}" for n in range(2500)}


@pytest.fixture
def workspace() -> Iterator[LocalWorkspace]:
    ws = LocalWorkspace(
        users={**CROWD, "UADM": "admin"},
        channels={"CBIG": "everyone", "CSMALL": "small", "CPRIV": "private"},
        members={"CSMALL": ["U00001", BOT_USER_ID], "CPRIV": ["U00001"]},
        private_channels={"CPRIV"},
        usergroups={"SADMINS": ["UADM"]},
    ).start()
    yield ws
    ws.stop()


def members_for(workspace: LocalWorkspace, clock: VirtualClock, admins: frozenset[str]) -> ChannelMembers:
    client = slack_client(Settings(slack_bot_token=workspace.bot_token, slack_api_url=workspace.api_url))
    return ChannelMembers(client, clock.now, admins)


def asked(workspace: LocalWorkspace, method: str) -> int:
    return sum(1 for call in workspace.calls if call.method == method)


def test_every_page_is_read_and_the_answer_kept_a_minute(workspace: LocalWorkspace) -> None:
    clock = VirtualClock()
    members = members_for(workspace, clock, frozenset({"SADMINS", "U00007"}))
    assert members.of("CBIG") == frozenset({*CROWD, "UADM", BOT_USER_ID})
    assert asked(workspace, "conversations.members") == 3  # 2,502 members, 1,000 a page
    assert members.may_see("CBIG", "U02499") and members.of("CBIG")
    assert asked(workspace, "conversations.members") == 3
    assert members.of("CPRIV") == frozenset()  # channel_not_found: nobody, remembered too
    assert not members.may_see("CPRIV", "U00001")
    assert members.may_see("CPRIV", "UADM") and members.may_see("CPRIV", "U00007")
    assert members.bot_user() == BOT_USER_ID and members.booking_refusal("CSMALL", "U00001") is None
    assert members.booking_refusal("CPRIV", "U00001") is not None
    before = asked(workspace, "conversations.members")
    clock.advance(61)
    members.of("CSMALL")
    assert asked(workspace, "conversations.members") == before + 1


def test_the_cache_keeps_a_bounded_number_of_channels(
    workspace: LocalWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(channel_members, "MAX_CHANNELS", 3)
    members = members_for(workspace, VirtualClock(), frozenset())
    for n in range(20):  # ids typed by someone probing: each answered, the oldest forgotten
        assert members.of(f"CPROBE{n}") == frozenset()
    assert len(members._channels) == 3


def test_sce_admins_is_read_like_the_other_people_settings() -> None:
    assert Settings.from_env({"SCE_ADMINS": " U1, SADMINS;U2 ,"}).admins == frozenset({"U1", "U2", "SADMINS"})
    assert Settings.from_env({}).admins == frozenset()

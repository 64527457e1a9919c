"""The local workspace answers about channel membership the way Slack does: conversations.members page by
page, a private channel hidden from a bot outside it, not_in_channel for a public one it has not joined."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.workspace import BOT_USER_ID, LocalWorkspace, WorkspaceClient, WorkspaceClientError
from bot.workspace.payloads import slash_command_form
from bot.workspace.state import Channel, User

USERS = {f"U{n}": f"user{n}" for n in range(1, 8)}
CHANNELS = {"COPEN": "open", "CPRIV": "priv", "CHIDDEN": "hidden", "CNOBOT": "nobot"}
MEMBERS = {
    "CPRIV": ["U1", "U2", BOT_USER_ID],
    "CHIDDEN": ["U1"],  # private, without the bot
    "CNOBOT": ["U1", "U2"],  # public, without the bot
}


@pytest.fixture
def workspace() -> Iterator[LocalWorkspace]:
    ws = LocalWorkspace(
        users=USERS, channels=CHANNELS, members=MEMBERS, private_channels={"CPRIV", "CHIDDEN"}
    ).start()
    yield ws
    ws.stop()


def slack_error(call: object) -> str:
    assert callable(call)
    with pytest.raises(SlackApiError) as raised:
        call()
    return str(raised.value.response["error"])


def every_member(client: WebClient, channel: str, limit: int) -> tuple[list[str], int]:
    found, cursor, pages = [], None, 0
    while True:
        page = client.conversations_members(channel=channel, limit=limit, cursor=cursor)
        pages += 1
        found += page["members"]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            return found, pages


@pytest.mark.parametrize("limit", [1, 2, 3, 100])
def test_conversations_members_pages_through_everyone(workspace: LocalWorkspace, limit: int) -> None:
    client = WebClient(token=workspace.bot_token, base_url=workspace.api_url)
    everyone, pages = every_member(client, "COPEN", limit)  # a channel listing nobody has everyone
    assert sorted(everyone) == sorted([*USERS, BOT_USER_ID]) and len(set(everyone)) == len(everyone)
    assert pages == -(-len(everyone) // limit)
    assert every_member(client, "CPRIV", limit)[0] == ["U1", "U2", BOT_USER_ID]
    assert every_member(client, "#priv", limit)[0] == ["U1", "U2", BOT_USER_ID]  # by name, like Slack
    assert every_member(client, "CNOBOT", limit)[0] == ["U1", "U2"]  # public: readable from outside


def test_a_private_channel_the_bot_is_not_in_does_not_exist_for_it(workspace: LocalWorkspace) -> None:
    client = WebClient(token=workspace.bot_token, base_url=workspace.api_url)
    for call in (
        lambda: client.conversations_members(channel="CHIDDEN"),
        lambda: client.conversations_info(channel="CHIDDEN"),
        lambda: client.chat_postMessage(channel="CHIDDEN", text="hi"),
        lambda: client.conversations_history(channel="CHIDDEN"),
        lambda: client.files_upload_v2(channel="CHIDDEN", content="x", filename="x.txt"),
        lambda: client.conversations_members(channel="CNOWHERE"),
    ):
        assert slack_error(call) == "channel_not_found"
    for call in (
        lambda: client.chat_postMessage(channel="CNOBOT", text="hi"),
        lambda: client.chat_postEphemeral(channel="CNOBOT", user="U1", text="hi"),
        lambda: client.files_upload_v2(channel="CNOBOT", content="x", filename="x.txt"),
    ):
        assert slack_error(call) == "not_in_channel"
    assert not [f for f in workspace._run(workspace.driver.files()) if f["channel"]]  # nothing shared
    assert slack_error(lambda: client.chat_postEphemeral(channel="CPRIV", user="U3", text="hi")) == (
        "user_not_in_channel"
    )
    assert slack_error(lambda: client.conversations_members(channel="COPEN", cursor="bm9wZQ==")) == (
        "invalid_cursor"
    )
    info = client.conversations_info(channel="CPRIV")["channel"]
    assert info["is_private"] is True and info["is_member"] is True
    assert client.conversations_info(channel="CNOBOT")["channel"]["is_member"] is False


def test_people_act_only_in_channels_they_are_in_and_membership_changes(workspace: LocalWorkspace) -> None:
    people = WorkspaceClient(workspace.base_url)
    client = WebClient(token=workspace.bot_token, base_url=workspace.api_url)
    try:
        acts: list[Callable[[], object]] = [
            lambda: people.post("U3", "CPRIV", "hello"),
            lambda: people.slash("U3", "/sce", "status", channel="CPRIV"),
            lambda: people.post("U3", "CNOBOT", "hello"),
        ]
        for act in acts:
            with pytest.raises(WorkspaceClientError) as refused:
                act()
            assert refused.value.status == 403 and refused.value.error == "not_in_channel"
        people.set_members("CPRIV", ["U1", "U3", BOT_USER_ID])  # U2 leaves, U3 joins
        assert every_member(client, "CPRIV", 100)[0] == ["U1", "U3", BOT_USER_ID]
        people.set_members("CHIDDEN", ["U1", BOT_USER_ID])  # the bot is invited: it sees the channel
        assert every_member(client, "CHIDDEN", 100)[0] == ["U1", BOT_USER_ID]
        with pytest.raises(WorkspaceClientError):
            people.set_members("CPRIV", ["UNOBODY"])
    finally:
        people.close()


def test_a_private_channel_is_never_named_in_a_slash_command() -> None:
    form = slash_command_form(
        User("U1", "a"), Channel("CPRIV", "secret", is_private=True), "/sce", "", "", ""
    )
    assert form["channel_name"] == "privategroup" and "secret" not in str(form)

"""`/sce debrief [latest|id]` after the end, and the hosted HTML debrief its link opens.

The link is the credential: signed for one game day and one person, expiring, and checked again against
the channel's members at every view. Every wrong link gets the same 404, whatever is wrong with it.
Through the local workspace and the bot's own HTTP port, in this process.
"""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from inprocess_bot import Bot
from test_slack_talks_back import bot, events, start, wait_for, workspace

from bot.config import Settings
from bot.debrief.render import render_debrief
from bot.gameday.measuring.report import with_names
from bot.gameday.running.engine import build_debrief_for
from bot.slack.channel_members import MEMBERS_TTL
from bot.slack.debrief_links import DebriefLinks, public_base_url
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

__all__ = ["bot", "workspace"]  # the fixtures, shared with the page and reaction tests
HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Cache-Control", "Referrer-Policy")


def test_the_debrief_is_there_after_the_end_by_default_latest_and_id(
    bot: Bot, workspace: LocalWorkspace, people: WorkspaceClient
) -> None:
    before = people.slash("U1", "/sce", "debrief")["text"]
    assert "No game day has run in this channel yet" in before
    gameday, thread, _ = start(bot, people)
    running = people.slash("U1", "/sce", "debrief")["text"]
    assert f"`{gameday}`" in running and "running" in running  # the interim debrief
    # /sce status counts what the timeline holds: one page sent, not yet acknowledged
    pages = len(events(bot, gameday, "page_sent"))
    status = people.slash("U2", "/sce", "status")["text"]
    assert status == f"`{gameday}` (one-page): running, {pages} page(s), {pages} unacknowledged.", status
    people.post("U1", "C1", "ack", thread_ts=thread)
    wait_for(lambda: events(bot, gameday, "acknowledged"), "the acknowledgement")
    status = people.slash("U2", "/sce", "status")["text"]
    assert status == f"`{gameday}` (one-page): running, {pages} page(s), 0 unacknowledged.", status
    assert "ended" in people.slash("UFAC", "/sce", "end")["text"]
    assert "No game day is running" in people.slash("UFAC", "/sce", "status")["text"]

    for text in ("debrief", "debrief latest", f"debrief {gameday}", f"debrief `{gameday.upper()}`"):
        answer = people.slash("U2", "/sce", text)["text"]
        assert f"`{gameday}`" in answer and "completed" in answer, (text, answer)
        assert "acknowledged by <@U1>" in answer, answer
        # no SCE_PUBLIC_URL: no link, and what to run instead
        assert "no public address" in answer and f"sce debrief {gameday} --format html" in answer
    # from a channel she is not in, mallory gets what an id that does not exist gets
    hers = people.slash("U9", "/sce", f"debrief {gameday}", channel="C2")["text"]
    nobody = people.slash("U9", "/sce", "debrief gd-00000000", channel="C2")["text"]
    assert "completed" not in hers and hers.replace(gameday, "gd-00000000") == nobody
    assert "No game day has run" in people.slash("U9", "/sce", "debrief latest", channel="C2")["text"]


def link_in(answer: str) -> str:
    found = re.search(r"<(http://[^|>]+)\|open it in your browser>", answer)
    assert found, answer
    return found[1]


def test_the_reply_links_the_hosted_debrief_for_the_person_asking(
    bot: Bot, workspace: LocalWorkspace, people: WorkspaceClient
) -> None:
    bot.services.links.base_url = bot.base  # SCE_PUBLIC_URL
    gameday, _, _ = start(bot, people)
    people.slash("UFAC", "/sce", "end")
    reply = people.slash("U2", "/sce", "debrief latest")
    assert reply["answer"]["unfurl_links"] is False  # Slack fetches no preview of it
    answer = reply["text"]
    url = link_in(answer)
    assert url.startswith(f"{bot.base}/debriefs/{gameday}?t=") and "U2" in url
    assert "for you only" in answer and "1h" in answer
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "One page" in page.text and gameday in page.text


# -- the hosted page ------------------------------------------------------------------------------
@pytest.fixture
def linked(bot: Bot, people: WorkspaceClient) -> Iterator[tuple[str, str]]:
    """A finished game day of #gameday and bob's link to its debrief."""
    bot.services.links.base_url = bot.base  # SCE_PUBLIC_URL
    gameday, _, _ = start(bot, people)
    people.slash("UFAC", "/sce", "abort done")
    wait_for(lambda: events(bot, gameday, "gameday_ended"), "the end")
    yield gameday, link_in(people.slash("U2", "/sce", "debrief latest")["text"])


def raw(bot: Bot, method: str, target: str) -> tuple[int, bytes, dict[str, str]]:
    """One request exactly as written (no client normalising ``..`` or encodings away)."""
    connection = http.client.HTTPConnection("127.0.0.1", bot.server.port, timeout=10)
    try:
        connection.request(method, target)
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


def target_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_the_link_serves_what_sce_debrief_prints_with_strict_headers(
    bot: Bot, linked: tuple[str, str]
) -> None:
    gameday, url = linked
    status, body, headers = raw(bot, "GET", target_of(url))
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    record = bot.services.store.get(gameday)
    assert record is not None
    names = {"U1": "alice", "U2": "bob", "UFAC": "carol"}  # the local workspace's people (conftest)
    plain = build_debrief_for(record, bot.services.store.events(gameday))
    expected = render_debrief(with_names(plain, names), "html")
    assert body.decode() == expected  # the page `sce debrief <id> --format html` prints, people by name
    assert "alice" in body.decode() and expected != render_debrief(plain, "html")
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'none'" and "script-src" not in csp  # no script of any kind
    assert csp["frame-ancestors"] == "'none'" and "<script" not in body.decode()
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"  # the token never leaves in a Referer


def wrong_links(bot: Bot, gameday: str, url: str) -> dict[str, str]:
    """Every way of asking for a debrief one may not have, as request targets."""
    links = bot.services.links
    path = f"/debriefs/{gameday}"
    token = urlsplit(url).query.removeprefix("t=")
    expires, user, signature = token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    return {
        "no token": path,
        "an empty token": f"{path}?t=",
        "the token twice": f"{path}?t={token}&t={token}",
        "an expired token": f"{path}?t={links.token(gameday, 'U2', issued_at=time.time() - links.ttl - 1)}",
        "another game day's token": f"{path}?t={links.token('gd-00000000', 'U2')}",
        "this token on another game day": f"/debriefs/gd-00000000?t={token}",
        "a game day that does not exist": f"/debriefs/gd-00000000?t={links.token('gd-00000000', 'U2')}",
        "a signed token of someone not in the channel": f"{path}?t={links.token(gameday, 'U9')}",
        "a tampered signature": f"{path}?t={expires}.{user}.{flipped}",
        "a tampered user (alice is a member)": f"{path}?t={expires}.U1.{signature}",
        "a tampered expiry": f"{path}?t={int(expires) + 86400}.{user}.{signature}",
        "another key's token": f"{path}?t={DebriefLinks.unlinked().token(gameday, 'U2')}",
        "a traversal in the id": f"/debriefs/..%2f..%2fsce.db?t={token}",
        "dot segments": f"/debriefs/{gameday}/../{gameday}?t={token}",
        "a trailing slash": f"{path}/?t={token}",
        "an upper-case id": f"/debriefs/{gameday.upper()}?t={token}",
        "a NUL in the id": f"{path}%00?t={token}",
    }


def test_every_wrong_link_gets_the_same_404(bot: Bot, linked: tuple[str, str]) -> None:
    gameday, url = linked
    answers = {}
    for name, target in wrong_links(bot, gameday, url).items():
        status, body, headers = raw(bot, "GET", target)
        answers[name] = (status, body, {h: headers.get(h) for h in ("Content-Type", *HEADERS)})
    reference = answers["a game day that does not exist"]
    assert reference[0] == 404 and reference[1] == b"not found"
    different = {name: answer for name, answer in answers.items() if answer != reference}
    assert not different, different  # nothing tells "no such game day" from "not for you"
    assert raw(bot, "GET", target_of(url))[0] == 200  # and the link itself still works


def test_only_get_is_served(bot: Bot, linked: tuple[str, str]) -> None:
    _, url = linked
    for method in ("HEAD", "POST", "PUT", "DELETE", "OPTIONS"):
        status, body, headers = raw(bot, method, target_of(url))
        assert status == 405 and headers["Allow"] == "GET", method
        assert b"<html" not in body.lower()


def test_a_person_removed_from_the_channel_loses_the_page(
    bot: Bot, workspace: LocalWorkspace, people: WorkspaceClient, linked: tuple[str, str]
) -> None:
    _, bobs = linked
    alices = link_in(people.slash("U1", "/sce", "debrief latest")["text"])
    assert [raw(bot, "GET", target_of(u))[0] for u in (bobs, alices)] == [200, 200]
    workspace.set_members("C1", ["U1", "UFAC", "UBOT"])  # bob leaves #gameday after his link was made
    members = bot.services.members
    members.now = lambda: time.time() + MEMBERS_TTL + 1  # a minute on: Slack is asked again
    assert [raw(bot, "GET", target_of(u))[0] for u in (bobs, alices)] == [404, 200]


def test_the_page_renders_in_a_browser(bot: Bot, linked: tuple[str, str], tmp_path: Path) -> None:
    from test_debrief_browser import CHROMIUM, chromium, parse

    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed")
    gameday, url = linked
    shown = parse(chromium("--dump-dom", url, profile=tmp_path / "profile").stdout)
    record = bot.services.store.get(gameday)
    assert record is not None
    debrief = build_debrief_for(record, bot.services.store.events(gameday))
    assert shown.text["verdict"].strip() == debrief.verdict
    assert shown.scripts == 0 and "One page" in "".join(shown.body)


# -- the link itself ------------------------------------------------------------------------------
def test_replicas_sharing_the_signing_secret_accept_each_others_links() -> None:
    one = DebriefLinks.from_settings(Settings(slack_signing_secret="s1", public_url="https://sce.example/"))
    two = DebriefLinks.from_settings(Settings(slack_signing_secret="s1"))
    other = DebriefLinks.from_settings(Settings(slack_signing_secret="s2"))
    socket_mode = [DebriefLinks.from_settings(Settings(slack_app_token="xapp-1")) for _ in range(2)]
    url = one.url("gd-1a2b3c4d", "U2")
    assert url is not None and url.startswith("https://sce.example/debriefs/gd-1a2b3c4d?t=")
    token = url.split("?t=")[1]
    assert two.holder("gd-1a2b3c4d", token) == "U2"
    assert other.holder("gd-1a2b3c4d", token) is None
    assert two.url("gd-1a2b3c4d", "U2") is None  # no SCE_PUBLIC_URL: no link at all
    mine = socket_mode[0].token("gd-1a2b3c4d", "U2")
    assert socket_mode[0].holder("gd-1a2b3c4d", mine) == "U2"
    assert socket_mode[1].holder("gd-1a2b3c4d", mine) is None  # a random key is this process's alone


@pytest.mark.parametrize(
    "configured",
    [
        "javascript:alert(1)",
        "https://sce.example/|click here",
        "https://sce.example/<!channel>",
        "https://user:pass@sce.example",
        "https://sce.example/?next=elsewhere",
        "https://sce.example/#x",
        "ftp://sce.example",
        "https://sce.example/ x",
    ],
)
def test_a_public_url_that_is_not_a_plain_address_makes_no_links(configured: str) -> None:
    assert public_base_url(configured) is None


def test_a_plain_public_url_is_kept_without_its_slash() -> None:
    assert public_base_url("https://sce.example.com/") == "https://sce.example.com"
    assert public_base_url("http://10.0.0.5:8080/sce") == "http://10.0.0.5:8080/sce"
    assert Settings.from_env({"SCE_PUBLIC_URL": "https://sce.example.com"}).public_url == (
        "https://sce.example.com"
    )
    assert Settings.from_env({}).public_url is None


FIXED = DebriefLinks(b"k" * 32, "https://sce.example", now=lambda: 1_800_000_000.0)
VALID = FIXED.token("gd-1a2b3c4d", "U2")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_no_made_up_token_is_taken(token: str) -> None:
    assert FIXED.holder("gd-1a2b3c4d", token) is None or token == VALID


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.characters(codec="ascii"))
def test_no_token_with_one_character_changed_is_taken(position: int, char: str) -> None:
    changed = VALID[:position] + char + VALID[position + 1 :]
    if changed != VALID:
        assert FIXED.holder("gd-1a2b3c4d", changed) is None


@settings(max_examples=200, deadline=None)
@given(st.from_regex(re.compile(r"[a-z0-9][a-z0-9-]{0,63}"), fullmatch=True))
def test_a_token_opens_only_its_own_game_day(other: str) -> None:
    assert (FIXED.holder(other, VALID) is None) == (other != "gd-1a2b3c4d")

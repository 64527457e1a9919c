"""User text is shown literally everywhere the bot shows it: Slack messages, the Markdown and HTML debriefs.

A note, a gap, a page summary in a scenario, a message added with the "Add to debrief" shortcut and an
abort reason carry `<!channel>`, `<@U123>`, `<script>alert(1)</script>` and `&`. In Slack they must arrive
mrkdwn-escaped (&lt; &gt; &amp;: no channel ping, no mention); in the Markdown debrief backslash-escaped;
in the HTML debrief HTML-escaped, with no <script> element anywhere. The game day runs in the bot's Bolt
app behind its signed HTTP door (in this process: the process boundary is not what these tests are about)
over real HTTP; the debriefs are the ones `sce debrief` prints and the files the bot uploads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from inprocess_bot import Bot, bot_on
from threads import start_gameday, wait_for_block, wait_for_text, wait_until

from bot.debrief.formatting import md_escape
from bot.slack.render import slack_escape
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

PAYLOAD = "<!channel> <@U123> <script>alert(1)</script> & R&D"
RAW_MARKUP = ("<!channel>", "<@U123>", "<script", "</script>")
ESCAPED = "&lt;!channel&gt; &lt;@U123&gt; &lt;script&gt;alert(1)&lt;/script&gt; &amp; R&amp;D"

SCENARIO = f"""
id: escape-drill
title: Escaping drill
mode: live
charter: {{objective: Show user text literally., hypothesis: {json.dumps(PAYLOAD)}}}
guardrails: {{max_duration: 1h}}
oncall: {{primary: "@primary", secondary: "@secondary", escalate_after: null}}
steps:
  - {{at: 0s, page: {{severity: SEV-2, summary: {json.dumps(PAYLOAD)}}}}}
"""
START = "start escape-drill oncall=<@U1|alice> secondary=<@U2|bob>"


class Page(HTMLParser):
    """An HTML document as a browser would show it: its elements and its text, entities decoded."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.chunks: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            assert not name.startswith("on"), f"an event handler attribute: {name}={value!r}"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def markdown_as_html(markdown: str) -> str:
    """The Markdown as a CommonMark viewer (with GitHub tables) shows it."""
    markdown_it = pytest.importorskip("markdown_it")
    html: str = markdown_it.MarkdownIt("commonmark").enable("table").render(markdown)
    return html


def bot_said(slack: WorkspaceClient, users: tuple[str, ...]) -> list[str]:
    """Every text and block payload the bot posted in C1 (threads included) or showed to ``users``."""
    said = []
    for posted in slack.messages("C1"):  # replies included
        if posted.get("bot_id") or posted.get("user") == "UBOT":
            said.append(posted.get("text") or "")
            said.append(json.dumps(posted.get("blocks") or [], ensure_ascii=False))
    for user in users:
        for ephemeral in slack.ephemerals(user):
            said.append(ephemeral.get("text") or "")
            said.append(json.dumps(ephemeral.get("blocks") or [], ensure_ascii=False))
    return said


def assert_no_raw_markup(texts: list[str], where: str, markdown: bool = False) -> None:
    """No markup as typed; in Markdown, only a backslash-escaped ``<`` may start it."""
    for text in texts:
        for markup in RAW_MARKUP:
            unescaped = re.search(("(?<!\\\\)" if markdown else "") + re.escape(markup), text)
            assert unescaped is None, f"{where} shows {markup!r} unescaped: {text[:300]!r}"


@pytest.fixture
def bot(workspace: LocalWorkspace, tmp_path: Path, scenarios_dir: Path) -> Iterator[Bot]:
    """The bot in this process, over real HTTP, seeing the shipped scenarios and the escaping drill."""
    (scenarios_dir / "escape-drill.yaml").write_text(SCENARIO)
    with bot_on(workspace, tmp_path, scenarios_dir=scenarios_dir) as running:
        yield running


@pytest.mark.timeout(240)
def test_user_text_is_shown_literally_in_slack_and_in_every_debrief(
    bot: Bot, people: WorkspaceClient
) -> None:
    thread = start_gameday(people, START)
    page = wait_for_block(people, thread, "page:p0")
    assert ESCAPED in page["text"], page["text"]
    kickoff = next(m for m in people.messages("C1") if m["ts"] == thread)
    assert f"*Hypothesis:* {ESCAPED}" in kickoff["text"], kickoff["text"]

    # a note and a gap as thread replies and as commands; a person's message added with the shortcut
    for reply in (f"note: {PAYLOAD}", f"gap: {PAYLOAD}"):
        assert people.post("U1", "C1", reply, thread_ts=thread)["status"] == 200
    for command in (f"note literally {PAYLOAD}", f"gap literally {PAYLOAD}"):
        assert people.slash("UFAC", "/sce", command)["text"].endswith("recorded for the debrief.")
    chatter = people.post("U2", "C1", PAYLOAD, thread_ts=thread)
    assert people.shortcut("U1", "C1", chatter["ts"], "sce_add_to_debrief")["status"] == 200
    wait_until(lambda: any("recorded" in (e.get("text") or "") for e in people.ephemerals("U1")), what="note")
    people.click("U1", "C1", page["ts"], "sce_escalate")
    escalation = wait_for_block(people, thread, "escalation:p0")
    assert ESCAPED in escalation["text"], escalation["text"]
    wait_until(lambda: len(bot.debrief_json()["notes"]) + len(bot.debrief_json()["gaps"]) == 5, what="notes")
    summary = people.slash("UFAC", "/sce", "debrief")["text"]
    assert summary.count(ESCAPED) == 2, summary  # the two gaps

    gameday = bot.debrief_json()["id"]
    assert "aborted" in people.slash("UFAC", "/sce", f"abort literally {PAYLOAD}")["text"]
    debrief_message = wait_for_text(people, thread, r"Debrief: Escaping drill")
    files = wait_until(lambda: len(people.files("C1")) >= 2 and people.files("C1"), what="the debrief files")

    # Slack: every occurrence escaped, nothing the bot said carries live markup
    assert debrief_message["text"].count(ESCAPED) == 3, debrief_message["text"]  # two gaps, the reason
    assert_no_raw_markup(bot_said(people, ("U1", "U2", "UFAC")), "a Slack message of the bot")

    # the JSON keeps exactly what was typed
    data = bot.debrief_json(gameday)
    assert sorted(n["text"] for n in data["notes"]) == sorted(
        [PAYLOAD, f"literally {PAYLOAD}", f"{PAYLOAD} (from <@U2>)"]
    )
    assert f"{PAYLOAD} (from <@U2>)" in [n["text"] for n in data["notes"]]
    assert sorted(g["text"] for g in data["gaps"]) == [PAYLOAD, f"literally {PAYLOAD}"]
    assert data["pages"][0]["summary"] == PAYLOAD
    assert data["end_reason"] == f"aborted by <@UFAC>: literally {PAYLOAD}"

    # Markdown: backslash-escaped, and a viewer shows the text literally
    markdowns = {"sce debrief --format md": bot.sce("debrief", gameday, "--format", "md").stdout}
    markdowns |= {f["name"]: f["content"] for f in files if f["name"].endswith(".md")}
    assert len(markdowns) == 2
    for where, markdown in markdowns.items():
        assert_no_raw_markup([markdown], where, markdown=True)
        shown = Page(markdown_as_html(markdown))
        assert "script" not in shown.tags, where
        assert shown.text.count(PAYLOAD) >= 7, (where, shown.text.count(PAYLOAD))

    # HTML: escaped, no <script> element at all, the text shown literally
    pages = {"sce debrief --format html": bot.sce("debrief", gameday, "--format", "html").stdout}
    pages |= {f["name"]: f["content"] for f in files if f["name"].endswith(".html")}
    assert len(pages) == 2
    for where, html in pages.items():
        assert_no_raw_markup([html], where)
        shown = Page(html)
        assert "script" not in shown.tags, where
        assert shown.text.count(PAYLOAD) >= 7, (where, shown.text.count(PAYLOAD))
        for what in ("notes", "gaps"):
            for item in data[what]:
                assert item["text"] in shown.text, (where, item["text"])
        assert data["end_reason"] in shown.text, where


# --- words typed after a command are kept whole; bugs found while writing the test above ------------------


@pytest.mark.timeout(120)
def test_note_gap_and_abort_reason_keep_every_word_typed(bot: Bot, people: WorkspaceClient) -> None:
    thread = start_gameday(people)
    wait_for_block(people, thread, "page:p0")
    people.slash("UFAC", "/sce", "note the IdP logs arrive late")
    people.slash("UFAC", "/sce", "gap the runbook has no revoke step")
    people.slash("UFAC", "/sce", "abort drill over")
    wait_for_text(people, thread, "Debrief")
    data = bot.debrief_json()
    assert [n["text"] for n in data["notes"]] == ["the IdP logs arrive late"]
    assert [g["text"] for g in data["gaps"]] == ["the runbook has no revoke step"]
    assert data["end_reason"] == "aborted by <@UFAC>: drill over"


@pytest.mark.timeout(120)
def test_mentions_the_bot_writes_itself_stay_mentions(bot: Bot, people: WorkspaceClient) -> None:
    thread = start_gameday(people)
    wait_for_block(people, thread, "page:p0")
    people.slash("UFAC", "/sce", "role commander <@U2>")
    announced = wait_for_text(people, thread, "is now the commander")
    people.slash("UFAC", "/sce", "end")
    debrief = wait_for_text(people, thread, "Debrief")
    assert "<@U2> is now the commander" in announced["text"], announced["text"]
    assert "ended by <@UFAC>" in debrief["text"], debrief["text"]


ECHOED = [
    "<!channel>",
    "start <!channel>",
    "history <!channel>",
    "debrief <!channel>",
    "schedule cancel <!channel>",
    "oncall <!channel>",
    "role commander <!channel>",
]


@pytest.mark.timeout(120)
def test_replies_that_echo_what_was_typed_escape_it(bot: Bot, people: WorkspaceClient) -> None:
    replies = {text: people.slash("UFAC", "/sce", text)["text"] or "" for text in ECHOED[:-1]}
    thread = start_gameday(people)  # `role` needs a running game day
    wait_for_block(people, thread, "page:p0")
    replies[ECHOED[-1]] = people.slash("UFAC", "/sce", ECHOED[-1])["text"] or ""
    assert all(replies.values()), replies
    assert {text: reply for text, reply in replies.items() if "<!channel>" in reply} == {}


LITERAL_IN_MARKDOWN = [
    "AT&amp;T &copy; 2026",  # an entity a viewer would turn into a character
    "&lt;script&gt; is what the WAF saw",
    "_urgent_ and *not* bold",
    "# not a heading",
    "1. not a list",
]


@pytest.mark.parametrize("text", LITERAL_IN_MARKDOWN)
def test_markdown_escaping_shows_any_note_as_typed(text: str) -> None:
    shown = Page(markdown_as_html(f"- {md_escape(text)} (U1)\n"))
    assert shown.text.strip() == f"{text} (U1)"


@pytest.mark.parametrize(
    "text",
    [PAYLOAD, "a | b `c` *d* [e](f) <g> \\h", "<https://evil.example|click> <#C1> <!here>"],
)
def test_markdown_escaping_keeps_markup_characters_literal(text: str) -> None:
    shown = Page(markdown_as_html(f"- {md_escape(text)} (U1)\n\n| a |\n|---|\n| {md_escape(text)} |\n"))
    assert "script" not in shown.tags and "a" not in shown.tags and "code" not in shown.tags
    assert shown.text.count(text) == 2, shown.text


@pytest.mark.parametrize("text", [PAYLOAD, "<https://evil.example|click>", "<#C1> <!here> <!subteam^S1>"])
def test_slack_escape_leaves_no_control_sequence(text: str) -> None:
    escaped = slack_escape(text)
    assert not re.search(r"[<>]", escaped) and "&" not in escaped.replace("&amp;", "").replace(
        "&lt;", ""
    ).replace("&gt;", "")
    assert escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


def test_page_parser_sees_script_elements() -> None:
    """The checker itself: a page with a script element or handler attribute is noticed."""
    assert "script" in Page("<p>x</p><script>alert(1)</script>").tags
    with pytest.raises(AssertionError, match="event handler"):
        Page('<img src=x onerror="alert(1)">')
    assert Page("<p>&lt;script&gt; &amp;</p>").text == "<script> &"

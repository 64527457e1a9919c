"""Every block the bot posts fits Slack's limits (checked with slack_sdk's own block models), long text is
never cut inside `<...>`, and the end of a message (a debrief's link to the full one) always survives.

Property tests draw text from what a game day's messages hold: words, mentions, channel links, links
with labels, long lines without a space, many lines. A debrief with hundreds of long gaps and pages goes
through the real template.
"""

from __future__ import annotations

import re
from collections import Counter

import hypothesis.strategies as st
import yaml
from hypothesis import given, settings
from slack_sdk.models.blocks import Block

from bot.gameday.measuring.report import build_debrief, with_names
from bot.gameday.scenario.model import Scenario, content_hash
from bot.gameday.timeline import Event, Kind
from bot.slack.blocks import (
    handoff_blocks,
    kickoff_blocks,
    page_blocks,
    taken_handoff_blocks,
    taken_page_blocks,
)
from bot.slack.fit import (
    CUT,
    FALLBACK_CHARS,
    MESSAGE_BLOCKS,
    SECTION_CHARS,
    chunks,
    fallback,
    section,
    sections,
)
from bot.slack.render import render

TOKEN = re.compile(r"<[^<>]*>")

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz.,:-", min_size=1, max_size=40)
mentions = st.sampled_from(["<@U123ABC>", "<#C0123|gameday>", "<!here>", "<@W9>"])
links = st.builds(
    lambda path, label: f"<https://debriefs.example.com/{path}|{label}>",
    st.text(alphabet="abcdef0123456789/", min_size=1, max_size=400),
    st.text(alphabet="abcdefghij ", min_size=1, max_size=30).map(str.strip).filter(bool),
)
unbroken = st.text(alphabet="xyz", min_size=2500, max_size=7000)  # a line with no space to cut at
pieces = st.one_of(words, words, words, mentions, links, unbroken, st.just("\n"), st.just("\n\n"))
texts = st.lists(pieces, min_size=1, max_size=1500).map(" ".join)


def valid(block: dict[str, object]) -> None:
    parsed = Block.parse(block)
    assert parsed is not None
    parsed.validate_json()  # raises SlackObjectFormationError over any of Slack's limits


@settings(max_examples=60, deadline=None)
@given(texts)
def test_sections_fit_slack_never_break_syntax_and_keep_the_end(text: str) -> None:
    blocks = sections(text)
    assert 1 <= len(blocks) <= MESSAGE_BLOCKS
    for block in blocks:
        valid(block)
    shown = [str(b["text"]["text"]) for b in blocks]
    for piece in shown:
        assert piece.count("<") == piece.count(">") == len(TOKEN.findall(piece)), piece[:200]
    tokens_kept = Counter(t for piece in shown for t in TOKEN.findall(piece))
    assert tokens_kept <= Counter(TOKEN.findall(text))  # only whole tokens, none invented or broken
    if len(chunks(text)) <= MESSAGE_BLOCKS:  # nothing dropped: every token and every word is there
        assert tokens_kept == Counter(TOKEN.findall(text))
        assert re.sub(r"\s+", "", "".join(shown)) == re.sub(r"\s+", "", text)  # only spaces at cuts
    last_line = text.strip().rsplit("\n", 1)[-1].strip()
    assert shown[-1].rstrip().endswith(last_line[-200:].strip()) or len(last_line) > SECTION_CHARS


@given(texts)
@settings(max_examples=40, deadline=None)
def test_one_section_is_cut_before_the_limit_outside_syntax_with_an_ellipsis(text: str) -> None:
    block = section(text)
    valid(block)
    shown = str(block["text"]["text"])
    if len(text) <= SECTION_CHARS:
        assert shown == text
    else:
        assert shown.endswith(CUT) and shown.count("<") == shown.count(">")
    short = fallback(text)  # a message's top-level text beside its blocks
    assert len(short) <= FALLBACK_CHARS and short.count("<") == short.count(">")
    assert short == text if len(text) <= FALLBACK_CHARS else short.endswith(CUT)


SCENARIO = """\
id: long
title: A long drill
charter: {objective: o, hypothesis: h}
guardrails: {max_duration: 8h}
expect: {acknowledge_within: 5m, contain_within: 15m}
steps:
  - at: 0s
    page: {severity: SEV-2, summary: drill}
"""


def test_a_debrief_with_hundreds_of_long_gaps_and_pages_posts_whole_blocks_and_its_link() -> None:
    base = 1_800_000_000.0
    rows: list[tuple[Kind, float, str | None, dict[str, object]]] = [
        (Kind.STARTED, 0, "UFAC", {"scenario": "long", "scenario_hash": content_hash(SCENARIO)})
    ]
    for n in range(60):
        page = {
            "page_id": f"p{n}",
            "step": 0,
            "responder": f"U{n:04d}",
            "severity": "SEV-2",
            "summary": "drill",
        }
        rows.append((Kind.PAGE_SENT, n, None, {**page, "message_ts": f"{base + n:.6f}"}))
    for n in range(600):
        text = f"gap {n}: the runbook for <@U{n:04d}> has no step for " + "rotating the key " * 12
        rows.append((Kind.NOTE, 100 + n, f"U{n:04d}", {"kind": "gap", "text": text, "step": 0}))
    rows.append((Kind.ENDED, 1000, None, {"status": "completed", "reason": "ended by <@UFAC>"}))
    events = [Event(i + 1, k, base + at, actor, data) for i, (k, at, actor, data) in enumerate(rows)]
    scenario = Scenario.model_validate(yaml.safe_load(SCENARIO))
    d = with_names(build_debrief("gd-long", scenario, {"primary": "U0000"}, events, base + 1000), {})
    text = render("debrief", d=d)
    assert len(text) > SECTION_CHARS * MESSAGE_BLOCKS  # more than one message can show
    blocks = sections(text)
    assert len(blocks) == MESSAGE_BLOCKS
    for block in blocks:
        valid(block)
    assert "Full debrief" in str(blocks[-1]["text"]["text"])
    assert "cut here" in str(blocks[-2]["text"]["text"])
    assert len(fallback(text)) <= FALLBACK_CHARS and fallback(text).startswith(":clipboard:")


# the ids buttons carry, at their longest: a game day, page p499 of 500 steps and its escalation, handoff h499
IDS = st.sampled_from(["gd-ffffffff", "p499", "p0", "h499", "h0"])


@settings(max_examples=40, deadline=None)
@given(texts, texts, IDS, st.sampled_from(["awaiting_approval", "running", "paused", "ended"]))
def test_every_message_with_buttons_fits_slack_whatever_its_text(
    text: str, status: str, target: str, state: str
) -> None:
    """Buttons carry an id, never text: values, action and block ids stay far under Slack's limits (2,000
    and 255 characters) and labels under 75, however long the message; slack_sdk's models check each."""
    messages = [
        page_blocks(text, target),
        page_blocks(text, target, role="escalation"),
        taken_page_blocks(text, target),
        handoff_blocks(text, target),
        taken_handoff_blocks(text, target),
        kickoff_blocks(text, status, target, state, mode="tabletop"),
        kickoff_blocks(text, status, target, state),
    ]
    for blocks in messages:
        assert len(blocks) <= MESSAGE_BLOCKS
        for block in blocks:
            valid(block)
            for element in block.get("elements", []):
                assert len(element.get("text", "")) <= SECTION_CHARS  # a context's text: Slack's 3,000 too
                if element.get("type") == "button":
                    assert element["value"] == target and len(element["action_id"]) <= 255

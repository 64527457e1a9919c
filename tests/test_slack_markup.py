"""Nothing from a scenario becomes Slack markup: every text a scenario supplies reaches Slack escaped.

A scenario is trusted to run, not to speak for the bot: its title, charter, page summary, severity and
runbook, say steps, log lines, fault fields, http and webhook URLs, facilitator notes and debrief questions
may carry ``<!channel>``, ``<@U…>``, ``<#C…>`` or ``<https://evil|https://good>``. Each game day below runs
in-process with the real SlackAnnouncer posting to a local workspace over HTTP; every message and block it
posted may hold only the markup the bot writes itself: mentions of the roster and runbook links that show
their own address.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from served_app import local_settings, served_app
from slack_harness import NAMESPACE, Listener, SlackGameDays, shown_texts
from threads import start_gameday, wait_until

from bot.gameday.clock import VirtualClock
from bot.gameday.scenario.loading import cached_scenario
from bot.runtime.service import Services
from bot.slack.render import link_markup, render
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

MARKUP = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^SEVIL>",
    "<@UEVIL>",
    "<@UEVIL|boss>",
    "<#CEVIL>",
    "<#CEVIL|general>",
    "<https://evil.example|https://runbooks.example>",
    "<mailto:boss@evil.example|the boss>",
    "<!date^1^{date}|today>",
    "&lt;!channel&gt;",
    "<",
    ">",
    "&",
    "|",
    "@channel",
    "*bold* _it_",
)
WORDS = st.text(
    st.characters(min_codepoint=32, max_codepoint=0x24FF, exclude_categories=("Cs", "Cc")), max_size=6
)
HOSTILE = st.lists(st.one_of(st.sampled_from(MARKUP), WORDS), min_size=1, max_size=4).map("".join)
# URL paths stay ASCII: the request still has to leave for the listener
URL_PART = st.lists(
    st.one_of(st.sampled_from(MARKUP), st.text("abcxyz019-._~", max_size=4)), min_size=1, max_size=3
).map("".join)
# What the bot itself writes between < and >: the roster's mentions, a runbook link it checked, and
# the status line's start time (Slack's own "… ago").
OWN_MARKUP = re.compile(
    r"@(?:U1|U2|UFAC)|https://runbooks\.example/[^|<>\s]*|!date\^\d+\^\{ago\}\|at \d\d:\d\d:\d\d UTC"
)


def markup_in(text: str) -> list[str]:
    """Each <...> Slack would read as markup in ``text``."""
    return re.findall(r"<([^<>]*)>", text)


def assert_only_own_markup(messages: list[dict[str, Any]]) -> None:
    assert messages
    for message in messages:
        for text in shown_texts(message):
            foreign = [m for m in markup_in(text) if not OWN_MARKUP.fullmatch(m)]
            assert not foreign, f"scenario text became markup {foreign} in {text!r}"


def hostile_scenario(text: dict[str, str], url_part: str, target: str) -> dict[str, Any]:
    wire = url_part.replace(" ", "%20")  # a URL with a space is refused (tests/test_outbound_urls.py)
    return {
        "id": "hostile-drill",
        "title": text["title"],
        "charter": {
            "objective": text["objective"],
            "hypothesis": text["hypothesis"],
            "scope": text["scope"],
            "method": text["method"],
            "rollback": text["rollback"],
            "owners": {"captain": text["owner"]},
        },
        "guardrails": {"max_duration": "1h", "namespaces": [NAMESPACE], "hosts": ["127.0.0.1"]},
        "oncall": {"escalate_after": "1m"},
        "expect": {"acknowledge_within": "5m", "contain_within": "10m"},
        "steps": [
            {"at": 0, "say": text["say"], "facilitator_note": text["note"]},
            {
                "at": 0,
                "page": {
                    "severity": text["severity"],
                    "summary": text["summary"],
                    "runbook": "https://runbooks.example/" + url_part,
                },
            },
            {
                "at": 10,
                "fault": {"type": text["fault"], "namespace": NAMESPACE, "reason": text["fault_field"]},
            },
            {"at": 20, "logs": {"lines": [text["log"], text["say"]], "every": "5s"}},
            {"at": 40, "http": {"url": f"{target}/{wire}?q={wire}"}},
            {"at": 45, "webhook": {"url": f"{target}/hook/{wire}", "payload": {"text": text["say"]}}},
            {"at": 90, "handoff": {"to": "secondary"}},
        ],
        "debrief": {"questions": [text["question"]]},
    }


FIELDS = [
    "title",
    "objective",
    "hypothesis",
    "scope",
    "method",
    "rollback",
    "owner",
    "say",
    "note",
    "severity",
    "summary",
    "fault",
    "fault_field",
    "log",
    "question",
]


@pytest.fixture(scope="module")
def workspace() -> Iterator[LocalWorkspace]:
    ws = LocalWorkspace(
        users={"U1": "alice", "U2": "bob", "UFAC": "carol"}, channels={"C1": "gameday"}
    ).start()
    yield ws
    ws.stop()


@pytest.fixture(scope="module")
def target() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.fixed_dictionaries({field: HOSTILE for field in FIELDS}), url_part=URL_PART)
def test_no_scenario_text_becomes_markup_in_any_message_of_a_game_day(
    workspace: LocalWorkspace, target: Listener, text: dict[str, str], url_part: str
) -> None:
    text["fault"] = "k8s.pod-kill"  # a fault type the driver knows; the free text rides in its other fields
    days = SlackGameDays(workspace)
    scenario = json.dumps(hostile_scenario(text, url_part, target.url))
    gameday = days.start(scenario)
    days.run_to_end(gameday, 120)
    messages = days.messages(gameday)
    # /sce list shows the title too, and a file's problem may quote it
    messages.append({"text": render("list", scenarios=[cached_scenario(scenario)], errors=[text["title"]])})
    kinds = " ".join(m.get("text") or "" for m in messages)
    for expected in ("you are paged", "Escalation", "Handoff", "HTTP probe", "Webhook", "Debrief:"):
        assert expected in kinds, f"no {expected!r} message: the scenario did not run through"
    assert_only_own_markup(messages)


def test_a_facilitator_note_is_shown_literally_to_the_facilitator(workspace: LocalWorkspace) -> None:
    days = SlackGameDays(workspace)
    scenario = hostile_scenario(dict.fromkeys(FIELDS, "x"), "a", "http://127.0.0.1:9")
    scenario["mode"] = "tabletop"
    scenario["steps"] = [{"at": 0, "say": "first", "facilitator_note": "<!channel> see <@UEVIL>"}]
    gameday = days.start(scenario)
    outcome = days.engine.next_step(gameday, "UFAC")
    days.announcer.status_line.close()
    assert outcome.ok and outcome.message.endswith("Facilitator note: &lt;!channel&gt; see &lt;@UEVIL&gt;")


ATTACKS = ("<!channel>", "<https://evil.example|https://runbooks.example>", "<@U1>")


@pytest.mark.parametrize("attack", ATTACKS)
def test_markup_as_a_title_and_a_runbook_arrives_as_plain_text(
    workspace: LocalWorkspace, attack: str
) -> None:
    days = SlackGameDays(workspace)
    scenario = hostile_scenario(dict.fromkeys(FIELDS, "ok"), "a", "http://127.0.0.1:9")
    scenario["title"] = attack
    scenario["steps"] = [{"at": 0, "page": {"summary": "@here look", "runbook": attack}}]
    gameday = days.start(scenario)
    days.clock.advance(1)
    days.run_to_end(gameday, 5)
    messages = days.messages(gameday)
    escaped = attack.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    kickoff, page = messages[0], next(m for m in messages if "you are paged" in (m.get("text") or ""))
    assert f"*[GAME DAY] {escaped}*" in kickoff["text"]
    assert f"Runbook: {escaped}\n" in page["text"]
    assert f"Runbook: {escaped}\n" in page["blocks"][0]["text"]["text"]
    # typed literally, @here and @channel are words: Slack notifies only for <!here> and <!channel>
    assert ">@here look" in page["text"]
    assert_only_own_markup(messages)


@pytest.mark.parametrize(
    ("runbook", "shown"),
    [
        ("https://runbooks.example/db-failover", "<https://runbooks.example/db-failover>"),
        ("https://runbooks.example/a?x=1&y=2", "<https://runbooks.example/a?x=1&amp;y=2>"),
        ("HTTP://RUNBOOKS.EXAMPLE/UP", "<HTTP://RUNBOOKS.EXAMPLE/UP>"),
        ("https://runbooks.example/a|b", "https://runbooks.example/a|b"),
        ("https://runbooks.example/a b", "https://runbooks.example/a b"),
        ("https://runbooks.example/\u202egnp.exe", "https://runbooks.example/\ufffdgnp.exe"),
        ("https://runbooks.example/\u200b", "https://runbooks.example/\ufffd"),
        ("https://runbooks.example/<!channel>", "https://runbooks.example/&lt;!channel&gt;"),
        ("javascript:alert(1)", "javascript:alert(1)"),
        ("ftp://files.example/runbook", "ftp://files.example/runbook"),
        ("https://ops:hunter2@runbooks.example/x", "<https://[redacted]@runbooks.example/x>"),
    ],
)
def test_a_runbook_is_a_link_only_when_it_is_a_plain_web_address(runbook: str, shown: str) -> None:
    assert link_markup(runbook) == shown


def test_the_bot_own_markup_survives_escaping(workspace: LocalWorkspace) -> None:
    days = SlackGameDays(workspace)
    gameday = days.start(hostile_scenario(dict.fromkeys(FIELDS, "ok"), "a", "http://127.0.0.1:9"))
    assert days.engine.abort(gameday, "UFAC", "<!channel> <@UEVIL> stop").ok
    days.settle()
    debrief = next(m for m in days.messages(gameday) if "Debrief:" in (m.get("text") or ""))
    assert "(aborted by <@UFAC>: &lt;!channel&gt; &lt;@UEVIL&gt; stop)" in debrief["text"]
    assert "`/sce start &lt;scenario&gt;`" in render("help", usages=["/sce start <scenario>"])


def test_a_scenario_refused_at_start_is_quoted_literally(workspace: LocalWorkspace) -> None:
    days = SlackGameDays(workspace)
    scenario = hostile_scenario(dict.fromkeys(FIELDS, "ok"), "a", "http://127.0.0.1:9")
    scenario["steps"] = [{"at": 0, "webhook": {"url": "http://evil.example<!channel>/hook"}}]
    outcome = days.engine.start(json.dumps(scenario), "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    assert not outcome.ok and "steps[0].webhook.url" in outcome.message, outcome.message
    assert not markup_in(outcome.message)
    scenario["steps"] = [{"at": 0, "say": "ok"}]
    scenario["guardrails"] = {"max_duration": "1h", "hosts": ["evil.example<!channel>"]}
    outcome = days.engine.start(json.dumps(scenario), "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    assert not outcome.ok and not markup_in(outcome.message), outcome.message


HOSTILE_FILE = """
id: hostile
title: "<!channel> <https://evil.example|https://runbooks.example> <@U1>"
charter: {objective: "<@U1> owns it", hypothesis: "<!everyone> will see it"}
guardrails: {max_duration: 1h}
oncall: {primary: "<!here>", secondary: "@secondary", escalate_after: null}
steps:
  - at: 0s
    page:
      severity: "<!channel>"
      summary: "<@U1>"
      runbook: "<https://evil.example|https://runbooks.example>"
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[VirtualClock, Services, WorkspaceClient]]:
    """``sce serve``'s Bolt app on a port of its own, signed requests from a local workspace, in-process."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "hostile.yaml").write_text(HOSTILE_FILE)
    clock = VirtualClock()
    ws = LocalWorkspace(signing_secret="s", clock=clock.now).start()
    with served_app(ws, local_settings(ws, tmp_path, tmp_path / "scenarios"), clock) as (services, people):
        yield clock, services, people
    ws.stop()


def test_a_hostile_scenario_through_slash_commands_shows_only_text(
    served: tuple[VirtualClock, Services, WorkspaceClient],
) -> None:
    clock, services, people = served
    listed = people.slash("UFAC", "/sce", "list")["text"]
    assert "&lt;!channel&gt; &lt;https://evil.example|https://runbooks.example&gt; &lt;@U1&gt;" in listed
    refused = people.slash("UFAC", "/sce", "start hostile")
    wait_until(
        lambda: (
            any("is not a Slack user" in (e.get("text") or "") for e in people.ephemerals("UFAC"))
            or "is not a Slack user" in (refused.get("text") or "")
        ),
        what="the roster refusal",
    )
    answers = [refused.get("text") or ""] + [e.get("text") or "" for e in people.ephemerals("UFAC")]
    assert any("`&lt;!here&gt;` is not a Slack user" in a for a in answers), answers

    thread = start_gameday(people, "start hostile oncall=<@U1|alice> secondary=<@U2|bob>")
    clock.advance(1)

    def paged() -> dict[str, Any] | None:
        services.timers.poll()  # the steps are scheduled just after the kickoff is posted: poll till then
        return next(
            (
                m
                for m in people.messages("C1", thread_ts=thread)
                if any(b.get("block_id") == "page:p0" for b in m.get("blocks") or [])
            ),
            None,
        )

    page = wait_until(paged, what="the page of step 0")
    assert "*[GAME DAY] &lt;!channel&gt;*: <@U1>, you are paged" in page["text"]
    assert "Runbook: &lt;https://evil.example|https://runbooks.example&gt;" in page["text"]
    kickoff = next(m for m in people.messages("C1") if m["ts"] == thread)
    assert_only_own_markup([kickoff, page])
    assert_only_own_markup([{"text": a} for a in answers + [listed]])

"""Grafana annotations and dashboard links, against a local Grafana built from Grafana's published API
document (``tests/grafana_server.py``) and the local Slack-compatible workspace.

Expected values are computed from the timeline here, independently of ``measuring/annotations``: a fault's
region is its ``fault_applied`` to its ``fault_reverted`` in epoch milliseconds, each point its event's.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bot_process import SIGNING_SECRET, free_port
from grafana_server import LocalGrafana
from inprocess_bot import Bot, bot_on
from threads import start_gameday, wait_for_block, wait_for_text, wait_until

from bot.debrief.render import render_debrief
from bot.gameday.measuring.annotations import wanted
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.timeline import Event, Kind
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

TOKEN = "glsa_Grafana-Token-0123456789abcdef"
HOSTILE_TITLE = "Graphed <script>alert(1)</script> & *drill* <!channel> <https://evil.example|click>"
HOSTILE_NAME = "<b>alice</b> <!here> <img src=x onerror=alert(1)>"
SCENARIO = """id: graphed
title: "{title}"
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 10m}}
dashboards:
  - {{title: "Checkout <b>overview</b> & more", uid: checkout-1}}
  - {{title: Payments, uid: pay_2}}
steps:
  - {{at: 0s, fault: {{type: simulated.egress-block, ttl: 2s}}}}
  - {{at: 0s, page: {{severity: SEV-3, summary: "Simulated: graphed"}}}}
  - {{at: 9m, say: late}}
"""


@pytest.fixture
def hostile_workspace() -> Iterator[LocalWorkspace]:
    ws = LocalWorkspace(
        signing_secret=SIGNING_SECRET,
        users={"U1": HOSTILE_NAME, "U2": "bob", "UFAC": "carol"},
        channels={"C1": "gameday"},
    ).start()
    yield ws
    ws.stop()


@pytest.fixture
def grafana() -> Iterator[LocalGrafana]:
    server = LocalGrafana(TOKEN).start()
    yield server
    server.stop()


def ms(at: float) -> int:
    return int(round(at * 1000))


def events_of(bot: Bot, gameday: str, *kinds: Kind) -> list[Event]:
    return [e for e in bot.services.store.events(gameday) if e.kind in kinds]


def run_drill(bot: Bot, people: WorkspaceClient, end: bool = True) -> tuple[str, str, str]:
    """A fault (reverted at its 2 s lease), a page acknowledged, a detection, a containment, the end."""
    thread = start_gameday(people, "start graphed oncall=<@U1> secondary=<@U2>")
    gameday = bot.services.store.all()[-1].id
    page = wait_for_block(people, thread, "page:p1")
    ack = people.post("U1", "C1", "ack", thread_ts=thread, ts=f"{float(page['ts']) + 1:.6f}")
    wait_until(lambda: events_of(bot, gameday, Kind.ACKNOWLEDGED), what="the acknowledgement")
    wait_until(lambda: events_of(bot, gameday, Kind.FAULT_REVERTED), what="the fault's revert at its lease")
    assert people.slash("U1", "/sce", "detected", channel="C1")["status"] == 200
    wait_until(lambda: events_of(bot, gameday, Kind.DETECTED), what="the detection")
    assert people.slash("U1", "/sce", "contain", channel="C1")["status"] == 200
    wait_until(lambda: events_of(bot, gameday, Kind.CONTAINED), what="the containment")
    if end:
        people.slash("UFAC", "/sce", "end", channel="C1")
        wait_for_text(people, thread, "Debrief", timeout=60)
    return thread, gameday, str(ack["event_id"])


def test_a_game_day_writes_one_annotation_per_inject_ack_detection_and_containment(
    hostile_workspace: LocalWorkspace, grafana: LocalGrafana, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    people = WorkspaceClient(hostile_workspace.base_url)
    scenarios = {"graphed": SCENARIO.format(title=HOSTILE_TITLE.replace('"', '\\"'))}
    with bot_on(hostile_workspace, tmp_path, scenarios=scenarios, grafana=(grafana.url, TOKEN)) as bot:
        thread, gameday, ack_event = run_drill(bot, people)
        wait_until(lambda: len(events_of(bot, gameday, Kind.ANNOTATED)) == 4, what="four annotations")
        events = bot.services.store.events(gameday)
        applied, reverted = (
            events_of(bot, gameday, Kind.FAULT_APPLIED)[0],
            events_of(bot, gameday, Kind.FAULT_REVERTED)[0],
        )
        (ack,), (detected,), (contained,) = (
            events_of(bot, gameday, kind) for kind in (Kind.ACKNOWLEDGED, Kind.DETECTED, Kind.CONTAINED)
        )
        expected = {
            "inject": (ms(applied.at), ms(reverted.at)),
            "ack": (ms(ack.at), None),
            "detection": (ms(detected.at), None),
            "containment": (ms(contained.at), None),
        }
        written = grafana.annotations
        assert grafana.refused == [] and len(written) == 4
        by_kind = {next(t for t in a["tags"] if t.startswith("kind:"))[5:]: a for a in written}
        assert {k: (a["time"], a.get("timeEnd")) for k, a in by_kind.items()} == expected
        for kind, annotation in by_kind.items():
            assert annotation["dashboardUID"] == "checkout-1"  # the scenario's first dashboard
            assert {"sce", f"gameday:{gameday}", "scenario:graphed", f"kind:{kind}"} <= set(
                annotation["tags"]
            )
            text = annotation["text"]
            assert "<" not in text and ">" not in text  # HTML and Slack markup travel as plain text
            assert html.unescape(text).startswith(f"[sce] {HOSTILE_TITLE}: ")
        assert "<b>alice</b> <!here>" in html.unescape(by_kind["ack"]["text"])  # a name, shown, not markup
        assert "fault" in by_kind["inject"]["text"] and "reverted" in by_kind["inject"]["text"]
        # the timeline remembers each one with Grafana's id: the debrief and the metrics can tell
        assert sorted(e.data["id"] for e in events_of(bot, gameday, Kind.ANNOTATED)) == [1, 2, 3, 4]
        assert all(r["authorization"] == f"Bearer {TOKEN}" for r in grafana.requests)

        # a redelivered Slack event and a later look at the timeline add nothing
        assert people.redeliver(ack_event, retry_num=1)["status"] == 200
        with bot.services.store.transaction(gameday) as tx:  # and a look that asks for whatever is left
            bot.services.engine.annotating.schedule(tx, cached_scenario(tx.record.scenario_text), "again")
        bot.services.timers.poll(wait=True)
        assert len(events_of(bot, gameday, Kind.ACKNOWLEDGED)) == 1
        assert len(grafana.posts()) == 4 and len(events_of(bot, gameday, Kind.ANNOTATED)) == 4

        # the thread links each dashboard over the game day, from 5 minutes before it to 5 minutes after
        started = events_of(bot, gameday, Kind.STARTED)[0].at
        ended = events_of(bot, gameday, Kind.ENDED)[0].at
        message = wait_for_text(people, thread, "dashboards over this game day")
        links = [html.unescape(u) for u in re.findall(r"<(https?://[^>|]+)>", message["text"])]
        assert links == [
            f"{grafana.url}/d/{uid}?from={ms(started - 300)}&to={ms(ended + 300)}"
            for uid in ("checkout-1", "pay_2")
        ]
        assert "Checkout &lt;b&gt;overview&lt;/b&gt; &amp; more" in message["text"]  # Slack-escaped title

        # the token is nowhere people or logs can read
        texts = [m.get("text") or "" for m in people.messages("C1", thread_ts=thread)]
        debrief = bot.services.engine.debrief_from(bot.services.store.get(gameday), events)  # type: ignore[arg-type]
        for where in [*texts, caplog.text, render_debrief(debrief, "md"), render_debrief(debrief, "html")]:
            assert TOKEN not in where
        assert TOKEN not in repr(bot.services.settings)
    people.close()


def test_a_retry_finds_an_annotation_written_before_a_crash_instead_of_writing_it_again(
    workspace: LocalWorkspace, people: WorkspaceClient, grafana: LocalGrafana, tmp_path: Path
) -> None:
    scenarios = {"graphed": SCENARIO.format(title="Graphed")}
    with bot_on(workspace, tmp_path, scenarios=scenarios, grafana=(grafana.url, TOKEN)) as bot:
        thread, gameday, _ = run_drill(bot, people, end=False)
        wait_until(lambda: len(events_of(bot, gameday, Kind.ANNOTATED)) == 4, what="four annotations")
        sink = bot.services.engine.annotating.grafana
        assert sink is not None
        record = bot.services.store.get(gameday)
        assert record is not None
        events = bot.services.store.events(gameday)
        # as if the process died after Grafana took it and before the timeline recorded it
        for annotation in wanted(events):
            found = sink.write(
                record, cached_scenario(record.scenario_text), events, annotation, look_first=True
            )
            assert found is not None
        assert len(grafana.posts()) == 4  # looked up by its key tag, not written twice
        people.slash("UFAC", "/sce", "end", channel="C1")
        wait_for_text(people, thread, "Debrief", timeout=60)


@pytest.mark.parametrize(
    ("mode", "sentence"),
    [
        ("down", r"cannot reach Grafana at http://127\.0\.0\.1:\d+: the connection was refused or dropped"),
        ("500", r"Grafana answered 500: Failed to save annotation"),
        ("slow", r"Grafana at http://127\.0\.0\.1:\d+ did not answer within 0\.3 s"),
        ("token", r"Grafana refused the token \(401\): check SCE_GRAFANA_TOKEN"),
    ],
)
def test_a_failing_grafana_never_stops_the_game_day_and_is_said_in_one_sentence(
    workspace: LocalWorkspace,
    people: WorkspaceClient,
    grafana: LocalGrafana,
    tmp_path: Path,
    mode: str,
    sentence: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, token = grafana.url, TOKEN
    if mode == "down":
        url = f"http://127.0.0.1:{free_port()}"
    elif mode == "token":
        token = "glsa_wrong-token-000"
    else:
        grafana.mode, grafana.delay = mode, 1.0
    scenarios = {"graphed": SCENARIO.format(title="Graphed")}
    with bot_on(workspace, tmp_path, scenarios=scenarios, grafana=(url, token)) as bot:
        sink: Any = bot.services.engine.annotating.grafana
        sink.grafana.timeout = 0.3
        thread, gameday, _ = run_drill(bot, people)  # the debrief is posted all the same
        failed = wait_until(lambda: events_of(bot, gameday, Kind.ANNOTATION_FAILED), what="a failure")
        assert events_of(bot, gameday, Kind.ANNOTATED) == []
        # a slow Grafana may still save what it answered too late; a retry looks before writing: never twice
        keys = [t for a in grafana.annotations for t in a["tags"] if t.startswith("sce-key:")]
        assert len(keys) == len(set(keys)) and (mode == "slow" or keys == [])
        for event in failed:
            assert re.fullmatch(sentence, event.data["error"]), event.data["error"]
            assert "\n" not in event.data["error"] and token not in event.data["error"]
        assert re.search(sentence, caplog.text) and token not in caplog.text
        status = bot.services.store.get(gameday)
        assert status is not None and status.status == "completed"
        assert "could not be written to Grafana" in bot.sce("debrief", gameday, "--format", "md").stdout


def test_a_dry_run_writes_no_annotation(
    workspace: LocalWorkspace, people: WorkspaceClient, grafana: LocalGrafana, tmp_path: Path
) -> None:
    scenarios = {"graphed": SCENARIO.format(title="Graphed")}
    with bot_on(workspace, tmp_path, scenarios=scenarios, grafana=(grafana.url, TOKEN)) as bot:
        thread = start_gameday(people, "start graphed oncall=<@U1> secondary=<@U2> dry-run")
        gameday = bot.services.store.all()[-1].id
        assert people.slash("U1", "/sce", "detected", channel="C1")["status"] == 200
        wait_until(lambda: events_of(bot, gameday, Kind.DETECTED), what="the detection")
        people.slash("UFAC", "/sce", "end", channel="C1")
        wait_for_text(people, thread, "Debrief", timeout=60)
        bot.services.timers.poll(wait=True)
        assert grafana.requests == []  # nothing at all went to Grafana
        assert events_of(bot, gameday, Kind.ANNOTATED, Kind.ANNOTATION_FAILED) == []
        wait_for_text(people, thread, "dashboards over this game day")  # links change nothing: still given

"""Live logs from Loki: a logs step with ``source: loki`` reads ``query_range`` at each look, against a
local server that follows Loki's published HTTP API and checks every request (``tests/loki_server``).
The game day runs on the core with a virtual clock; Loki's entries carry real nanosecond timestamps."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from core_harness import CoreHarness
from loki_server import LokiTestServer

from bot.debrief.event_log import event_log
from bot.gameday.live_logs.batching import Batcher
from bot.gameday.scenario.steps import LogsSpec
from bot.gameday.state import fold
from bot.gameday.timeline import Kind
from bot.integrations.log_sources import EdgeLogSources
from bot.integrations.log_sources.loki import LokiFollowing

SCENARIO = """
id: loki-logs
title: Loki logs
charter: {objective: o, hypothesis: h}
guardrails: {max_duration: 30m}
steps:
  - at: 1m
    logs: {source: loki, query: '{app="web"} |= "auth"', match: "denied|refused", every: 10s}
  - at: 20m
    say: "the end is near"
"""
WEB = {"app": "web", "pod": "web-1"}
API = {"app": "web", "pod": "web-2"}


@pytest.fixture
def loki() -> Iterator[LokiTestServer]:
    server = LokiTestServer()
    yield server
    server.close()
    assert server.problems == []  # every request the bot sent was one Loki accepts


class Drill:
    def __init__(self, url: str | None, limit: int = 3) -> None:
        self.h = CoreHarness()

        def small_pages(base: str, spec: LogsSpec, sink: Batcher) -> LokiFollowing:
            assert spec.query is not None
            return LokiFollowing(base, spec.query, sink, timeout=2.0, limit=limit)

        self.h.engine.live_logs.sources = EdgeLogSources(None, url, loki=small_pages)
        outcome = self.h.engine.start(SCENARIO, "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
        assert outcome.ok and outcome.gameday_id
        self.gd = outcome.gameday_id

    def advance(self, seconds: float) -> None:
        self.h.advance_to(self.h.clock.now() + seconds)

    def said(self) -> list[str]:
        return [text for kind, text in self.h.announcer.posts if kind == "say"]

    def batches(self) -> list[list[str]]:
        return [t.split("```")[1].strip().splitlines() for t in self.said() if "```" in t]

    def events(self, kind: Kind) -> list[dict[str, object]]:
        return [e.data for e in self.h.store.events(self.gd) if e.kind is kind]


def test_entries_are_paged_by_start_without_loss_or_duplicates(loki: LokiTestServer) -> None:
    before = time.time_ns()
    loki.push(before - 10**9, WEB, "auth denied before the step began")  # older than the step: not read
    drill = Drill(loki.url, limit=3)
    drill.advance(61)  # the step runs and opens the source: Loki is asked from now on
    base = time.time_ns()
    lines = [
        (base + 1, WEB, "auth denied alice"),
        (base + 2, API, "auth ok bob"),
        (base + 3, WEB, "auth refused carol"),
        (base + 3, API, "auth denied dave"),  # same instant as the one before: across a page boundary
        (base + 4, API, "auth denied erin"),
        (base + 5, WEB, "auth ok frank"),
        (base + 6, WEB, "auth denied grace"),
    ]
    for ns, labels, line in lines:
        loki.push(ns, labels, line)
    asked = len(loki.requests)
    drill.advance(10)
    assert drill.batches() == [
        [
            "[web-1] auth denied alice",
            "[web-1] auth refused carol",
            "[web-2] auth denied dave",
            "[web-2] auth denied erin",
            "[web-1] auth denied grace",
        ]
    ]
    pages = loki.requests[asked:]
    # each page starts at the newest entry seen (inclusive: dave shares carol's instant), until one is short
    assert [int(p["start"]) for p in pages[1:]] == [base + 3, base + 4, base + 6]
    assert before < int(pages[0]["start"]) < base + 1 and all(p["direction"] == "forward" for p in pages)
    assert {p["limit"] for p in pages} == {"3"} and {p["query"] for p in pages} == {'{app="web"} |= "auth"'}

    loki.push(time.time_ns(), API, "auth denied heidi")
    drill.advance(10)
    assert drill.batches()[1:] == [["[web-2] auth denied heidi"]]  # only the new one: nothing twice
    drill.h.engine.end(drill.gd, "UFAC")
    (stopped,) = drill.events(Kind.LOGS_STOPPED)
    assert (stopped["seen"], stopped["matched"], stopped["posted"]) == (8, 6, 6)
    texts = [line.text for line in event_log(drill.h.posted_debrief())]
    assert "stopped following logs (the game day ended): 8 lines read, 6 matched, 6 posted" in texts


def test_loki_down_is_one_sentence_and_the_lines_come_when_it_is_back(loki: LokiTestServer) -> None:
    drill = Drill(loki.url)
    drill.advance(61)
    loki.status = 503
    loki.push(time.time_ns(), WEB, "auth denied while Loki fails")
    drill.advance(30)  # three looks, each answered 503
    down = [t for t in drill.said() if "503" in t]
    assert down == [f'Logs from loki {{app="web"}} |= "auth": Loki at {loki.url} answered 503: unavailable']
    loki.status = None
    drill.advance(10)
    assert drill.batches() == [["[web-1] auth denied while Loki fails"]]  # nothing lost meanwhile
    assert not drill.events(Kind.LOGS_STOPPED)
    assert [e["problem"] for e in drill.events(Kind.LOGS_TROUBLE)] == [down[0].split(": ", 1)[1]]


def test_an_unreachable_loki_is_one_sentence_and_never_stops_the_game_day() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # nothing listens there
    drill = Drill(url)
    drill.advance(61 + 30)
    said = [t for t in drill.said() if "cannot reach Loki" in t]
    assert said == [
        f'Logs from loki {{app="web"}} |= "auth": cannot reach Loki at {url}: the connection was '
        "refused or dropped"
    ]
    assert not fold(drill.h.store.events(drill.gd)).status.is_over


@pytest.mark.parametrize("status", [401, 403])
def test_a_refusal_ends_following_in_one_sentence(loki: LokiTestServer, status: int) -> None:
    loki.status = status
    drill = Drill(loki.url)
    drill.advance(61 + 30)
    refused = [t for t in drill.said() if "refused the query" in t]
    assert refused == [
        f'Logs from loki {{app="web"}} |= "auth": Loki at {loki.url} refused the query ({status}): '
        "check its access for sce"
    ]
    (stopped,) = drill.events(Kind.LOGS_STOPPED)
    assert stopped["why"] == refused[0].split(": ", 1)[1]
    asked = len(loki.requests)
    drill.advance(60)
    assert len(loki.requests) == asked  # stopped: Loki is not asked again


def test_without_a_loki_url_the_step_says_so_once() -> None:
    drill = Drill(None)
    drill.advance(61 + 20)
    assert [t for t in drill.said() if "Loki" in t or "loki" in t] == [
        'Cannot follow logs from loki {app="web"} |= "auth": SCE_LOKI_URL is not set in this deployment.'
    ]
    (stopped,) = drill.events(Kind.LOGS_STOPPED)
    assert stopped["why"] == "SCE_LOKI_URL is not set in this deployment"


def test_loki_lines_are_redacted_and_cut_like_any_other(loki: LokiTestServer) -> None:
    drill = Drill(loki.url)
    drill.advance(61)
    loki.push(time.time_ns(), WEB, "auth denied client_secret=s3cr3t-value token ghp_" + "a" * 36)
    loki.push(time.time_ns() + 1, WEB, "auth refused " + "y" * 3000)
    drill.advance(10)
    ((first, second),) = drill.batches()
    assert "s3cr3t-value" not in first and "ghp_" + "a" * 36 not in first and first.count("[redacted]") == 2
    assert len(second) < 320 and second.endswith("…")

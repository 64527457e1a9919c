"""Live logs from Kubernetes: a logs step follows the pods of a namespace through the official client's
follow stream, against the Kubernetes test server over HTTP (``KubeTestServer``: lines pushed over
time), and posts what matched to the local Slack workspace through the real announcer. The game day's
clock is virtual; the streams are real, so the tests wait (briefly, polling) for lines to arrive."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_harness import ROSTER, SlackGameDays, start_workspace
from test_faults_kmock import NAMESPACE, OTHER_NAMESPACE, KubeTestServer

from bot.gameday.state import fold
from bot.gameday.timeline import Kind
from bot.integrations.log_sources import EdgeLogSources
from bot.workspace.server import LocalWorkspace

SCENARIO = """
id: live-logs
title: Live logs
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m}}
steps:
  - at: 1m
    logs: {{source: kubernetes, namespace: {namespace}, selector: {{app: web}}, match: "denied|refused",
            every: 10s{extra}}}
  - at: 20m
    say: "the end is near"
"""


SAID = ":scroll: *[GAME DAY]* "


def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> None:  # a loaded run is slow
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sce-logs-") and t.is_alive()]


@pytest.fixture(scope="module")
def workspace() -> Iterator[LocalWorkspace]:
    ws = start_workspace()
    yield ws
    ws.stop()


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        for name in ("web-1", "web-2", "web-3"):
            server.pod(name, {"app": "web"})
        server.pod("db-1", {"app": "db"})  # not selected: never followed
        yield server


@pytest.fixture
def drills() -> Iterator[list[Drill]]:
    """The test's drills; their followings are closed at its end, so no reader outlives the test."""
    made: list[Drill] = []
    yield made
    for drill in made:
        drill.days.engine.live_logs.close()


class Drill:
    """A game day with one kubernetes logs step, on the Slack harness, with the test server's cluster."""

    def __init__(
        self,
        made: list[Drill],
        workspace: LocalWorkspace,
        kube: KubeTestServer,
        extra: str = "",
        ns: str = NAMESPACE,
    ):
        made.append(self)
        self.kube = kube
        self.days = SlackGameDays(workspace)
        self.days.engine.live_logs.sources = EdgeLogSources(kube.cluster(), None)
        self.text = SCENARIO.format(namespace=ns, extra=extra)

    def start(self, dry_run: bool = False) -> str:
        outcome = self.days.engine.start(self.text, "C1", "UFAC", ROSTER, dry_run=dry_run)
        assert outcome.ok and outcome.gameday_id, outcome.message
        self.gd = outcome.gameday_id
        return self.gd

    def open(self, pods: int = 3) -> None:
        """Run the logs step and wait for the server to serve each pod's stream."""
        self.days.advance(60)
        self.days.advance(1)  # the step's first look, due as the step ran
        wait_for(lambda: self.kube.open_follows(NAMESPACE) == pods)

    def texts(self) -> list[str]:
        """Every message in the thread as Slack has it, without the game-day mark said lines carry."""
        return [str(m.get("text") or "").removeprefix(SAID) for m in self.days.messages(self.gd)]

    def batches(self) -> list[str]:
        return [t for t in self.texts() if t.startswith("Logs from kubernetes") and "```" in t]

    def events(self, kind: Kind) -> list[dict[str, Any]]:
        return [e.data for e in self.days.store.events(self.gd) if e.kind is kind]


def test_lines_from_three_pods_arrive_batched_filtered_redacted_escaped_and_cut(
    workspace: LocalWorkspace, kube: KubeTestServer, drills: list[Drill]
) -> None:
    drill = Drill(drills, workspace, kube)
    gd = drill.start()
    drill.open()
    long_line = "access denied " + "x" * 5000
    kube.push_log(NAMESPACE, "web-1", "GET /login denied for bob password=hunter2", "GET /health ok")
    kube.push_log(
        NAMESPACE, "web-2", "upstream refused: Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345"
    )
    kube.push_log(
        NAMESPACE, "web-3", "denied AKIAIOSFODNN7EXAMPLE", "<!channel> denied <https://evil.example|x>"
    )
    kube.push_log(NAMESPACE, "web-3", long_line, "200 OK")
    kube.push_log(NAMESPACE, "db-1", "denied in the database")  # a pod the selector leaves out
    wait_for(lambda: drill.days.engine.live_logs.seen(gd, 0) == 7)
    drill.days.advance(10)

    batches = drill.batches()
    assert len(batches) == 1, batches  # one message for the interval, not one per line
    batch = batches[0]
    assert batch.startswith("Logs from kubernetes chaos-lab app=web matching `denied|refused`: 5 lines")
    shown = batch.split("```")[1].strip().splitlines()
    assert sorted(line.split("]")[0] for line in shown) == ["[web-1", "[web-2", "[web-3", "[web-3", "[web-3"]
    assert "GET /health ok" not in batch and "200 OK" not in batch and "database" not in batch
    for secret in ("hunter2", "abcdefghijklmnopqrstuvwxyz012345", "AKIAIOSFODNN7EXAMPLE"):
        assert secret not in batch
    assert batch.count("[redacted]") == 3
    # Slack markup from a log line is shown, not acted on: no channel ping, no disguised link
    assert "<!channel>" not in batch and "<https://evil.example|x>" not in batch
    assert "&lt;!channel&gt; denied &lt;https://evil.example|x&gt;" in batch
    cut = next(line for line in shown if "access denied" in line)
    assert len(cut) < 320 and cut.endswith("…") and "x" * 200 in cut
    following = drill.events(Kind.LOGS_FOLLOWING)
    assert following == [
        {
            "step": 0,
            "source": "kubernetes",
            "streams": ["web-1", "web-2", "web-3"],
            "match": "denied|refused",
            "again": False,
        }
    ]
    assert any(
        "Following logs from kubernetes chaos-lab app=web: 3 pods (web-1, web-2, web-3)" in t
        for t in drill.texts()
    )


def test_a_noisy_interval_shows_twenty_lines_and_counts_the_rest(
    workspace: LocalWorkspace, kube: KubeTestServer, drills: list[Drill]
) -> None:
    drill = Drill(drills, workspace, kube)
    gd = drill.start()
    drill.open()
    for pod in ("web-1", "web-2", "web-3"):
        kube.push_log(NAMESPACE, pod, *[f"{pod} denied request {n}" for n in range(15)])
    wait_for(lambda: drill.days.engine.live_logs.seen(gd, 0) == 45)
    drill.days.advance(10)
    (batch,) = drill.batches()
    assert len(batch.split("```")[1].strip().splitlines()) == 20
    assert batch.endswith("+25 more lines not shown.")
    assert ": 45 lines in the last interval" in batch


def test_following_stops_when_its_for_is_over_and_closes_every_stream(
    workspace: LocalWorkspace, kube: KubeTestServer, drills: list[Drill]
) -> None:
    drill = Drill(drills, workspace, kube, extra=", for: 30s")
    gd = drill.start()
    drill.open()
    kube.push_log(NAMESPACE, "web-2", "login denied")
    wait_for(lambda: drill.days.engine.live_logs.seen(gd, 0) == 1)
    drill.days.advance(30)
    (stopped,) = drill.events(Kind.LOGS_STOPPED)
    assert stopped == {
        "step": 0,
        "why": "its `for:` of 30s is over",
        "seen": 1,
        "matched": 1,
        "posted": 1,
        "dropped": 0,
    }
    assert any(
        t.startswith("Stopped following logs from kubernetes chaos-lab app=web: its `for:` of 30s is over")
        for t in drill.texts()
    )
    wait_for(lambda: not reader_threads())  # every reader ended: the client closed its streams
    posted = len(drill.texts())
    kube.push_log(NAMESPACE, "web-2", "denied after the end")  # the server notices the client has gone
    wait_for(lambda: kube.open_follows(NAMESPACE) == 0)
    drill.days.advance(60)
    assert len(drill.texts()) == posted
    assert not fold(drill.days.store.events(gd)).status.is_over  # the game day itself goes on


def test_an_abort_stops_following_at_once(
    workspace: LocalWorkspace, kube: KubeTestServer, drills: list[Drill]
) -> None:
    drill = Drill(drills, workspace, kube)
    gd = drill.start()
    drill.open()
    kube.push_log(NAMESPACE, "web-1", "denied one", "denied two")
    wait_for(lambda: drill.days.engine.live_logs.seen(gd, 0) == 2)
    assert drill.days.engine.abort(gd, "UFAC", "enough").ok
    drill.days.settle()
    (stopped,) = drill.events(Kind.LOGS_STOPPED)
    assert stopped["why"] == "the game day was aborted"
    assert (stopped["seen"], stopped["matched"], stopped["posted"], stopped["dropped"]) == (2, 2, 0, 2)
    wait_for(lambda: not reader_threads())
    assert drill.days.engine.live_logs.following_count == 0
    kube.push_log(NAMESPACE, "web-1", "denied after the abort")
    wait_for(lambda: kube.open_follows(NAMESPACE) == 0)
    drill.days.advance(60)
    assert drill.batches() == []  # nothing was posted after the abort


def test_a_refused_log_endpoint_is_one_sentence_and_ends_following(
    workspace: LocalWorkspace, kube: KubeTestServer, drills: list[Drill]
) -> None:
    kube.log_status = 403
    drill = Drill(drills, workspace, kube)
    gd = drill.start()
    drill.days.advance(61)
    wait_for(lambda: not reader_threads())  # each pod's stream was refused
    drill.days.advance(10)
    said = [t for t in drill.texts() if "403" in t]
    assert said == [
        "Logs from kubernetes chaos-lab app=web: the API server refused to stream pod logs in chaos-lab "
        "(403 Forbidden); the bot's service account needs get on pods/log in chaos-lab"
    ]
    (stopped,) = drill.events(Kind.LOGS_STOPPED)
    assert stopped["why"].startswith("the API server refused to stream pod logs in chaos-lab")
    assert [e["problem"] for e in drill.events(Kind.LOGS_TROUBLE)] == [said[0].split(": ", 1)[1]]
    assert not fold(drill.days.store.events(gd)).status.is_over  # a failed source never stops the game day


def test_a_namespace_outside_the_deployments_allow_list_is_refused_at_start(
    workspace: LocalWorkspace, kube: KubeTestServer, drills: list[Drill]
) -> None:
    drill = Drill(drills, workspace, kube, ns=OTHER_NAMESPACE)
    outcome = drill.days.engine.start(drill.text, "C1", "UFAC", ROSTER)
    assert not outcome.ok and outcome.gameday_id is None
    assert outcome.message == (
        "The scenario cannot run: its logs step reads pods in namespace payments, which is not in "
        "SCE_ALLOWED_NAMESPACES for this deployment."
    )
    assert kube.bot_requests() == []  # refused before anything ran


def test_pods_that_come_up_later_are_followed_and_no_pods_is_said_once(
    workspace: LocalWorkspace, kube: KubeTestServer, drills: list[Drill]
) -> None:
    drill = Drill(drills, workspace, kube)
    drill.text = drill.text.replace("app: web", "app: api")
    gd = drill.start()
    drill.days.advance(61)
    drill.days.advance(10)
    none = [t for t in drill.texts() if "no running pod" in t]
    assert none == [
        "Logs from kubernetes chaos-lab app=api: no running pod in chaos-lab matches app=api yet; "
        "looking again at every message"
    ]
    kube.pod("api-1", {"app": "api"})
    drill.days.advance(10)  # the next look lists the pods again
    wait_for(lambda: kube.open_follows(NAMESPACE) == 1)
    kube.push_log(NAMESPACE, "api-1", "token refused")
    wait_for(lambda: drill.days.engine.live_logs.seen(gd, 0) == 1)
    drill.days.advance(10)
    assert [b.split("```")[1].strip() for b in drill.batches()] == ["[api-1] token refused"]
    assert len([t for t in drill.texts() if "no running pod" in t]) == 1
    requests = [r for r in kube.bot_requests() if r.subresource == "log"]
    assert requests and all(r.params.get("follow") == "true" for r in requests)
    assert requests[0].params.get("sinceSeconds")  # came up later: its log since the step began


def test_a_dry_run_follows_logs_too(
    workspace: LocalWorkspace, kube: KubeTestServer, drills: list[Drill]
) -> None:
    drill = Drill(drills, workspace, kube)
    gd = drill.start(dry_run=True)
    drill.open()
    kube.push_log(NAMESPACE, "web-3", "denied in a dry run")
    wait_for(lambda: drill.days.engine.live_logs.seen(gd, 0) == 1)
    drill.days.advance(10)
    assert [b.split("```")[1].strip() for b in drill.batches()] == ["[web-3] denied in a dry run"]
    first = [r for r in kube.bot_requests() if r.subresource == "log"]
    assert {r.params.get("tailLines") for r in first} == {"0"}  # from the step's start, not the old log

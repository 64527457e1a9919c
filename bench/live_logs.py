"""Live logs: a logs step following 20 pods that each write 100 lines a second, through the official
client's follow streams against the Kubernetes test server (tests/test_faults_kmock.py) over HTTP, while
the game day runs on the real clock and its timers fire as `sce serve` fires them.

Measured: whether the readers keep up (lines read against lines written, sampled every half second:
the backlog must not grow), how long the last line takes to be read once writing stops, and the posts
the step makes in the channel (Slack allows about one a second per channel; the step posts one message per
``every``, 5 s here, however noisy the pods). The baseline is a bare reader: one thread per pod reading the
same streams with ``requests``, counting lines, nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from bench.abort import kube_harness
from bench.results import Row, Section
from bot.faults.simulated import SimulatedDriver
from bot.gameday.memory_store import MemoryStore
from bot.gameday.running.engine import Engine
from bot.gameday.running.poller import fire_due_timers
from bot.integrations.log_sources import EdgeLogSources

PODS = 20
LINES_PER_SECOND = 100
NAMESPACE = "chaos-lab"
SCENARIO = """id: bench-logs
title: Live logs benchmark
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m}}
steps:
  - at: 0s
    logs: {{source: kubernetes, namespace: {namespace}, selector: {{app: web}}, match: "denied",
            every: 5s, max_pods: {pods}}}
  - at: 20m
    say: "still running"
"""


class _Posts:
    """An announcer that keeps the wall time of each batch of log lines the step posts."""

    def __init__(self) -> None:
        self.at: list[float] = []

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def post(*args: Any, **kwargs: Any) -> str:
            return f"{time.time():.6f}"

        return post

    def say(self, record: Any, text: str, key: str) -> str:
        now = time.time()
        if text.startswith("Logs from") and "```" in text:
            self.at.append(now)
        return f"{now:.6f}"

    def find_posted(self, *args: Any) -> None:
        return None


def run(quick: bool) -> Section:
    seconds = 6.0 if quick else 12.0
    section = Section("Live logs", f"a bare reader of the same {PODS} streams")
    harness = kube_harness()
    with harness.KubeTestServer() as kube:
        pods = [f"web-{n}" for n in range(PODS)]
        for pod in pods:
            kube.pod(pod, {"app": "web"}, NAMESPACE)
        ours = _ours(kube, pods, seconds)
        bare = _bare(kube, pods, seconds)
    written, read, backlog, catch_up, posts, window = ours
    section.add(
        Row(
            "lines read of lines written",
            100.0 * read / written,
            "%",
            100.0 * bare[1] / bare[0],
            "100 %",
            read == written,
        )
    )
    section.add(
        Row(
            "largest backlog in a half-second sample",
            backlog,
            "lines",
            bare[2],
            f"< {LINES_PER_SECOND * PODS // 2} (half a second)",
            backlog < LINES_PER_SECOND * PODS // 2,
        )
    )
    section.add(
        Row("last line read after writing stopped", catch_up, "ms", bare[3], "< 500 ms", catch_up < 500)
    )
    section.add(
        Row(
            "posts to the channel in any 1-s window",
            float(window),
            "posts",
            None,
            "<= 1 (Slack's rate)",
            window <= 1,
        )
    )
    section.notes.append(
        f"{PODS} pods x {LINES_PER_SECOND} lines/s for {seconds:g} s ({written} lines, every one matching), "
        f"read by the step's follow streams; {len(posts)} messages of lines in the channel over the run (one "
        "every 5 s, 20 lines shown and the rest counted)."
    )
    return section


def _write(kube: Any, pods: list[str], seconds: float, stop: threading.Event) -> int:
    """Each pod writes LINES_PER_SECOND lines a second (five every 50 ms) for ``seconds``."""
    written, started, tick = 0, time.monotonic(), 0
    while time.monotonic() - started < seconds and not stop.is_set():
        for pod in pods:
            kube.push_log(NAMESPACE, pod, *[f"denied request {tick}-{n}" for n in range(5)])
            written += 5
        tick += 1
        time.sleep(max(0.0, started + tick * 0.05 - time.monotonic()))
    return written


def _ours(kube: Any, pods: list[str], seconds: float) -> tuple[int, int, float, float, list[float], int]:
    store, posts = MemoryStore(), _Posts()
    engine = Engine(store, posts, time.time, SimulatedDriver(), frozenset({NAMESPACE}))  # type: ignore[arg-type]
    engine.live_logs.sources = EdgeLogSources(kube.cluster(frozenset({NAMESPACE})), None)
    outcome = engine.start(SCENARIO.format(namespace=NAMESPACE, pods=PODS), "C1", "U0", {"primary": "U1"})
    assert outcome.ok and outcome.gameday_id, outcome.message
    gameday = outcome.gameday_id
    stop = threading.Event()
    firing = threading.Thread(target=_fire, args=(store, engine, stop), daemon=True)
    firing.start()
    deadline = time.monotonic() + 10
    while kube.open_follows(NAMESPACE) < PODS and time.monotonic() < deadline:
        time.sleep(0.01)
    result: list[int] = []
    writer = threading.Thread(target=lambda: result.append(_write(kube, pods, seconds, stop)), daemon=True)
    backlog, sampled = 0.0, time.monotonic()
    writer.start()
    while writer.is_alive():  # the backlog sampled every half second; the writer's end seen within 10 ms
        writer.join(0.01)
        if time.monotonic() - sampled >= 0.5:
            sampled = time.monotonic()
            written = sum(kube.logs[(NAMESPACE, pod)].count("\n") for pod in pods)
            backlog = max(backlog, written - engine.live_logs.seen(gameday, 0))
    written = result[0]
    stopped = time.monotonic()
    while engine.live_logs.seen(gameday, 0) < written and time.monotonic() - stopped < 5:
        time.sleep(0.001)
    catch_up = (time.monotonic() - stopped) * 1000
    read = engine.live_logs.seen(gameday, 0)
    stop.set()
    firing.join(5)
    engine.live_logs.close()
    window = max((sum(1 for t in posts.at if s <= t < s + 1.0) for s in posts.at), default=0)
    return written, read, backlog, catch_up, posts.at, window


def _fire(store: MemoryStore, engine: Engine, stop: threading.Event) -> None:
    while not stop.is_set():
        fire_due_timers(store, engine, time.time())
        stop.wait(0.05)


def _bare(kube: Any, pods: list[str], seconds: float) -> tuple[int, int, float, float]:
    """The same load read by bare ``requests`` streams (one thread per pod) that only count lines."""
    counts = dict.fromkeys(pods, 0)
    sessions: list[requests.Response] = []

    def read(pod: str) -> None:
        url = kube.path("pods", NAMESPACE, pod, "log")
        with requests.get(
            url, params={"follow": "true", "tailLines": "0"}, stream=True, timeout=30
        ) as response:
            sessions.append(response)
            while chunk := response.raw.read1(65536):  # as the lines come, as our reader reads them
                counts[pod] += chunk.count(b"\n")

    # the step's own streams close after their game day, a moment later on the server's side: counted
    # while they close, "every bare stream open" could never come (the quick run hung here)
    _wait_for(lambda: kube.open_follows(NAMESPACE) == 0, "the step's streams to close")
    readers = [threading.Thread(target=read, args=(pod,), daemon=True) for pod in pods]
    for reader in readers:
        reader.start()
    _wait_for(lambda: kube.open_follows(NAMESPACE) >= PODS, "every bare stream to open")
    stop, result = threading.Event(), []
    writer = threading.Thread(target=lambda: result.append(_write(kube, pods, seconds, stop)), daemon=True)
    marks = {pod: kube.logs[(NAMESPACE, pod)].count("\n") for pod in pods}
    writer.start()
    backlog, sampled = 0.0, time.monotonic()
    while writer.is_alive():
        writer.join(0.01)
        if time.monotonic() - sampled >= 0.5:
            sampled = time.monotonic()
            written = sum(kube.logs[(NAMESPACE, pod)].count("\n") - marks[pod] for pod in pods)
            backlog = max(backlog, written - sum(counts.values()))
    written = result[0]
    stopped = time.monotonic()
    while sum(counts.values()) < written and time.monotonic() - stopped < 5:
        time.sleep(0.001)
    catch_up = (time.monotonic() - stopped) * 1000
    read_lines = sum(counts.values())
    for pod in pods:
        kube.end_logs(NAMESPACE, pod)
    return written, read_lines, backlog, catch_up


def _wait_for(done: Callable[[], bool], what: str, limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the live-logs bench waited {limit:g} s for {what}")
        time.sleep(0.01)

"""Pod logs followed through the official client: the pods of one namespace matching a label selector are
listed, and each one's log is read with the API server's follow stream (``follow=true``), one daemon
thread per pod, up to ``max_pods`` at once. Every poll lists the pods again, so a pod that came up since
(a rollout, a scale-up) is followed too, from the moment the step began.

A line is cut at ``READ_LINE_MAX`` however long the pod wrote it (the rest up to the next line break is
skipped), so a pod cannot grow the bot's memory. Closing shuts each stream's socket down, which ends a
read blocked in its thread, and waits for the threads (2 s at most).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from urllib3.exceptions import ProtocolError, ReadTimeoutError

from bot.faults.cluster import POD, Cluster, KubeApi, api_error, api_status
from bot.gameday.live_logs.batching import READ_LINE_MAX, Batcher
from bot.gameday.live_logs.sources import SourceFailed
from bot.gameday.scenario.steps import LogsSpec

log = logging.getLogger(__name__)
READ_BYTES = 64 * 1024
FOLLOWED = frozenset({"Running", None})  # a pod the test server made has no phase; Pending has no log yet
REFUSED = frozenset({401, 403})
READ_TIMEOUT = 300.0  # a pod silent this long: its stream is opened again


class KubernetesFollowing:
    def __init__(self, api: KubeApi, spec: LogsSpec, sink: Batcher, wall: Callable[[], float] = time.time):
        assert spec.namespace is not None
        self.api = api
        self.namespace = spec.namespace
        self.selector = dict(spec.selector)
        self.container = spec.container
        self.max_pods = spec.max_pods
        self.sink = sink
        self.wall = wall
        self.opened_at = wall()
        self.read_timeout = READ_TIMEOUT
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._responses: dict[str, Any] = {}
        self._ended: set[str] = set()  # pods whose stream ended (or failed): not followed again
        self._refused: set[str] = set()
        self._closed = False
        self._told_cap = False

    @property
    def streams(self) -> list[str]:
        with self._lock:
            return sorted(self._threads)

    def start(self) -> None:
        """The first listing: a refusal or an unreachable API server means nothing can be followed."""
        try:
            pods = self._pods()
        except Exception as exc:
            raise SourceFailed(self._list_problem(exc)) from None
        if not pods:
            self.sink.problem(self._no_pods())
        self._follow(pods, tail_lines=0)  # the pods running now: from this moment on

    def poll(self) -> None:
        """List the pods again; follow those that came up since; say when every stream was refused."""
        try:
            pods = self._pods()
        except Exception as exc:
            problem = self._list_problem(exc)
            self.sink.problem(problem)
            if api_status(exc) in REFUSED:
                self.sink.fail(problem)
            return
        since = max(1, math.ceil(self.wall() - self.opened_at) + 1)
        self._follow(pods, since_seconds=since)  # came up after the step began: their whole log since
        with self._lock:
            alive = [name for name, thread in self._threads.items() if thread.is_alive()]
            refused = bool(self._refused) and not alive
        if refused:
            self.sink.fail(f"the API server refused to stream pod logs in {self.namespace}")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            responses = list(self._responses.values())
            threads = list(self._threads.values())
        for response in responses:
            _shut(response)
        deadline = time.monotonic() + 2.0
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- inside ---------------------------------------------------------------------------------
    def _pods(self) -> list[str]:
        found = self.api.list(POD, self.namespace, self.selector)
        return sorted(
            str(pod["metadata"]["name"])
            for pod in found
            if (pod.get("status") or {}).get("phase") in FOLLOWED
            and not pod["metadata"].get("deletionTimestamp")
        )

    def _follow(
        self, pods: list[str], tail_lines: int | None = None, since_seconds: int | None = None
    ) -> None:
        with self._lock:
            if self._closed:
                return
            new = [name for name in pods if name not in self._threads and name not in self._ended]
            room = self.max_pods - len(self._threads)
            if len(new) > room and not self._told_cap:
                self._told_cap = True
                self.sink.problem(
                    f"{len(self._threads) + len(new)} pods match; following the first {self.max_pods} "
                    "(max_pods)"
                )
            for name in new[: max(0, room)]:
                thread = threading.Thread(
                    target=self._read,
                    args=(name, tail_lines, since_seconds),
                    name=f"sce-logs-{name}",
                    daemon=True,
                )
                self._threads[name] = thread
                thread.start()

    def _read(self, pod: str, tail_lines: int | None, since_seconds: int | None) -> None:
        """One pod's stream, line by line, until it ends or is closed; a stream quiet for READ_TIMEOUT is
        opened again from that moment (the client refuses an unbounded read timeout)."""
        try:
            while not self._closed:
                try:
                    response = self.api.follow_pod_log(
                        self.namespace, pod, self.container, tail_lines, since_seconds, self.read_timeout
                    )
                except Exception as exc:
                    self._stream_failed(pod, exc)
                    return
                if not self._stream(pod, response):
                    return
                tail_lines, since_seconds = 0, None
        finally:
            with self._lock:
                self._ended.add(pod)

    def _stream(self, pod: str, response: Any) -> bool:
        """Read one stream to its end; True when it only went quiet (read it again)."""
        with self._lock:
            if self._closed:
                _shut(response)
                return False
            self._responses[pod] = response
        try:
            self._lines(pod, response)
            return False
        except (ReadTimeoutError, ProtocolError) as exc:
            quiet = isinstance(exc, ReadTimeoutError) or "timed out" in str(exc)
            return quiet and not self._closed
        except Exception as exc:
            if not self._closed:
                log.info("the log stream of pod %s/%s broke: %s", self.namespace, pod, exc)
            return False
        finally:
            with self._lock:
                self._responses.pop(pod, None)
            _shut(response)

    def _lines(self, pod: str, response: Any) -> None:
        pending, skipping = b"", False
        while not self._closed:
            chunk = response.read1(READ_BYTES)
            if not chunk:
                break
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if not skipping:
                    self.sink.offer(pod, line.decode("utf-8", "replace"))
                skipping = False
            if len(pending) > READ_LINE_MAX * 4:  # a line with no end in sight: keep its start only
                if not skipping:
                    self.sink.offer(pod, pending[: READ_LINE_MAX * 4].decode("utf-8", "replace"))
                pending, skipping = b"", True
        if pending and not skipping and not self._closed:
            self.sink.offer(pod, pending.decode("utf-8", "replace"))

    def _stream_failed(self, pod: str, exc: Exception) -> None:
        with self._lock:
            self._ended.add(pod)
        if api_status(exc) in REFUSED:
            with self._lock:
                self._refused.add(pod)
            self.sink.problem(
                f"the API server refused to stream pod logs in {self.namespace} ({api_error(exc)}); "
                f"the bot's service account needs get on pods/log in {self.namespace}"
            )
        elif api_status(exc) in (400, 404):
            return  # the container has not started yet, or the pod is gone: nothing to read
        else:
            self.sink.problem(f"the log of pod {pod} could not be read ({api_error(exc)})")

    def _list_problem(self, exc: Exception) -> str:
        if api_status(exc) in REFUSED:
            return (
                f"the API server refused to list pods in {self.namespace} ({api_error(exc)}); the bot's "
                f"service account needs list on pods there"
            )
        return f"the API server did not list pods in {self.namespace} ({api_error(exc)})"

    def _no_pods(self) -> str:
        selector = ",".join(f"{key}={value}" for key, value in self.selector.items())
        return f"no running pod in {self.namespace} matches {selector} yet; looking again at every message"


def _shut(response: Any) -> None:
    """End the stream: shut its socket down (a read blocked in another thread returns), then close it."""
    with contextlib.suppress(Exception):  # already released, or never had a socket: closing is enough
        response.shutdown()
    with contextlib.suppress(Exception):
        response.close()


def open_kubernetes(cluster: Cluster, gameday_id: str, spec: LogsSpec, sink: Batcher) -> KubernetesFollowing:
    """Follow ``spec``'s pods; the namespace must be in the deployment's allow-list (checked again here,
    before any call, as a fault's is)."""
    if spec.namespace not in cluster.allowed_namespaces:
        raise SourceFailed(f"namespace {spec.namespace} is not in SCE_ALLOWED_NAMESPACES for this deployment")
    following = KubernetesFollowing(cluster.api(gameday_id), spec, sink)
    following.start()
    return following

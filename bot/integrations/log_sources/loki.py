"""The team's Loki (``SCE_LOKI_URL``), read with ``GET /loki/api/v1/query_range`` at every look of a logs
step: ``start`` at the newest entry seen (nanoseconds, inclusive, so entries sharing that instant are not
lost; those already seen are skipped), ``end`` now, ``direction=forward``, ``limit`` entries a page and
a few pages a look. The API is Grafana Loki's published HTTP API ("Query logs within a range of time",
docs/sources/reference/loki-http-api.md in grafana/loki).

Answers are bounded (1 MiB) and every failure is one sentence for the thread: Loki down or failing is
said once and tried again at the next look; a refusal (401, 403) or a query Loki cannot read (400) ends
the following, as it will not get better by itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests

from bot.gameday.live_logs.batching import Batcher
from bot.gameday.live_logs.sources import SourceFailed
from bot.gameday.scenario.steps import LogsSpec
from bot.integrations.bounded_http import bounded_get, reason

MAX_ANSWER_BYTES = 1024 * 1024
PAGE_LIMIT = 500
MIN_LIMIT = 10
PAGES_PER_POLL = 5
STREAM_LABELS = ("pod", "container", "instance", "job", "app", "service_name")


class LokiFollowing:
    def __init__(
        self,
        base_url: str,
        query: str,
        sink: Batcher,
        timeout: float = 5.0,
        limit: int = PAGE_LIMIT,
        wall_ns: Callable[[], int] = time.time_ns,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.query = query
        self.sink = sink
        self.timeout = timeout
        self.limit = limit
        self.wall_ns = wall_ns
        self.cursor = wall_ns()  # entries from the step's start on
        self.at_cursor: set[tuple[str, str]] = set()  # (labels, line) of the entries seen at ``cursor``
        self.session = session or requests.Session()
        self.session.trust_env = False  # the operator's URL, not the environment's proxies

    @property
    def streams(self) -> list[str]:
        return [self.query]

    def poll(self) -> None:
        """Every entry since the last one seen, a few pages at most (the rest comes at the next look)."""
        end = self.wall_ns()
        for _ in range(PAGES_PER_POLL):
            if end <= self.cursor:
                return
            try:
                entries = self._page(end)
            except _Refused as exc:
                self.sink.problem(str(exc))
                self.sink.fail(str(exc))
                return
            except SourceFailed as exc:
                self.sink.problem(str(exc))
                return
            if entries is None:  # too big: a smaller page next time
                continue
            fresh = self._take(entries)
            if len(entries) < self.limit:
                return
            if not fresh:  # a full page of entries at one instant, all seen: step past it
                self.cursor, self.at_cursor = self.cursor + 1, set()

    def close(self) -> None:
        self.session.close()

    def _page(self, end: int) -> list[tuple[int, str, str, str]] | None:
        params = {
            "query": self.query,
            "start": str(self.cursor),
            "end": str(end),
            "limit": str(self.limit),
            "direction": "forward",
        }
        url = f"{self.base_url}/loki/api/v1/query_range"
        try:
            answer = bounded_get(self.session, url, params, self.timeout, MAX_ANSWER_BYTES)
        except requests.RequestException as exc:
            raise SourceFailed(f"cannot reach Loki at {self.base_url}: {reason(exc)}") from None
        raw, status = answer.body, answer.status
        if answer.too_big:
            if self.limit > MIN_LIMIT:
                self.limit = max(MIN_LIMIT, self.limit // 4)
                return None
            raise SourceFailed(f"Loki answered with more than 1 MiB for {self.limit} lines; lines skipped")
        if status in (401, 403):
            raise _Refused(f"Loki at {self.base_url} refused the query ({status}): check its access for sce")
        if status == 400:
            raise _Refused(f"Loki cannot run the query: {_text(raw)}")
        if status != 200:
            raise SourceFailed(f"Loki at {self.base_url} answered {status}: {_text(raw)}")
        return _entries(raw)

    def _take(self, entries: list[tuple[int, str, str, str]]) -> int:
        """Offer the entries not seen yet, oldest first; move the cursor to the newest. Returns how many."""
        fresh = 0
        for ns, key, stream, line in sorted(entries, key=lambda entry: entry[0]):
            if ns < self.cursor or (ns == self.cursor and (key, line) in self.at_cursor):
                continue
            if ns > self.cursor:
                self.cursor, self.at_cursor = ns, set()
            self.at_cursor.add((key, line))
            self.sink.offer(stream, line)
            fresh += 1
        return fresh


class _Refused(SourceFailed):
    """Loki will not answer this query, now or later."""


def _entries(raw: bytes) -> list[tuple[int, str, str, str]]:
    """(ns, labels as a key, the stream's short name, line) of every entry of a ``streams`` answer."""
    try:
        body: Any = json.loads(raw)
    except ValueError:
        raise SourceFailed("Loki answered with something that is not JSON") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or body.get("status") != "success":
        raise SourceFailed("Loki answered with JSON that is not its API's")
    if data.get("resultType") != "streams":
        raise _Refused(f"the query returns a {data.get('resultType')}, not log lines: use a log query")
    entries = []
    for stream in data.get("result") or []:
        if not isinstance(stream, dict):
            continue
        found = stream.get("stream")
        labels: dict[str, Any] = found if isinstance(found, dict) else {}
        key = json.dumps(labels, sort_keys=True)
        name = next((str(labels[label]) for label in STREAM_LABELS if label in labels), "")
        for value in stream.get("values") or []:
            if isinstance(value, list) and len(value) >= 2 and str(value[0]).isdigit():
                entries.append((int(value[0]), key, name, str(value[1])))
    return entries


def _text(raw: bytes) -> str:
    return raw[:200].decode("utf-8", "replace").strip().replace("\n", " ") or "no reason given"


def open_loki(base_url: str | None, spec: LogsSpec, sink: Batcher) -> LokiFollowing:
    if not base_url:
        raise SourceFailed("SCE_LOKI_URL is not set in this deployment")
    assert spec.query is not None
    return LokiFollowing(base_url, spec.query, sink)


PREFLIGHT_WINDOW_NS = 300 * 10**9


def loki_problem(base_url: str, query: str, timeout: float = 5.0) -> str | None:
    """Why Loki cannot be read for ``query``, in one sentence; None when it answers. Preflight asks for one
    entry of the last five minutes: Loki reachable, the query accepted, access granted (no entry is fine)."""
    probe = LokiFollowing(base_url, query, Batcher(None), timeout=timeout, limit=1)
    probe.cursor = probe.wall_ns() - PREFLIGHT_WINDOW_NS
    try:
        probe._page(probe.wall_ns())
    except SourceFailed as exc:
        return str(exc)
    finally:
        probe.close()
    return None

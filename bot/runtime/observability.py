"""Prometheus metrics (`GET /metrics`) and readiness (`GET /readyz`).

Facts are counted at the edges, one call per fact (``count_page``, ``observe_ack``...), into one registry
of this process. States (game days by state, faults still active) are not counted at all: they are read
from the database at each scrape, so every replica reports the same truth and a restart loses nothing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse
from sqlalchemy import Engine, text

from bot.gameday.ports import GameDayStore
from bot.gameday.state import Status, fold
from bot.runtime.kept_alive import KeptAliveWebClient

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()
for _collector in (ProcessCollector, PlatformCollector, GCCollector):
    _collector(registry=REGISTRY)

# Acknowledgements take seconds to an hour: fine steps below the usual 5m target, coarse above it.
ACK_BUCKETS = (5, 10, 15, 30, 45, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 2700, 3600)
# A timer fires a little late when the process is busy and very late after a restart.
LATENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)

PAGES_SENT = Counter(
    "sce_pages_sent", "Pages sent to responders, escalations included.", ["severity"], registry=REGISTRY
)
ACK_SECONDS = Histogram(
    "sce_acknowledgement_seconds",
    "Time from a page to its first acknowledgement (Slack timestamps).",
    buckets=ACK_BUCKETS,
    registry=REGISTRY,
)
FAILED_REVERTS = Counter("sce_fault_reverts_failed", "Fault reverts that failed.", registry=REGISTRY)
SLACK_ERRORS = Counter(
    "sce_slack_api_errors",
    "Slack Web API calls that failed, by method and error.",
    ["method", "error"],
    registry=REGISTRY,
)
SLACK_RETRIES = Counter(
    "sce_slack_api_retries",
    "Slack Web API calls retried, by method and reason.",
    ["method", "reason"],
    registry=REGISTRY,
)
SLACK_SKIPPED = Counter(
    "sce_slack_calls_skipped",
    "Best-effort Slack calls not made: beyond the workspace's budget for them, by method.",
    ["method"],
    registry=REGISTRY,
)
TIMER_LATENESS = Histogram(
    "sce_timer_lateness_seconds",
    "How long after its due time a timer fired.",
    buckets=LATENESS_BUCKETS,
    registry=REGISTRY,
)
TIMER_FAILURES = Counter(
    "sce_timer_failures",
    "Timer runs that failed and were put back for a retry, by kind.",
    ["kind"],
    registry=REGISTRY,
)
WEBHOOK_ALERTS = Counter(
    "sce_webhook_alerts",
    "Alerts received, by outcome (detection, unmatched, stop, repeat, ignored, rejected); a repeat is a"
    " re-notification or retried delivery of an alert already recorded, counted once as what it was.",
    ["outcome"],
    registry=REGISTRY,
)


def count_page(severity: str) -> None:
    PAGES_SENT.labels(severity=severity).inc()


def observe_ack(seconds: float) -> None:
    ACK_SECONDS.observe(max(0.0, seconds))


def count_failed_revert() -> None:
    FAILED_REVERTS.inc()


def count_slack_error(method: str, error: str) -> None:
    SLACK_ERRORS.labels(method=method, error=error).inc()


def count_slack_retry(method: str, reason: str) -> None:
    SLACK_RETRIES.labels(method=method, reason=reason).inc()


def count_skipped_call(method: str) -> None:
    SLACK_SKIPPED.labels(method=method).inc()


def observe_timer_lateness(seconds: float) -> None:
    TIMER_LATENESS.observe(max(0.0, seconds))


def count_timer_failure(kind: str) -> None:
    TIMER_FAILURES.labels(kind=kind).inc()


def count_webhook_alert(outcome: str) -> None:
    WEBHOOK_ALERTS.labels(outcome=outcome).inc()


GRAFANA_ANNOTATIONS = Counter(
    "sce_grafana_annotations",
    "Grafana annotations of game days, by outcome (written; found, already there on a retry; failed).",
    ["outcome"],
    registry=REGISTRY,
)


def count_grafana_annotation(outcome: str) -> None:
    GRAFANA_ANNOTATIONS.labels(outcome=outcome).inc()


@dataclass(frozen=True)
class Snapshot:
    """The states read at each scrape."""

    gamedays_by_state: Mapping[str, int] = field(default_factory=dict)
    active_faults: int = 0


def store_snapshot(store: GameDayStore) -> Snapshot:
    """Game days by state (the running ones folded from their timelines) and faults not yet reverted."""
    counts = {status.value: 0 for status in Status}
    active_ids: set[str] = set()
    faults = 0
    for record in store.active():
        state = fold(store.events(record.id))
        counts[state.status.value] += 1
        active_ids.add(record.id)
        faults += sum(1 for fault in state.faults.values() if fault.reverted_at is None)
    for record in store.all():
        if record.id not in active_ids and record.status in counts:
            counts[record.status] += 1
    return Snapshot(counts, faults)


class _SnapshotCollector:
    def __init__(self) -> None:
        self.source: Callable[[], Snapshot] | None = None

    def describe(self) -> list[Metric]:
        return [
            GaugeMetricFamily("sce_gamedays", "Game days by state.", labels=["state"]),
            GaugeMetricFamily("sce_active_faults", "Faults applied and not reverted yet."),
        ]

    def collect(self) -> Iterator[Metric]:
        if self.source is None:
            return
        try:
            snapshot = self.source()
        except Exception:  # a scrape while the database is away still serves the counters
            log.warning("could not read game-day states for /metrics", exc_info=True)
            return
        by_state = GaugeMetricFamily("sce_gamedays", "Game days by state.", labels=["state"])
        for state, count in sorted(snapshot.gamedays_by_state.items()):
            by_state.add_metric([state], count)
        yield by_state
        yield GaugeMetricFamily(
            "sce_active_faults", "Faults applied and not reverted yet.", value=snapshot.active_faults
        )


_SNAPSHOTS = _SnapshotCollector()
REGISTRY.register(_SNAPSHOTS)


def watch(snapshot: Callable[[], Snapshot]) -> None:
    """Read states from ``snapshot`` at every scrape (``lambda: store_snapshot(store)``); last call wins."""
    _SNAPSHOTS.source = snapshot


def metrics_wsgi() -> WSGIApplication:
    """The registry in the Prometheus text format (OpenMetrics when the scraper asks for it)."""
    app: WSGIApplication = make_wsgi_app(REGISTRY)
    return app


_probing: dict[int, threading.Event] = {}
_probing_lock = threading.Lock()


def database_ready(engine: Engine, timeout: float = 2.0) -> bool:
    """Whether ``SELECT 1`` succeeds within ``timeout`` seconds.

    The query runs in its own thread, so a database that drops packets cannot hold an HTTP worker; while
    one check is still hanging, the next answers False at once instead of starting another.
    """
    with _probing_lock:
        if id(engine) in _probing:
            return False
        done = _probing[id(engine)] = threading.Event()
    result: list[bool] = []

    def probe() -> None:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            result.append(True)
        except Exception as exc:
            log.warning("database not ready: %s", exc.__class__.__name__)
            result.append(False)
        finally:
            with _probing_lock:
                _probing.pop(id(engine), None)
            done.set()

    threading.Thread(target=probe, name="sce-readyz", daemon=True).start()
    return done.wait(timeout) and bool(result) and result[0]


def readiness(ready: Callable[[], bool], reason: str = "the database is unreachable") -> WSGIApplication:
    """`GET /readyz`: 200 when ``ready()``, else 503 with a sentence, so no traffic reaches this replica."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            ok = ready()
        except Exception:
            log.warning("readiness check failed", exc_info=True)
            ok = False
        payload = {"ready": True} if ok else {"ready": False, "reason": f"Not ready: {reason}."}
        body = json.dumps(payload).encode()
        status = "200 OK" if ok else "503 Service Unavailable"
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def slack_method(url: str) -> str:
    """``chat.postMessage`` from ``https://slack.com/api/chat.postMessage?...``."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "unknown"


class CountedRetries(RetryHandler):
    """One of the SDK's retry handlers, unchanged, with each retry it decides on counted."""

    def __init__(self, inner: RetryHandler):
        super().__init__(inner.max_retry_count, inner.interval_calculator)
        self.inner = inner

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return self.inner.can_retry(state=state, request=request, response=response, error=error)

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is not None:
            reason = "ratelimited" if response.status_code == 429 else f"http_{response.status_code}"
        else:
            reason = type(error).__name__ if error is not None else "unknown"
        count_slack_retry(slack_method(request.url), reason)
        self.inner.prepare_for_next_attempt(state=state, request=request, response=response, error=error)


class ObservedWebClient(KeptAliveWebClient):
    """The Web API client (on kept-alive connections) with every failed call counted by method and
    Slack's error code."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            count_slack_error(api_method, str(exc.response.get("error") or exc.response.status_code))
            raise
        except OSError as exc:  # connection refused, reset, timed out (urllib's errors are OSErrors)
            count_slack_error(api_method, type(exc).__name__)
            raise

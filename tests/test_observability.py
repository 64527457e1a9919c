"""/metrics in the Prometheus text format, /readyz against the database, and JSON logs without secrets."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.gameday.measuring.redaction import REDACTED
from bot.gameday.memory_store import MemoryStore
from bot.gameday.ports import GameDayRecord
from bot.gameday.timeline import Kind
from bot.runtime import observability as metrics
from bot.runtime.logs import configure_logging, gameday_context, gameday_logger
from storage.database import make_engine


def call(app: Any, path: str = "/") -> tuple[str, dict[str, str], bytes]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        answer.update(status=status, headers=dict(headers))

    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": ""}, start_response))
    return answer["status"], answer["headers"], body


def scraped(name: str, **labels: str) -> float:
    """The value of one sample in a fresh scrape of metrics_wsgi(), parsed by Prometheus' own parser."""
    status, headers, body = call(metrics.metrics_wsgi(), "/metrics")
    assert status == "200 OK" and headers["Content-Type"].startswith("text/plain")
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_an_acknowledgement_lands_in_the_histogram() -> None:
    count, under_2m = (
        scraped("sce_acknowledgement_seconds_count"),
        scraped("sce_acknowledgement_seconds_bucket", le="120.0"),
    )
    under_1m = scraped("sce_acknowledgement_seconds_bucket", le="60.0")
    metrics.observe_ack(90.0)
    assert scraped("sce_acknowledgement_seconds_count") == count + 1
    assert scraped("sce_acknowledgement_seconds_bucket", le="120.0") == under_2m + 1
    assert scraped("sce_acknowledgement_seconds_bucket", le="60.0") == under_1m
    assert scraped("sce_acknowledgement_seconds_bucket", le="3600.0") >= count + 1


@pytest.mark.parametrize(
    ("record", "sample", "labels"),
    [
        (lambda: metrics.count_page("SEV-2"), "sce_pages_sent_total", {"severity": "SEV-2"}),
        (metrics.count_failed_revert, "sce_fault_reverts_failed_total", {}),
        (
            lambda: metrics.count_slack_error("chat.update", "ratelimited"),
            "sce_slack_api_errors_total",
            {"method": "chat.update", "error": "ratelimited"},  # other tests of this process count others
        ),
        (
            lambda: metrics.count_slack_retry("chat.postMessage", "ratelimited"),
            "sce_slack_api_retries_total",
            {"method": "chat.postMessage", "reason": "ratelimited"},
        ),
        (lambda: metrics.observe_timer_lateness(0.3), "sce_timer_lateness_seconds_count", {}),
        (
            lambda: metrics.count_webhook_alert("detection"),
            "sce_webhook_alerts_total",
            {"outcome": "detection"},
        ),
    ],
)
def test_each_fact_is_one_call(record: Any, sample: str, labels: dict[str, str]) -> None:
    before = scraped(sample, **labels)
    record()
    assert scraped(sample, **labels) == before + 1


def test_states_are_read_from_the_store_at_each_scrape() -> None:
    store = MemoryStore()
    for gid, status in (("gd-1", "running"), ("gd-2", "running"), ("gd-3", "completed")):
        store.create(GameDayRecord(gid, "s", "", "h", "C1", "U1", {}, 1.0, status=status))
    with store.transaction("gd-1") as tx:
        tx.append(Kind.STARTED, 1.0)
        for fault in ("f0", "f1"):
            tx.append(
                Kind.FAULT_APPLIED,
                2.0,
                None,
                {"fault_id": fault, "step": 0, "type": "k8s.x", "expires_at": 9},
            )
        tx.append(Kind.FAULT_REVERTED, 3.0, None, {"fault_id": "f0"})
    with store.transaction("gd-2") as tx:
        tx.append(Kind.STARTED, 1.0)
        tx.append(Kind.PAUSED, 2.0)
    metrics.watch(lambda: metrics.store_snapshot(store))
    try:
        by_state = {
            s: scraped("sce_gamedays", state=s) for s in ("running", "paused", "completed", "aborted")
        }
        assert by_state == {"running": 1, "paused": 1, "completed": 1, "aborted": 0}
        assert scraped("sce_active_faults") == 1
        # a watcher that fails, on purpose:
        metrics.watch(lambda: 1 / 0)  # type: ignore[arg-type, return-value]
        assert scraped("sce_pages_sent_total") >= 0  # the database away: the counters are still served
    finally:
        metrics.watch(lambda: metrics.Snapshot())


class SlackApi(BaseHTTPRequestHandler):
    """chat.postMessage that first answers 429, then channel_not_found."""

    calls = 0

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).calls += 1
        first = type(self).calls == 1
        body = json.dumps({"ok": False, "error": "ratelimited" if first else "channel_not_found"}).encode()
        self.send_response(429 if first else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_slack_retries_and_errors_are_counted_by_method() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlackApi)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        client = metrics.ObservedWebClient(
            token="xoxb-1", base_url=f"http://127.0.0.1:{server.server_port}/api/"
        )
        client.retry_handlers = [metrics.CountedRetries(RateLimitErrorRetryHandler(max_retry_count=2))]
        method = {"method": "chat.postMessage"}
        retries = scraped("sce_slack_api_retries_total", **method, reason="ratelimited")
        errors = scraped("sce_slack_api_errors_total", **method, error="channel_not_found")
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="C404", text="x")
        assert scraped("sce_slack_api_retries_total", **method, reason="ratelimited") == retries + 1
        assert scraped("sce_slack_api_errors_total", **method, error="channel_not_found") == errors + 1
    finally:
        server.shutdown()
        server.server_close()


def test_database_ready_on_a_sqlite_file_and_not_on_an_unreachable_database(tmp_path: Path) -> None:
    assert metrics.database_ready(make_engine(f"sqlite:///{tmp_path / 'sce.db'}"))
    assert not metrics.database_ready(make_engine(f"sqlite:///{tmp_path / 'missing' / 'sce.db'}"))
    assert not metrics.database_ready(make_engine("postgresql://sce:pw@127.0.0.1:1/sce"))


class HangingEngine:
    """A database that never answers: the connection attempt blocks until released."""

    def __init__(self) -> None:
        self.release, self.attempts = threading.Event(), 0

    def connect(self) -> Any:
        self.attempts += 1
        self.release.wait(10)
        raise OSError("timed out")


def test_a_hanging_database_is_not_ready_and_holds_one_thread_at_most() -> None:
    engine = HangingEngine()
    try:
        # HangingEngine stands in for an Engine:
        assert not metrics.database_ready(engine, timeout=0.1)  # type: ignore[arg-type]
        # HangingEngine stands in for an Engine:
        assert not metrics.database_ready(engine, timeout=0.1)  # type: ignore[arg-type]
        assert engine.attempts == 1
    finally:
        engine.release.set()


def test_readyz_says_why_it_is_not_ready() -> None:
    assert call(metrics.readiness(lambda: True), "/readyz")[0] == "200 OK"
    status, headers, body = call(metrics.readiness(lambda: False), "/readyz")
    assert status == "503 Service Unavailable" and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"ready": False, "reason": "Not ready: the database is unreachable."}


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield io.StringIO()
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_json_log_lines_carry_the_gameday_id(log_output: io.StringIO) -> None:
    configure_logging(json=True, stream=log_output)
    log = logging.getLogger("sce.test")
    with gameday_context("gd-ctx00001"):
        log.info("page %s sent", "p0")
    gameday_logger(log, "gd-adapter1").warning("escalated", extra={"page_id": "p2"})
    log.info("no game day here")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", extra={"gameday_id": "gd-extra001"})
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    lines = [x for x in lines if x["logger"] == "sce.test"]  # other tests' threads may still be logging
    assert [(x["level"], x["logger"], x["message"], x.get("gameday_id")) for x in lines] == [
        ("INFO", "sce.test", "page p0 sent", "gd-ctx00001"),
        ("WARNING", "sce.test", "escalated", "gd-adapter1"),
        ("INFO", "sce.test", "no game day here", None),
        ("ERROR", "sce.test", "failed", "gd-extra001"),
    ]
    assert lines[1]["page_id"] == "p2" and "ValueError: boom" in lines[3]["exception"]
    assert all(x["time"].endswith("+00:00") and "T" in x["time"] for x in lines)


def test_text_logs_name_the_gameday_too(log_output: io.StringIO) -> None:
    configure_logging(json=False, stream=log_output)
    with gameday_context("gd-text0001"):
        logging.getLogger("sce.test").info("hello")
    assert log_output.getvalue().rstrip().endswith("sce.test hello [gd-text0001]")


SECRETS = {
    "bot": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "app": "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef",
    "user": "xoxp-123456789012-123456789012-1234567890123-0123456789abcdef",
    "signing": "8f742231b10e8888abcd99yyyzzz85a5",
    "webhook": "hook-secret-that-is-long",
    "routing": "R0123456789abcdef0123456789abcde",
    "api": "u+pd-api-token-0123",
    "password": "s3cr3t-db-pass",
}


def test_secrets_never_reach_the_log(log_output: io.StringIO) -> None:
    known = [SECRETS[k] for k in ("signing", "webhook", "routing", "api")]
    configure_logging(json=True, secrets=known, stream=log_output)
    log = logging.getLogger("sce.test")
    log.info("token %s and app token %s", SECRETS["bot"], SECRETS["app"])
    log.info("user token in a message: " + SECRETS["user"])
    log.warning("signature checked with %s; webhook %s", SECRETS["signing"], SECRETS["webhook"])
    log.info("event %s", json.dumps({"routing_key": SECRETS["routing"], "event_action": "trigger"}))
    log.info("GET /oncalls Authorization: Token token=%s", SECRETS["api"])
    log.info("Authorization: Bearer %s", SECRETS["webhook"])
    log.info("connecting to postgresql://sce:%s@db:5432/sce", SECRETS["password"])
    log.info("extra", extra={"header": f"Bearer {SECRETS['bot']}"})
    try:
        raise RuntimeError(f"invalid_auth for {SECRETS['bot']}")
    except RuntimeError:
        log.exception("slack refused")
    output = log_output.getvalue()
    leaked = [name for name, value in SECRETS.items() if value in output]
    assert not leaked, output
    assert "xoxb-" + REDACTED in output and "xapp-" + REDACTED in output
    assert "postgresql://[redacted]@db:5432/sce" in output
    assert all(json.loads(line) for line in output.splitlines())

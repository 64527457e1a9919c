"""The alert webhooks over real HTTP: authentication, limits, and what reaches on_alert."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from waitress import wasyncore
from waitress.server import create_server

from bot.gameday.clock import VirtualClock
from bot.gameday.measuring.alerts import Alert
from bot.integrations.hooks import MAX_BODY_BYTES, hooks_app, signature

SECRET = "s3cret-for-tests"
NOW = 1_800_000_000  # 2027-01-15T08:00:00Z, the server's clock
AM = "/hooks/alertmanager"
SIMPLE = "/hooks/alert"


def am_payload(starts_at: str = "2027-01-15T09:59:30.25+02:00") -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DNSBeacon"}',
        "status": "firing",
        "receiver": "sce",
        "groupLabels": {"alertname": "DNSBeacon"},
        "commonLabels": {"alertname": "DNSBeacon"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "DNSBeacon", "query": "sce-gd-1a2b3c4d.sink.example"},
                "annotations": {"summary": "beacon"},
                "startsAt": starts_at,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": "c0ffee",
            }
        ],
    }


def signed_headers(body: bytes, timestamp: int = NOW, secret: str = SECRET) -> dict[str, str]:
    """Signed as the docstring of bot.integrations.hooks says, computed here independently of it."""
    digest = hmac.new(secret.encode(), f"v1:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-SCE-Timestamp": str(timestamp),
        "X-SCE-Signature": f"sha256={digest}",
        "Content-Type": "application/json",
    }


class Hooks:
    """hooks_app served by waitress on a free local port, recording what reaches on_alert."""

    def __init__(self, secret: str | None, on_alert: Callable[[Alert], list[str]] | None = None):
        self.received: list[Alert] = []
        self.clock = VirtualClock(start=NOW)
        self._on_alert = on_alert
        app = hooks_app(self.on_alert, secret, self.clock.now)
        self._map: dict[int, Any] = {}
        self._server = create_server(
            app, map=self._map, host="127.0.0.1", port=0, threads=2, ident="hooks-test"
        )
        self.url = f"http://127.0.0.1:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()

    def on_alert(self, alert: Alert) -> list[str]:
        if self._on_alert is not None:
            return self._on_alert(alert)
        self.received.append(alert)
        return [f"recorded {alert.name}"]

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(self.url + path, data=body, headers=headers, timeout=10)

    def stop(self) -> None:
        """Close every socket from inside waitress's own loop, which then ends with an empty map."""
        with contextlib.suppress(OSError):  # the loop already closed its trigger: nothing left to wake
            self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._map))
        self._thread.join(timeout=5)
        self._server.task_dispatcher.shutdown()


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    served = Hooks(SECRET)
    yield served
    served.stop()


def test_a_signed_alertmanager_notification_reaches_on_alert_with_its_own_time(hooks: Hooks) -> None:
    body = json.dumps(am_payload()).encode()
    response = hooks.post(AM, body, signed_headers(body))
    assert response.status_code == 200
    assert response.json() == {"ok": True, "results": ["recorded DNSBeacon"]}
    [alert] = hooks.received
    assert alert.starts_at == NOW - 30 + 0.25  # 09:59:30.25+02:00 is 07:59:30.25Z, NOW is 08:00:00Z
    assert alert.fingerprint == "c0ffee"
    assert alert.labels["query"] == "sce-gd-1a2b3c4d.sink.example"


def test_the_signature_helper_matches_the_documented_scheme() -> None:
    body = b'{"name": "x"}'
    assert signature(SECRET, str(NOW), body) == signed_headers(body)["X-SCE-Signature"]


def test_a_signed_simple_alert_without_at_is_timed_by_the_servers_clock(hooks: Hooks) -> None:
    hooks.clock.advance(12.5)
    body = json.dumps({"name": "Honey-token used", "text": "sce-gd-1a2b3c4d", "id": "evt-1"}).encode()
    response = hooks.post(SIMPLE, body, signed_headers(body, timestamp=NOW + 12))
    assert response.status_code == 200, response.text
    [alert] = hooks.received
    assert (alert.source, alert.starts_at, alert.fingerprint) == ("webhook", NOW + 12.5, "evt-1")


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        (lambda body: signed_headers(body, secret="not-the-secret"), "X-SCE-Signature does not match"),
        (lambda body: signed_headers(body + b" "), "X-SCE-Signature does not match"),
        (lambda body: signed_headers(body, timestamp=NOW - 301), "more than 5 minutes"),
        (lambda body: signed_headers(body, timestamp=NOW + 301), "more than 5 minutes"),
        (lambda body: {**signed_headers(body), "X-SCE-Timestamp": "soon"}, "whole Unix seconds"),
        (lambda body: {"Content-Type": "application/json"}, "needs X-SCE-Timestamp"),
        (lambda body: {"Authorization": "Bearer not-the-secret"}, "bearer token is not"),
        (lambda body: {"Authorization": f"Basic {SECRET}"}, "bearer token is not"),
    ],
)
def test_bad_authentication_is_refused_before_anything_is_read(
    hooks: Hooks, headers: Callable[[bytes], dict[str, str]], needle: str
) -> None:
    body = json.dumps(am_payload()).encode()
    response = hooks.post(AM, body, headers(body))
    assert response.status_code == 401
    assert response.json()["ok"] is False
    assert needle in response.json()["error"]
    assert "WWW-Authenticate" in response.headers
    assert hooks.received == []


def test_without_a_secret_the_webhooks_are_off() -> None:
    served = Hooks(None)
    try:
        body = json.dumps(am_payload()).encode()
        response = served.post(AM, body, signed_headers(body))
        assert response.status_code == 503
        assert "set SCE_ALERT_WEBHOOK_SECRET" in response.json()["error"]
        assert served.received == []
    finally:
        served.stop()


def test_alertmanager_may_send_the_secret_as_a_bearer_token(hooks: Hooks) -> None:
    body = json.dumps(am_payload()).encode()
    response = hooks.post(AM, body, {"Authorization": f"Bearer {SECRET}"})
    assert response.status_code == 200, response.text
    assert [a.name for a in hooks.received] == ["DNSBeacon"]


def test_the_simple_webhook_does_not_take_a_bearer_token(hooks: Hooks) -> None:
    body = json.dumps({"name": "x"}).encode()
    response = hooks.post(SIMPLE, body, {"Authorization": f"Bearer {SECRET}"})
    assert response.status_code == 401
    assert hooks.received == []


def test_a_body_over_one_mebibyte_is_refused(hooks: Hooks) -> None:
    body = b'{"name": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = hooks.post(SIMPLE, body, signed_headers(body))
    assert response.status_code == 413
    assert "at most 1 MiB" in response.json()["error"]
    assert hooks.received == []


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        (AM, b"{not json", "not JSON"),
        (AM, b"\xff\xfe", "not JSON"),
        (AM, b"[" * 100_000, "not JSON"),
        (AM, b"", "not JSON"),
        (AM, json.dumps(am_payload(starts_at="yesterday")).encode(), "alerts[0].startsAt is not an RFC 3339"),
        (SIMPLE, b'{"name": "x", "at": NaN}', "at must be a finite"),
        (SIMPLE, b'{"nam": "x"}', "nam is not a field of an alert"),
    ],
)
def test_a_malformed_payload_gets_400_with_the_sentence(
    hooks: Hooks, path: str, body: bytes, needle: str
) -> None:
    response = hooks.post(path, body, signed_headers(body))
    assert response.status_code == 400
    assert needle in response.json()["error"]
    assert "Traceback" not in response.text
    assert hooks.received == []


def test_a_failure_in_on_alert_is_a_500_sentence_not_a_traceback() -> None:
    def broken(alert: Alert) -> list[str]:
        raise RuntimeError("database is down")

    served = Hooks(SECRET, on_alert=broken)
    try:
        body = json.dumps(am_payload()).encode()
        response = served.post(AM, body, signed_headers(body))
        assert response.status_code == 500
        assert response.json() == {
            "ok": False,
            "error": "The alert arrived but could not be processed; see the bot's log.",
        }
    finally:
        served.stop()


def test_other_methods_and_paths_are_refused(hooks: Hooks) -> None:
    assert requests.get(hooks.url + AM, timeout=10).status_code == 405
    assert requests.post(hooks.url + "/hooks/grafana", data=b"{}", timeout=10).status_code == 404

"""PagerDuty against a local server that checks the Events API v2 request format and fakes /oncalls."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.integrations.pagerduty import OnCall, OnCallSchedule, PagerDuty, PagerDutyError, pagerduty_severity

ROUTING_KEY = "R0123456789abcdef0123456789abcde"  # integration keys are 32 characters
SCENARIO_KEY = "S0123456789abcdef0123456789abcde"
API_TOKEN = "u+pd-test-token-0123"
EVENT_KEYS = {
    "routing_key",
    "event_action",
    "dedup_key",
    "payload",
    "images",
    "links",
    "client",
    "client_url",
}
PAYLOAD_KEYS = {"summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"}


def _ts(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def event_problems(headers: Any, body: bytes) -> list[str]:
    """What PagerDuty would refuse in an Events API v2 request, one sentence each."""
    if not (headers.get("Content-Type") or "").startswith("application/json"):
        return [f"Content-Type is {headers.get('Content-Type')!r}, not application/json"]
    try:
        event = json.loads(body)
    except ValueError:
        return ["the body is not JSON"]
    if not isinstance(event, dict):
        return ["the body is not a JSON object"]
    problems = [f"unknown field {key}" for key in sorted(set(event) - EVENT_KEYS)]
    if not (isinstance(event.get("routing_key"), str) and len(event["routing_key"]) == 32):
        problems.append("routing_key must be a 32-character integration key")
    action = event.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        problems.append(f"event_action {action!r} is not trigger, acknowledge or resolve")
    key = event.get("dedup_key")
    if (action != "trigger" or key is not None) and not (isinstance(key, str) and 0 < len(key) <= 255):
        problems.append("dedup_key must be a string of 1 to 255 characters")
    for link in event.get("links", []):
        if not (isinstance(link, dict) and isinstance(link.get("href"), str)):
            problems.append("each link needs an href")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            return [*problems, "a trigger needs a payload"]
        problems += [f"unknown payload field {key}" for key in sorted(set(payload) - PAYLOAD_KEYS)]
        if not (isinstance(payload.get("summary"), str) and 0 < len(payload["summary"]) <= 1024):
            problems.append("payload.summary must be 1 to 1024 characters")
        if not (isinstance(payload.get("source"), str) and payload["source"]):
            problems.append("payload.source is required")
        if payload.get("severity") not in ("critical", "error", "warning", "info"):
            problems.append(f"payload.severity {payload.get('severity')!r} is not one of the four")
        if "timestamp" in payload:
            _ts(payload["timestamp"])
        if not isinstance(payload.get("custom_details", {}), dict):
            problems.append("payload.custom_details must be an object")
    elif "payload" in event:
        problems.append(f"a {action} carries no payload")
    return problems


class FakePagerDuty:
    """Events API v2 at /v2/enqueue and the REST API's /oncalls, on 127.0.0.1; records what it accepted."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.attempts = 0
        self.problems: list[str] = []
        self.fail_next: list[tuple[int, dict[str, str]]] = []  # (status, headers) answered before accepting
        self.oncalls: list[dict[str, Any]] = []
        self.oncall_queries: list[dict[str, list[str]]] = []
        self.page_size = 2
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v2/enqueue":
                    return self.reply(404, {"status": "not found"})
                with lock:
                    fake.attempts += 1
                    if fake.fail_next:
                        status, headers = fake.fail_next.pop(0)
                        return self.reply(status, {"status": "try again"}, headers)
                    problems = event_problems(self.headers, body)
                    if problems:
                        fake.problems += problems
                        return self.reply(
                            400,
                            {
                                "status": "invalid event",
                                "message": "Event object is invalid",
                                "errors": problems,
                            },
                        )
                    event = json.loads(body)
                    fake.events.append(event)
                key = event.get("dedup_key") or f"generated-{len(fake.events)}"
                self.reply(202, {"status": "success", "message": "Event processed", "dedup_key": key})

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/oncalls":
                    return self.reply(404, {"error": {"message": "Not Found"}})
                if self.headers.get("Authorization") != f"Token token={API_TOKEN}":
                    return self.reply(401, {"error": {"message": "Unauthorized", "code": 2006}})
                query = parse_qs(url.query)
                fake.oncall_queries.append(query)
                since, until = _ts(query["since"][0]), _ts(query["until"][0])
                wanted = set(query.get("schedule_ids[]", []))
                found = [
                    e
                    for e in fake.oncalls
                    if e["schedule"]["id"] in wanted and _ts(e["start"]) < until and _ts(e["end"]) > since
                ]
                offset = int(query.get("offset", ["0"])[0])
                limit = min(int(query.get("limit", ["25"])[0]), fake.page_size)
                chunk = found[offset : offset + limit]
                if "users" not in query.get("include[]", []):
                    chunk = [{**e, "user": {"id": e["user"]["id"], "type": "user_reference"}} for e in chunk]
                more = offset + limit < len(found)
                self.reply(200, {"oncalls": chunk, "limit": limit, "offset": offset, "more": more})

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["event_action"] == action]


@pytest.fixture
def fake() -> Iterator[FakePagerDuty]:
    server = FakePagerDuty()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def client(fake: FakePagerDuty, sleeps: list[float] | None = None, **options: Any) -> PagerDuty:
    sleep = sleeps.append if sleeps is not None else (lambda _: None)
    return PagerDuty(f"{fake.url}/v2/enqueue", ROUTING_KEY, sleep=sleep, **options)


def test_one_trigger_per_page_and_one_resolve_per_page_at_the_end(fake: FakePagerDuty) -> None:
    pd = client(fake)
    pages = {"p0": ("SEV-2", "impossible-travel login on svc-payments"), "p2": ("SEV-3", "token reuse")}
    keys = [
        pd.trigger(
            page_id,
            "gd-pd000001",
            summary,
            severity,
            "sce/pager-stress",
            links=[("Runbook", "https://runbooks.example/travel")],
            at=1_800_000_000.0,
            thread_url="https://slack.example/archives/C1/p1800000000000100",
        )
        for page_id, (severity, summary) in pages.items()
    ]
    assert pd.resolve_pages("gd-pd000001", pages) == keys

    assert fake.problems == []
    triggers, resolves = fake.actions("trigger"), fake.actions("resolve")
    assert [t["dedup_key"] for t in triggers] == keys == ["sce-gd-pd000001-p0", "sce-gd-pd000001-p2"]
    assert [r["dedup_key"] for r in resolves] == keys
    assert fake.events[: len(triggers)] == triggers  # every resolve comes after every trigger
    first = triggers[0]
    assert first["routing_key"] == ROUTING_KEY
    assert first["payload"]["summary"] == "[GAME DAY] impossible-travel login on svc-payments"
    assert first["payload"]["severity"] == "error" and triggers[1]["payload"]["severity"] == "warning"
    assert first["payload"]["source"] == "sce/pager-stress"
    assert first["payload"]["timestamp"] == "2027-01-15T08:00:00Z"
    assert first["payload"]["custom_details"]["gameday_id"] == "gd-pd000001"
    assert first["links"] == [{"href": "https://runbooks.example/travel", "text": "Runbook"}]
    assert first["client_url"] == "https://slack.example/archives/C1/p1800000000000100"
    assert resolves[0] == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": keys[0]}


def test_a_page_replayed_after_a_crash_keeps_its_dedup_key(fake: FakePagerDuty) -> None:
    pd = client(fake)
    again = [pd.trigger("p0", "gd-pd000002", "[GAME DAY] x", "SEV-1", "sce") for _ in range(2)]
    assert again == ["sce-gd-pd000002-p0"] * 2
    assert fake.events[0]["payload"]["summary"] == "[GAME DAY] x"  # not prefixed twice


def test_the_scenario_routing_key_wins_over_the_configured_one(fake: FakePagerDuty) -> None:
    pd = client(fake)
    key = pd.trigger("p0", "gd-pd000003", "s", "SEV-2", "sce", routing_key=SCENARIO_KEY)
    pd.resolve(key, routing_key=SCENARIO_KEY)
    assert {e["routing_key"] for e in fake.events} == {SCENARIO_KEY}


def test_no_routing_key_at_all_is_a_sentence_not_a_request(fake: FakePagerDuty) -> None:
    pd = PagerDuty(f"{fake.url}/v2/enqueue", None)
    with pytest.raises(PagerDutyError, match="PAGERDUTY_ROUTING_KEY"):
        pd.trigger("p0", "gd-pd000004", "s", "SEV-2", "sce")
    assert fake.attempts == 0


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("SEV-1", "critical"), ("SEV-2", "error"), ("SEV-3", "warning"), ("SEV-4", "info"), ("sev2", "error")]
    + [("SEV 3", "warning"), ("warning", "warning"), ("P9", "error")],
)
def test_severities_map_to_pagerdutys_four(ours: str, theirs: str) -> None:
    assert pagerduty_severity(ours) == theirs


def test_429_and_5xx_are_retried_honouring_retry_after(fake: FakePagerDuty) -> None:
    sleeps: list[float] = []
    fake.fail_next = [(429, {"Retry-After": "7"}), (503, {})]
    key = client(fake, sleeps).trigger("p0", "gd-pd000005", "s", "SEV-2", "sce")
    assert key == "sce-gd-pd000005-p0"
    assert fake.attempts == 3 and sleeps == [7.0, 2.0] and len(fake.events) == 1


def test_it_gives_up_after_its_attempts(fake: FakePagerDuty) -> None:
    fake.fail_next = [(500, {})] * 4
    with pytest.raises(PagerDutyError, match="answered 500, 4 times"):
        client(fake).trigger("p0", "gd-pd000006", "s", "SEV-2", "sce")
    assert fake.attempts == 4 and fake.events == []


def test_a_refused_event_is_not_retried(fake: FakePagerDuty) -> None:
    pd = PagerDuty(f"{fake.url}/v2/enqueue", "too-short", sleep=lambda _: None)
    with pytest.raises(PagerDutyError, match="Event object is invalid.*32-character"):
        pd.trigger("p0", "gd-pd000007", "s", "SEV-2", "sce")
    assert fake.attempts == 1


def test_one_failed_resolve_does_not_keep_the_others_open(fake: FakePagerDuty) -> None:
    pd = client(fake, attempts=1)
    fake.fail_next = [(502, {})]
    with pytest.raises(PagerDutyError, match="left open: sce-gd-pd000008-p0"):
        pd.resolve_pages("gd-pd000008", ["p0", "p1"])
    assert [e["dedup_key"] for e in fake.actions("resolve")] == ["sce-gd-pd000008-p1"]


def shift(
    user: str, email: str | None, start: str, end: str, schedule: str = "PSCHED1", level: int = 1
) -> dict[str, Any]:
    person = {"id": user, "type": "user", "summary": user, **({"email": email} if email else {})}
    return {
        "escalation_policy": {"id": "PPOLICY", "type": "escalation_policy_reference"},
        "escalation_level": level,
        "schedule": {"id": schedule, "type": "schedule_reference"},
        "user": person,
        "start": start,
        "end": end,
    }


@pytest.fixture
def rotation(fake: FakePagerDuty) -> FakePagerDuty:
    fake.oncalls = [
        shift("PALICE", "alice@example.com", "2026-01-05T09:00:00Z", "2026-01-12T09:00:00Z"),
        shift("PALICE", "alice@example.com", "2026-01-05T09:00:00Z", "2026-01-12T09:00:00Z", level=2),
        shift("PCAROL", "carol@example.com", "2026-01-05T09:00:00Z", "2026-01-12T09:00:00Z", "POTHER"),
        shift("PBOB", None, "2026-01-12T09:00:00Z", "2026-01-19T09:00:00Z"),
        shift("PALICE", "alice@example.com", "2026-01-19T09:00:00Z", "2026-01-26T09:00:00Z"),
    ]
    return fake


def test_on_call_is_the_shift_now_and_the_next_different_person(rotation: FakePagerDuty) -> None:
    at = _ts("2026-01-08T12:00:00Z")
    schedule = OnCallSchedule(rotation.url, API_TOKEN, sleep=lambda _: None)
    assert schedule.on_call("PSCHED1", at) == OnCall("alice@example.com", "PBOB")  # bob has no email
    query = rotation.oncall_queries[0]
    assert query["schedule_ids[]"] == ["PSCHED1"] and query["include[]"] == ["users"]
    assert query["since"] == ["2026-01-08T12:00:00Z"] and query["until"] == ["2026-01-22T12:00:00Z"]
    assert [q["offset"] for q in rotation.oncall_queries] == [["0"], ["2"]]  # four entries, two a page


def test_on_call_across_a_handover(rotation: FakePagerDuty) -> None:
    schedule = OnCallSchedule(rotation.url, API_TOKEN, sleep=lambda _: None)
    assert schedule.on_call("PSCHED1", _ts("2026-01-12T09:00:00Z")) == OnCall("PBOB", "alice@example.com")
    assert schedule.on_call("PSCHED1", _ts("2026-02-20T00:00:00Z")) == OnCall(None, None)


def test_a_wrong_api_token_names_the_variable(rotation: FakePagerDuty) -> None:
    schedule = OnCallSchedule(rotation.url, "wrong", sleep=lambda _: None)
    with pytest.raises(PagerDutyError, match="HTTP 401: check PAGERDUTY_API_TOKEN"):
        schedule.on_call("PSCHED1", _ts("2026-01-08T12:00:00Z"))


def test_a_credential_in_a_page_summary_or_runbook_link_never_reaches_pagerduty(fake: FakePagerDuty) -> None:
    pd = client(fake)
    pd.trigger(
        "p0",
        "gd-pd000009",
        "token reuse seen at https://ops:hunter2-hunter2@intranet.example/login",
        "SEV-2",
        "sce/t",
        links=[("Runbook", "https://runbooks.example/r?token=abcdef0123456789abcdef")],
    )
    (event,) = fake.actions("trigger")
    sent = json.dumps(event)
    assert "hunter2" not in sent and "abcdef0123456789abcdef" not in sent
    assert event["payload"]["summary"].startswith("[GAME DAY] token reuse seen at https://")
    assert "intranet.example/login" in event["payload"]["summary"]
    assert event["links"][0]["href"].startswith("https://runbooks.example/r?token=")

"""The Grafana client's bounds, the scenario's `dashboards:` field, the settings, and which annotations a
timeline asks for (the edge cases the end-to-end test in test_grafana_annotations.py does not reach)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from grafana_server import LocalGrafana

from bot.config import Settings
from bot.gameday.measuring.annotations import MAX_TRIES, pending, wanted
from bot.gameday.scenario.loading import ScenarioError, parse_scenario
from bot.gameday.timeline import Event, Kind
from bot.integrations.grafana import MAX_ANSWER_BYTES, Grafana, GrafanaError

TOKEN = "glsa_client-Token-abcdef0123456789"


class Canned:
    """An HTTP server that answers every request with one canned answer, and counts what it got."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None):
        self.hits = 0
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                canned.hits += 1
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[Canned]:
    server = Canned(200, b'{"id": 99, "message": "Annotation added"}')
    yield server
    server.stop()


def test_a_redirect_is_not_followed_so_the_token_never_travels_to_another_host(elsewhere: Canned) -> None:
    for status in (301, 302, 307, 308):
        redirecting = Canned(status, b"", {"Location": f"{elsewhere.url}/api/annotations"})
        try:
            with pytest.raises(GrafanaError) as caught:
                Grafana(redirecting.url, TOKEN).create_annotation({"text": "x"})
        finally:
            redirecting.stop()
        assert str(caught.value).startswith(f"Grafana answered {status}, a redirect, which is not followed")
    assert elsewhere.hits == 0


@pytest.mark.parametrize(
    ("status", "body", "sentence"),
    [
        (
            200,
            b"x" * (MAX_ANSWER_BYTES + 1),
            "Grafana answered with more than 64 KiB; that is not its annotations API",
        ),
        (200, b"<html>login</html>", "Grafana answered 200 with something that is not JSON"),
        (
            200,
            b'{"message": "no id"}',
            "Grafana took the annotation but its answer has no id (not its API's answer)",
        ),
        (
            403,
            b'{"message": "Permission denied"}',
            "Grafana's token may not write annotations (403): give it the Editor role",
        ),
        (
            400,
            f'{{"message": "bad token {TOKEN}\\n<b>x</b>"}}'.encode(),
            "Grafana answered 400: bad token [token] <b>x</b>",
        ),
        (502, b"", "Grafana answered 502: no message"),
    ],
)
def test_every_bad_answer_is_one_sentence_without_the_token(status: int, body: bytes, sentence: str) -> None:
    server = Canned(status, body)
    try:
        with pytest.raises(GrafanaError) as caught:
            Grafana(server.url, TOKEN).create_annotation({"text": "x"})
    finally:
        server.stop()
    assert str(caught.value) == sentence and TOKEN not in str(caught.value)


def test_credentials_written_into_the_url_are_never_shown() -> None:
    grafana = Grafana("http://admin:hunter2@127.0.0.1:9/grafana/", TOKEN, timeout=0.5)
    with pytest.raises(GrafanaError) as caught:
        grafana.create_annotation({"text": "x"})
    assert str(caught.value) == (
        "cannot reach Grafana at http://127.0.0.1:9/grafana: the connection was refused or dropped"
    )
    assert not caught.value.reachable and "hunter2" not in repr(grafana) and TOKEN not in repr(grafana)


def test_the_local_grafana_refuses_a_body_its_document_refuses() -> None:
    grafana = LocalGrafana(TOKEN).start()
    try:
        client = Grafana(grafana.url, TOKEN)
        for body in ({"time": 1}, {"text": 5}, {"text": "x", "time": "soon"}, {"text": "x", "when": 1}):
            with pytest.raises(GrafanaError, match="Grafana answered 400: bad request data"):
                client.create_annotation(body)
        assert client.create_annotation({"text": "ok", "tags": ["a", "b"], "time": 1, "timeEnd": 2}) == 1
        assert client.find_annotation(["a", "b"]) == 1 and client.find_annotation(["a", "c"]) is None
        assert len(grafana.refused) == 4 and len(grafana.annotations) == 1
    finally:
        grafana.stop()


def test_the_settings_read_grafana_and_never_show_its_token() -> None:
    settings = Settings.from_env({"SCE_GRAFANA_URL": "https://grafana.example", "SCE_GRAFANA_TOKEN": TOKEN})
    assert (settings.grafana_url, settings.grafana_token) == ("https://grafana.example", TOKEN)
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)
    assert Settings.from_env({}).grafana_url is None


SCENARIO = """id: dash
title: Dashboards
charter: {{objective: o, hypothesis: h}}
dashboards:
{dashboards}
steps:
  - {{at: 0s, say: hi}}
"""


@pytest.mark.parametrize(
    ("dashboards", "problem"),
    [
        ('  - {title: a, uid: "../../admin"}', "dash.yaml:5: dashboards[0].uid: String should match pattern"),
        (
            '  - {title: a, uid: "x?from=0&to=now"}',
            "dash.yaml:5: dashboards[0].uid: String should match pattern",
        ),
        (
            '  - {title: a, uid: "javascript:alert(1)"}',
            "dash.yaml:5: dashboards[0].uid: String should match pattern",
        ),
        (
            "  - {title: a, uid: " + "u" * 41 + "}",
            "dash.yaml:5: dashboards[0].uid: String should match pattern",
        ),
        ("  - {title: a}", "dash.yaml:5: dashboards[0].uid: "),
        ('  - {title: "", uid: ok}', "dash.yaml:5: dashboards[0].title: "),
        ('  - {title: "two\\nlines", uid: ok}', "dash.yaml:5: dashboards[0].title: "),
        ("  - {title: a, uid: ok, url: 'https://evil.example'}", "dash.yaml:5: dashboards[0].url: "),
        (
            "\n".join(f"  - {{title: d{n}, uid: d{n}}}" for n in range(9)),
            "dash.yaml:13: dashboards[8]: is dashboard 9 of 9",
        ),
        ("  https://grafana.example/d/x", "dash.yaml:5: dashboards: "),
    ],
)
def test_a_bad_dashboards_field_is_one_sentence_naming_file_line_and_field(
    dashboards: str, problem: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(SCENARIO.format(dashboards=dashboards), "dash.yaml")
    message = str(caught.value)
    assert message.startswith(problem), message
    assert "\n" not in message.strip() and "Traceback" not in message


def test_good_dashboards_load() -> None:
    scenario = parse_scenario(
        SCENARIO.format(dashboards="  - {title: Checkout, uid: checkout_1-A}"), "dash.yaml"
    )
    assert [(d.title, d.uid) for d in scenario.dashboards] == [("Checkout", "checkout_1-A")]


def event(seq: int, what: Kind, at: float, **data: Any) -> Event:
    return Event(seq, what, at, "U1", data)


def test_a_fault_whose_revert_failed_is_a_region_to_the_end_and_given_up_after_its_tries() -> None:
    events = [
        event(1, Kind.STARTED, 100.0),
        event(2, Kind.FAULT_APPLIED, 101.5, fault_id="f0"),
        event(3, Kind.FAULT_APPLIED, 102.0, fault_id="f1"),
        event(4, Kind.FAULT_REVERTED, 110.25, fault_id="f1"),
        event(5, Kind.FAULT_REVERT_FAILED, 120.0, fault_id="f0", error="boom"),
    ]
    assert [(a.key, a.time_ms, a.time_end_ms) for a in wanted(events)] == [("fault:f1", 102000, 110250)]
    events.append(event(6, Kind.ENDED, 130.0, status="completed"))
    assert [(a.key, a.time_ms, a.time_end_ms) for a in wanted(events)] == [
        ("fault:f1", 102000, 110250),
        ("fault:f0", 101500, 130000),
    ]
    events.append(event(7, Kind.ANNOTATED, 131.0, key="fault:f1", kind="inject", id=1))
    events += [
        event(8 + n, Kind.ANNOTATION_FAILED, 132.0 + n, key="fault:f0", error="x") for n in range(MAX_TRIES)
    ]
    assert pending(events) == []  # one written, the other given up after its tries: nothing is asked again

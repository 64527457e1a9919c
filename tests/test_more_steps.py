"""The logs, http, sbom and webhook steps on the core (virtual clock), the HTTP ones against a real server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from core_harness import CoreHarness

from bot.gameday.scenario.attachments import with_attachments
from bot.gameday.scenario.loading import ScenarioError, load_scenario_file, parse_scenario
from bot.gameday.state import fold
from bot.gameday.timeline import Kind

HEAD = """
id: {id}
title: More steps
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m, hosts: [127.0.0.1]}}
"""


class Target:
    """A local HTTP server that answers with a chosen status and keeps what it was sent."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.received: list[tuple[str, str, bytes]] = []
        target = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                target.received.append((self.command, self.path, self.rfile.read(length)))
                self.send_response(target.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target(200)
    yield server
    server.server.shutdown()


def test_a_logs_step_streams_its_lines_at_its_pace_in_order(tmp_path: Path) -> None:
    (tmp_path / "idp.log").write_text("line one\nline two\n\nline three\n")
    (tmp_path / "logs-drill.yaml").write_text(
        HEAD.format(id="logs-drill")
        + """steps:
  - {at: 1m, logs: {file: idp.log, every: 20s}}
"""
    )
    loaded = with_attachments(load_scenario_file(tmp_path / "logs-drill.yaml"), tmp_path)
    h = CoreHarness()
    gd = h.engine.start(loaded.text, "C1", "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    assert gd
    start = h.clock.now()
    h.advance_to(start + 3 * 60)
    said = [e for e in h.store.events(gd) if e.kind is Kind.SAID]
    assert [e.data["text"] for e in said] == ["line one", "line two", "line three"]
    offsets = [round(e.at - start) for e in said]
    assert offsets == [60, 80, 100]
    state = fold(h.store.events(gd))
    assert state.steps_ran == {0} and state.status.is_over


def test_a_log_file_outside_the_scenarios_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sneaky.yaml").write_text(
        HEAD.format(id="sneaky") + "steps:\n  - {at: 0s, logs: {file: ../x.log}}\n"
    )
    with pytest.raises(ScenarioError, match="inside the scenarios folder"):
        with_attachments(load_scenario_file(tmp_path / "sneaky.yaml"), tmp_path)


def test_http_probe_and_webhook_reach_only_allowed_hosts_and_record_what_they_got(target: Target) -> None:
    text = (
        HEAD.format(id="probe")
        + f"""steps:
  - {{at: 0s, http: {{url: "{target.url}/login", count: 3, expect: [200]}}}}
  - {{at: 1s, webhook: {{url: "{target.url}/flags/disable", payload: {{flag: risky-feature}}}}}}
"""
    )
    h = CoreHarness()
    gd = h.engine.start(text, "C1", "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 5)
    events = h.store.events(gd)
    probe = next(e for e in events if e.kind is Kind.HTTP_PROBED)
    assert probe.data["statuses"] == [200, 200, 200] and probe.data["ok"] is True
    hook = next(e for e in events if e.kind is Kind.WEBHOOK_CALLED)
    assert hook.data["status"] == 200
    assert [(m, p) for m, p, _ in target.received] == [("GET", "/login")] * 3 + [("POST", "/flags/disable")]
    sent = json.loads(target.received[-1][2])
    assert sent["flag"] == "risky-feature" and sent["gameday_id"] == gd
    with pytest.raises(ScenarioError, match="not in guardrails.hosts"):
        parse_scenario(text.replace("hosts: [127.0.0.1]", "hosts: [ci.example.com]"))

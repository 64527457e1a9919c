"""A request refused for its signature is logged as a warning with the reason and the sender's address,
never with its body: the body is not Slack's, and may be anything an attacker chose to put in a log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bot_process import ROOT, SIGNING_SECRET
from slack_bolt.request import BoltRequest
from test_security_entry import FORM, forgeries, post, signed, slash_body

from bot.config import Settings
from bot.runtime.server import HttpServer
from bot.runtime.service import Services, build_services
from bot.slack.app import create_app, slack_over_http
from bot.workspace.server import LocalWorkspace

MARKER = "MARKER-d41c7e-in-the-body"


@dataclass
class Door:
    """The Bolt app behind its signed door on a free port: `sce serve`'s Slack side without its timers."""

    services: Services
    server: HttpServer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/slack/events"


@pytest.fixture
def door(workspace: LocalWorkspace, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[Door]:
    caplog.set_level(logging.DEBUG)  # before the app is built: Bolt's loggers take the root's level then
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=workspace.api_url,
        database_url=f"sqlite:///{tmp_path / 'sce.db'}",
        scenarios_dir=ROOT / "scenarios",
    )
    services = build_services(settings)
    server = HttpServer(slack_over_http(create_app(services), services), "127.0.0.1", 0)
    server.start()
    yield Door(services, server)
    server.stop()
    services.stop()


def logged(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts += [record.getMessage(), str(record.args), record.exc_text or "", str(vars(record))]
    return "\n".join(parts)


def test_a_forged_request_is_a_warning_with_reason_and_address_and_never_its_body(
    door: Door, workspace: LocalWorkspace, caplog: pytest.LogCaptureFixture
) -> None:
    body, content_type = slash_body(workspace, "UFAC", f"start {MARKER}")
    url = door.url
    attempts = forgeries(body)
    for headers in attempts.values():
        assert post(url, body, content_type, headers).status_code == 401

    warnings = [r for r in caplog.records if r.name == "bot.runtime.server" and r.levelno == logging.WARNING]
    assert len(warnings) == len(attempts)
    reasons = {r.getMessage().rpartition(": ")[2] for r in warnings}
    assert reasons <= {
        "invalid request timestamp",
        "request timestamp outside 5 minutes",
        "invalid request signature (when every request from Slack is refused, SLACK_SIGNING_SECRET "
        "is not this app's)",
    }, reasons
    assert all("from 127.0.0.1" in r.getMessage() for r in warnings)
    assert MARKER not in logged(caplog)

    # the same body, signed, is taken: what kept it out of the log was the refusal, not the body
    assert post(url, body, content_type, signed(body)).status_code == 200


def test_bolt_itself_never_logs_the_body_of_a_request_it_finds_unsigned(
    door: Door, workspace: LocalWorkspace, caplog: pytest.LogCaptureFixture
) -> None:
    """Were a request to reach the Bolt app past the door (another route, a change), its own verification
    would log the whole body at INFO: that line is dropped."""
    body, _ = slash_body(workspace, "UFAC", f"start {MARKER}")
    app = create_app(door.services)
    for name, headers in forgeries(body).items():
        lowered = {k.lower(): v for k, v in headers.items()}
        if not lowered.get("x-slack-request-timestamp", "0").isdigit():
            continue  # Bolt answers 500 to a timestamp it cannot read; the door refuses those first
        response = app.dispatch(BoltRequest(body=body.decode(), headers={**lowered, "content-type": FORM}))
        assert response.status == 401, name
    assert logging.getLogger("slack_bolt.RequestVerification").isEnabledFor(logging.INFO)
    assert MARKER not in logged(caplog)

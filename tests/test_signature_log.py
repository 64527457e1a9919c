"""A request refused for its signature is logged as a warning with the reason and the sender's address,
never with its body: the body is not Slack's, and may be anything an attacker chose to put in a log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from inprocess_bot import Bot, run_bot
from slack_bolt.request import BoltRequest
from test_security_entry import FORM, forgeries, post, signed, slash_body

from bot.slack.app import create_app
from bot.workspace.server import LocalWorkspace

MARKER = "MARKER-d41c7e-in-the-body"


@pytest.fixture
def bot(workspace: LocalWorkspace, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[Bot]:
    caplog.set_level(logging.DEBUG)  # before the app is built: Bolt's loggers take the root's level then
    running = run_bot(workspace, f"sqlite:///{tmp_path / 'sce.db'}")
    yield running
    running.stop()


def logged(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts += [record.getMessage(), str(record.args), record.exc_text or "", str(vars(record))]
    return "\n".join(parts)


def test_a_forged_request_is_a_warning_with_reason_and_address_and_never_its_body(
    bot: Bot, workspace: LocalWorkspace, caplog: pytest.LogCaptureFixture
) -> None:
    body, content_type = slash_body(workspace, "UFAC", f"start {MARKER}")
    url = f"{bot.base}/slack/events"
    attempts = forgeries(body)
    for headers in attempts.values():
        assert post(url, body, content_type, headers).status_code == 401

    warnings = [r for r in caplog.records if r.name == "bot.server" and r.levelno == logging.WARNING]
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
    bot: Bot, workspace: LocalWorkspace, caplog: pytest.LogCaptureFixture
) -> None:
    """Were a request to reach the Bolt app past the door (another route, a change), its own verification
    would log the whole body at INFO: that line is dropped."""
    body, _ = slash_body(workspace, "UFAC", f"start {MARKER}")
    app = create_app(bot.services)
    for name, headers in forgeries(body).items():
        lowered = {k.lower(): v for k, v in headers.items()}
        if not lowered.get("x-slack-request-timestamp", "0").isdigit():
            continue  # Bolt answers 500 to a timestamp it cannot read; the door refuses those first
        response = app.dispatch(BoltRequest(body=body.decode(), headers={**lowered, "content-type": FORM}))
        assert response.status == 401, name
    assert logging.getLogger("slack_bolt.RequestVerification").isEnabledFor(logging.INFO)
    assert MARKER not in logged(caplog)

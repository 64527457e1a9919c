"""Bolt tries its listeners in the order they were registered, and each try runs its matchers through
Bolt's keyword injection (tens of microseconds). A thread reply, the input a game day gets most of, is
matched by the first listener tried, and `/sce` by the second: with a reply tried against every action
first, the ack path cost twice the bare Bolt app's (bench/PROFILING.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlencode

from slack_bolt import App, BoltRequest, BoltResponse

from bot.config import Settings
from bot.runtime.service import build_services
from bot.slack.app import create_app


def app(tmp_path: Path) -> App:
    settings = Settings(
        slack_bot_token="xoxb-test", slack_signing_secret="s", database_url=f"sqlite:///{tmp_path / 'o.db'}"
    )
    return create_app(build_services(settings))


def tries_until_matched(bolt: App, request: BoltRequest) -> int:
    """How many listeners Bolt tries for ``request``, the matching one included (0: none matched)."""
    response = BoltResponse(status=200)
    for tried, listener in enumerate(bolt._listeners, start=1):
        if listener.matches(req=request, resp=response):
            return tried
    return 0


def event(kind: Mapping[str, object]) -> BoltRequest:
    body = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1", "event": kind}
    return BoltRequest(body=json.dumps(body), headers={"content-type": ["application/json"]})


def test_a_thread_reply_is_matched_by_the_first_listener_and_sce_by_the_second(tmp_path: Path) -> None:
    bolt = app(tmp_path)
    reply = {"type": "message", "channel": "C1", "user": "U1", "text": "note: x", "ts": "2.0"}
    reply["thread_ts"] = "1.0"
    command = urlencode({"command": "/sce", "text": "status", "user_id": "U1", "channel_id": "C1"})
    form: dict[str, str | Sequence[str]] = {"content-type": ["application/x-www-form-urlencoded"]}
    assert tries_until_matched(bolt, event(reply)) == 1
    assert tries_until_matched(bolt, BoltRequest(body=command, headers=form)) == 2
    # the listeners after them are still reached
    reaction = {"type": "reaction_added", "user": "U1", "reaction": "eyes", "item": {"type": "message"}}
    assert tries_until_matched(bolt, event(reaction)) > 2
    assert len(bolt._listeners) > 10  # so the order is worth something

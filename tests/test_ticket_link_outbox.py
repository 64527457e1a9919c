"""`/sce ticket F-<n>`'s answer after the ack goes through the outbox of the finding's game day: a post
Slack refuses is retried by the timer service and reaches the thread (and the channel) exactly once."""

from __future__ import annotations

import time
from typing import Any

from test_findings_slack import ask
from test_tickets_slack import Served, posted, served  # noqa: F401  (served: the fixture)

from bot.gameday.clock import VirtualClock
from bot.workspace.client import WorkspaceClient


def links(people: WorkspaceClient, channel: str) -> list[dict[str, Any]]:
    return [m for m in people.messages(channel) if "has a ticket now" in str(m.get("text") or "")]


def test_the_ticket_link_survives_a_failing_post_and_is_posted_once(served: Served) -> None:  # noqa: F811
    services, people, ids, github = served
    c1 = ids["C1"][0]
    before = len(people.calls("chat.postMessage"))
    people.fail_api("chat.postMessage", 500, times=1)
    assert ask(people, "U1", f"ticket {c1}", "C1") == f"Opening a ticket for `{c1}`..."
    for _ in range(250):  # the post after the ack: refused once
        if any(not call["ok"] for call in people.calls("chat.postMessage")[before:]):
            break
        time.sleep(0.02)
    else:
        raise AssertionError("the link was never tried")
    assert links(people, "C1") == [] and len(github.received) == 1  # the issue is open, the link owed
    clock = services.clock
    assert isinstance(clock, VirtualClock)
    for _ in range(20):  # the timer service's retry (5 s, doubling)
        clock.advance(6)
        services.timers.poll()
        if links(people, "C1"):
            break
    said = posted(people, "C1", "has a ticket now")
    assert said.startswith(f"`{c1}` has a ticket now: https://github.com/acme/security/issues/1")
    for _ in range(3):  # later polls bring nothing more
        clock.advance(60)
        services.timers.poll()
    found = links(people, "C1")
    assert len(found) == 1
    assert found[0].get("thread_ts") and found[0]["thread_ts"] != found[0]["ts"]  # in the game day's thread
    sent = [c for c in people.calls("chat.postMessage") if c["ok"] and "has a ticket now" in str(c["params"])]
    assert len(sent) == 1 and str(sent[0]["params"].get("reply_broadcast")).lower() in ("true", "1")

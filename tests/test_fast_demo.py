"""`sce demo --fast`: the parts its clock relies on (the whole demos run in test_starter_pack.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from threads import wait_until

from bot.gameday.clock import VirtualClock
from bot.slack.pacing import ChannelPacer
from bot.workspace.client import WorkspaceClient
from bot.workspace.responders import Cue, Responders, Script
from bot.workspace.server import LocalWorkspace


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=20))
def test_the_fast_clock_moves_on_to_a_moment_and_never_back(moments: list[float]) -> None:
    start = 1_800_000_000.0
    clock = VirtualClock(start)
    for moment in moments:
        before = clock.now()
        assert clock.advance_to(start + moment) == max(before, start + moment) == clock.now()


def test_a_post_held_back_by_the_pace_is_counted_while_it_waits() -> None:
    """The fast clock waits for it: a jump while a post is held would give the post a later ts."""
    seen: list[int] = []
    pacer = ChannelPacer(per_second=1.0, burst=1, sleep=lambda _: seen.append(pacer.waiting))
    pacer.wait("C1")  # the burst: not held
    assert (seen, pacer.waiting) == ([], 0)
    pacer.wait("C1")
    pacer.wait("C2")  # another channel's burst
    assert (seen, pacer.waiting) == ([1], 0)


def test_a_post_whose_wait_fails_is_not_counted_for_ever() -> None:
    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    pacer = ChannelPacer(per_second=1.0, burst=1, sleep=interrupted)
    pacer.wait("C1")
    with pytest.raises(KeyboardInterrupt):
        pacer.wait("C1")
    assert pacer.waiting == 0


def test_a_scripted_reply_whose_ts_a_message_holds_goes_a_microsecond_later() -> None:
    """On the fast clock a bot's post and a reply come due at one instant: the reply still lands."""
    clock = VirtualClock(1_800_000_000.0)
    with LocalWorkspace(clock=clock.now, users={"U1": "alice"}, channels={"C1": "gameday"}) as ws:
        people = WorkspaceClient(ws.base_url)
        try:
            kickoff = people.post("U1", "C1", "kickoff")
            taken = f"{float(kickoff['ts']) + 60:.6f}"
            people.post("U1", "C1", "the bot's post", thread_ts=kickoff["ts"], ts=taken)  # holds the ts
            script = Script(
                {}, [Cue.parse({"who": "primary", "when": "start", "after": "60s", "reply": "ack"})]
            )
            responders = Responders(people, clock, "C1", kickoff["ts"], script, {"primary": "U1"})
            responders.start()
            clock.advance(60)
            wait_until(lambda: responders.performed, what="the reply")
            responders.stop()
            replies = {m["text"]: m["ts"] for m in people.messages("C1", thread_ts=kickoff["ts"])}
            assert replies["ack"] == f"{float(taken) + 0.000001:.6f}", replies
            assert responders.performed[0].at == float(taken)  # as scripted: the TTA the debrief gives
        finally:
            people.close()

"""The rules of channel isolation, pure: who may see a game day, who may book into a channel, which
bookings of one channel would run at once, how a typed id is read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.gameday.people.visibility import NOT_BOOKABLE, booking_refusal, may_see, unseen_gameday
from bot.gameday.running.commands import typed_id
from bot.gameday.running.schedule import Slot, clashing, first_clash, parse_schedule

users = st.sampled_from(["U1", "U2", "U3", "UADM", ""])
channels = st.sampled_from(["C1", "C2", "G3"])
people = st.frozensets(st.sampled_from(["U1", "U2", "U3", "UADM", "UBOT"]))


class Untouchable(frozenset[str]):
    """Members the rule must not need to look at."""

    def __contains__(self, item: object) -> bool:
        raise AssertionError("the rule asked for the members although it had its answer")


@given(channels, users, people, people, st.none() | channels)
def test_may_see_only_the_channel_asked_in_its_members_and_admins(
    channel: str, user: str, members: frozenset[str], admins: frozenset[str], asked_in: str | None
) -> None:
    expected = bool(user) and (asked_in == channel or user in members or user in admins)
    assert may_see(channel, user, members, admins, asked_in) is expected


def test_may_see_asks_for_members_only_when_it_must() -> None:
    assert may_see("C1", "U1", Untouchable(), set(), asked_in="C1")
    assert may_see("C1", "UADM", Untouchable(), {"UADM"}, asked_in="C2")
    assert not may_see("C1", "U1", set(), {"UADM"}, asked_in="C2")


@given(users, people, st.none() | st.sampled_from(["UBOT", "U9"]))
def test_booking_needs_both_the_requester_and_the_bot_in_the_channel(
    user: str, members: frozenset[str], bot: str | None
) -> None:
    allowed = bool(user) and bot is not None and user in members and bot in members
    assert booking_refusal(user, members, bot) == (None if allowed else NOT_BOOKABLE)


def test_unseen_gameday_is_one_sentence_that_escapes_what_was_typed() -> None:
    assert unseen_gameday("<!channel>") == (
        "There is no game day `&lt;!channel&gt;` that you can see; ask for it in the channel it ran in."
    )


def test_typed_ids_read_as_stored() -> None:
    for typed in (
        "gd-1a2b3c4d",
        "GD-1A2B3C4D",
        " `gd-1a2b3c4d` ",
        "gd-1a2b3c4d.",
        "*gd-1a2b3c4d*",
        "(gd-1a2b3c4d)",
    ):
        assert typed_id(typed) == "gd-1a2b3c4d", typed


def overlap_by_brute_force(a: Slot, b: Slot, until: float) -> bool:
    def runs(s: Slot) -> list[tuple[float, float]]:
        out, start = [], s.first_at
        while start < until:
            out.append((start, start + s.duration))
            if not s.every_seconds:
                break
            start += s.every_seconds
        return out

    return any(x0 < y1 and y0 < x1 for x0, x1 in runs(a) for y0, y1 in runs(b))


slots = st.builds(
    Slot,
    st.integers(0, 40 * 86400).map(float),
    st.none() | st.integers(3600, 20 * 86400).map(float),
    st.integers(60, 3 * 3600).map(float),
)


@given(slots, slots)
def test_first_clash_agrees_with_comparing_every_pair_of_runs(a: Slot, b: Slot) -> None:
    horizon = 10 * 86400.0
    found = first_clash(a, b, 0.0, horizon)
    until = max(a.first_at, b.first_at) + horizon
    assert (found is not None) == overlap_by_brute_force(a, b, until)
    if found is not None:  # a moment when both run
        assert found >= max(a.first_at, b.first_at)


def test_clashing_names_the_earliest_clash_and_back_to_back_runs_do_not_clash() -> None:
    hour = 3600.0
    booked = [("sch-late", Slot(10 * hour, None, hour)), ("sch-early", Slot(2 * hour, None, hour))]
    assert clashing(Slot(1.5 * hour, 24 * hour, hour), booked, 0.0) == ("sch-early", 2 * hour)
    assert clashing(Slot(3 * hour, None, hour), booked, 0.0) is None  # starts as the other ends
    weekly = [("sch-weekly", Slot(0.0, 7 * 86400.0, hour))]
    assert clashing(Slot(5 * 7 * 86400.0 + 60, None, hour), weekly, 0.0) == (
        "sch-weekly",
        5 * 7 * 86400.0 + 60,
    )


def test_schedule_reads_channel_mentions_and_refuses_names_slack_did_not_link() -> None:
    now, args = 0.0, ["x", "2099-01-01", "10:00"]
    for word, channel in (
        ("<#C9|drills>", "C9"),
        ("<#C9>", "C9"),
        ("<#G9|old-private>", "G9"),
        ("C9AB", "C9AB"),
    ):
        assert parse_schedule([*args, word], {}, now).channel == channel
    for word in ("#red-team", "#C9"):
        try:
            parse_schedule([*args, word], {}, now)
        except ValueError as exc:
            assert "not a channel Slack linked" in str(exc)
        else:
            raise AssertionError(word)

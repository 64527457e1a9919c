"""The debrief and the reminders of a scheduled game day survive a Slack that fails for a while and a
process that dies right after a failed attempt: each is posted exactly once. A delivery still failing at
its fifth attempt is told to the facilitator, once, in the game day's thread when Slack answers again.

The bot's services run in this process on the virtual clock against the local workspace, which answers
HTTP 500 to the calls it is told to fail. A crash is the process's services dropped at that instant, and
a new set built on the same SQLite (or PostgreSQL) database, as `sce serve` would start again.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bot_process import TEST_POSTS_PER_SECOND
from databases import POSTGRES_URL, database_url

from bot.config import Settings
from bot.gameday.clock import VirtualClock
from bot.gameday.running.poller import fire_timers
from bot.gameday.running.schedule import parse_schedule
from bot.gameday.timeline import Kind
from bot.runtime.service import Services, build_services
from bot.workspace.server import LocalWorkspace

ROOT = Path(__file__).resolve().parents[1]
DATABASES = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])
ROSTER = {"primary": "U1", "secondary": "U2"}
SCENARIO = json.dumps(
    {
        "id": "delivery",
        "title": "Delivery drill",
        "charter": {"objective": "o", "hypothesis": "h"},
        "guardrails": {"max_duration": "2h"},
        "oncall": {"escalate_after": None},
        "steps": [{"at": "30m", "say": "never reached: the facilitator ends it first"}],
    }
)
DEBRIEF = re.compile(r"Debrief")
DELAY_NOTE = re.compile(r"Slack failed some of this game day's posts")
# independently of the code: waits of 5 s doubling; the nth failed attempt is followed by a wait of 5*2^(n-1)
BACKOFF = [5.0 * 2**n for n in range(8)]


class Crash(BaseException):
    """The process dies here: nothing after this line of the bot runs (not an Exception it could catch)."""


class World:
    """The local workspace and the clock outlive any process; ``boot`` starts one on the database."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.clock = VirtualClock(datetime(2026, 12, 1, 9, tzinfo=UTC).timestamp())
        self.ws = LocalWorkspace(signing_secret="s", clock=self.clock.now).start()
        self.url = url
        self.tmp_path = tmp_path
        self.running: list[Services] = []

    def boot(self) -> Services:
        settings = Settings(
            slack_bot_token="xoxb-local",
            slack_signing_secret="s",
            slack_api_url=self.ws.api_url,
            database_url=self.url,
            scenarios_dir=ROOT / "scenarios",
            rotations_dir=self.tmp_path / "none",
            slack_posts_per_second=float(TEST_POSTS_PER_SECOND),  # the pace is test_slack_etiquette's
        )
        services = build_services(settings, self.clock)
        # what TimerService.start does first, without its wake-ups; on PostgreSQL a dead process's claim
        # is taken back once 10 s old on the real clock: here, at once, as if those seconds had passed
        services.store.reset_stale_timers(min_age=0.0)
        for other in services.timers.others:
            other.recover()
        self.running.append(services)
        return services

    def fail(self, method: str, times: int) -> None:
        self.ws.web_api.faults.add(method, 500, times)

    def messages(self, pattern: re.Pattern[str], thread_ts: str | None = None) -> list[dict[str, Any]]:
        found = (
            self.ws.driver.state.thread("C1", thread_ts)
            if thread_ts
            else self.ws.state.channel_messages("C1")
        )
        return [m for m in map(self.ws.state.message_to_driver, found) if pattern.search(m.get("text") or "")]

    def close(self) -> None:
        for services in self.running:
            services.timers.stop()
            services.store.engine.dispose()
        self.ws.stop()


@pytest.fixture(params=DATABASES)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    made = World(database_url(request.param, tmp_path), tmp_path)
    yield made
    made.close()


def ended_gameday(world: World, services: Services) -> tuple[str, str]:
    """A game day the facilitator has just ended: its debrief is due now. Returns it and its thread."""
    outcome = services.engine.start(SCENARIO, "C1", "UFAC", ROSTER)
    assert outcome.ok and outcome.gameday_id, outcome.message
    assert services.engine.end(outcome.gameday_id, "UFAC").ok
    record = services.store.get(outcome.gameday_id)
    assert record is not None and record.thread_ts
    return record.id, record.thread_ts


def run_until(
    world: World, services: Services, done: Callable[[], bool], limit: float = 3600.0
) -> list[float]:
    """Poll at each next due time (timers and schedules) until ``done``; returns the instants polled."""
    polled: list[float] = []
    deadline = world.clock.now() + limit
    while not done() and world.clock.now() < deadline:
        services.timers.poll()
        polled.append(world.clock.now())
        if done():
            break
        dues = [services.store.next_due_at(), services.schedules.next_due_at()]
        due = min((d for d in dues if d is not None), default=world.clock.now() + 1)
        world.clock.advance(max(due - world.clock.now(), 0.001))
    return polled


def kinds(services: Services, gameday: str, kind: Kind) -> list[dict[str, Any]]:
    return [e.data for e in services.store.events(gameday) if e.kind is kind]


@pytest.mark.parametrize("failures", [3, 4, 6])
def test_the_debrief_failing_n_times_is_posted_once_and_told_once_from_the_fifth(
    world: World, failures: int
) -> None:
    services = world.boot()
    gameday, thread = ended_gameday(world, services)
    world.fail("chat.postMessage", failures)
    ended = world.clock.now()
    polled = run_until(world, services, lambda: bool(world.messages(DEBRIEF, thread)))

    assert len(world.messages(DEBRIEF, thread)) == 1
    # tried at the end, then after each wait: the last poll is the attempt that got through
    expected = [ended + sum(BACKOFF[:n]) for n in range(failures + 1)]
    assert polled == pytest.approx(expected, abs=1e-3)
    world.clock.advance(900)  # nothing more comes of it later
    services.timers.poll()
    assert len(world.messages(DEBRIEF, thread)) == 1
    notes = world.messages(DELAY_NOTE, thread)
    if failures < 5:  # a blip: the log and the metric saw it, the facilitator is not bothered
        assert notes == [] and kinds(services, gameday, Kind.DELIVERY_DELAYED) == []
        return
    assert len(notes) == 1
    assert "<@UFAC>" in notes[0]["text"]
    assert f"the debrief: went out at last, at attempt {failures + 1}." in notes[0]["text"]
    (delayed,) = kinds(services, gameday, Kind.DELIVERY_DELAYED)
    assert (delayed["kind"], delayed["attempts"]) == ("publish", 5)
    assert kinds(services, gameday, Kind.DELIVERY_REPORTED) == [{"timer_ids": [delayed["timer_id"]]}]


def first_attempt_then_crash(
    world: World, services: Services, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claim the debrief's timer and run it as the process does, dying at ``where``."""
    store = services.store
    if where == "after the failed attempt was recorded":
        world.fail("chat.postMessage", 1)
    elif where == "before the failed attempt was recorded":
        world.fail("chat.postMessage", 1)
        monkeypatch.setattr(store, "release_timer", lambda *a: (_ for _ in ()).throw(Crash()))
    else:  # Slack took the post; the process dies before the timer is marked done
        monkeypatch.setattr(store, "transaction", lambda *a, **k: (_ for _ in ()).throw(Crash()))
    claimed = store.claim_due_timers(world.clock.now(), 50)
    assert [t.kind for t in claimed] == ["publish"]
    with contextlib.suppress(Crash):
        fire_timers(store, services.engine, claimed, world.clock.now)
    monkeypatch.undo()


@pytest.mark.parametrize(
    "where",
    [
        "after the failed attempt was recorded",
        "before the failed attempt was recorded",
        "after Slack took the post, before it was marked done",
    ],
)
def test_a_crash_right_after_a_debrief_attempt_leaves_it_to_the_next_process_which_posts_it_once(
    world: World, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    doomed = world.boot()
    gameday, thread = ended_gameday(world, doomed)
    first_attempt_then_crash(world, doomed, where, monkeypatch)
    posted_before = len(world.messages(DEBRIEF, thread))
    assert posted_before == (1 if where.startswith("after Slack took") else 0)

    after = world.boot()  # a new process on the same database
    run_until(world, after, lambda: after.store.next_due_at() is None, limit=600)
    assert len(world.messages(DEBRIEF, thread)) == 1
    assert [r.id for r in after.store.all()] == [gameday]


def reminders(world: World) -> list[dict[str, Any]]:
    return world.messages(re.compile(r"Reminder"))


def book(services: Services, world: World) -> float:
    """A game day booked for 2 December, 14:00 UTC; returns when its 24-hour reminder is owed."""
    request = parse_schedule(["pager-stress", "2026-12-02", "14:00"], {"tz": "UTC"}, world.clock.now())
    services.schedules.create(request, "C1", "UFAC", world.clock.now())
    return request.first_at - 86400


@pytest.mark.parametrize("failures", [3, 5])
def test_a_reminder_failing_n_times_backs_off_is_posted_once_and_says_it_is_late_from_the_fifth(
    world: World, failures: int
) -> None:
    services = world.boot()
    owed = book(services, world)
    world.clock.advance(owed - world.clock.now())
    world.fail("chat.postMessage", failures)
    # independently: tried when owed, then after 5 s, 10 s, 20 s... and not in between
    expected = [owed + sum(BACKOFF[:n]) for n in range(failures + 1)]
    for n, at in enumerate(expected):
        if n:
            world.clock.advance(at - 0.5 - world.clock.now())
            services.timers.poll()  # half a second early: still waiting
        world.clock.advance(at - world.clock.now())
        services.timers.poll()
    tried = [c.time for c in list(world.ws.calls) if c.method == "chat.postMessage"]
    assert tried == pytest.approx(expected, abs=1e-3)
    (reminder,) = reminders(world)
    late = f"this reminder is late: Slack failed it {failures} times in a row"
    assert (late in reminder["text"]) is (failures >= 5)
    world.clock.advance(1800)
    services.timers.poll()
    assert len(reminders(world)) == 1


def test_a_crash_right_after_a_failed_reminder_leaves_it_to_the_next_process_which_posts_it_once(
    world: World,
) -> None:
    doomed = world.boot()
    owed = book(doomed, world)
    world.clock.advance(owed - world.clock.now())
    world.fail("chat.postMessage", 1)
    doomed.timers.poll()  # the reminder fails and is owed again; then the process dies
    assert reminders(world) == []

    after = world.boot()
    world.clock.advance(5)
    after.timers.poll()
    assert len(reminders(world)) == 1
    world.clock.advance(1800)
    after.timers.poll()
    assert len(reminders(world)) == 1

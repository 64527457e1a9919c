"""A timer whose effect keeps failing is retried with a growing wait (5 s, doubling, at most 5 minutes),
never marked done while undone, and runs once as soon as its dependency is back; other game days' timers
are not held up by it. Each failure is counted in /metrics, and from the fifth on it is logged as an error.
On every store, with the virtual clock."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import cast
from wsgiref.types import StartResponse

import pytest
from core_harness import CoreHarness
from databases import STORES, make_store

from bot.config import SettingError, Settings
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import GameDayRecord
from bot.gameday.running.poller import RETRY_AFTER_SECONDS, RETRY_CEILING_SECONDS, retry_delay
from bot.gameday.timeline import Kind

ROSTER = {"primary": "U1", "secondary": "U2"}


def scenario(say: str, at: int = 10) -> str:
    return json.dumps(
        {
            "id": "retries",
            "title": "Retries",
            "charter": {"objective": "o", "hypothesis": "h"},
            "guardrails": {"max_duration": "2h"},
            "oncall": {"escalate_after": None},
            "steps": [{"at": at, "say": say}],
        }
    )


@pytest.fixture(params=STORES)
def h(request: pytest.FixtureRequest, tmp_path: Path) -> CoreHarness:
    return CoreHarness(make_store(request.param, tmp_path))


def test_the_wait_doubles_from_five_seconds_up_to_five_minutes() -> None:
    waits = [retry_delay(n) for n in range(1, 10)]
    expected, wait = [], RETRY_AFTER_SECONDS
    for _ in range(9):
        expected.append(min(wait, RETRY_CEILING_SECONDS))
        wait *= 2
    assert waits == expected == [5, 10, 20, 40, 80, 160, 300, 300, 300]


def test_the_first_wait_is_a_setting_and_a_bad_one_is_a_sentence(tmp_path: Path) -> None:
    from bot.runtime.service import build_services

    assert Settings.from_env({}).timer_retry_seconds == RETRY_AFTER_SECONDS
    settings = Settings.from_env({"SCE_TIMER_RETRY": "1s", "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"})
    services = build_services(settings)
    try:
        assert services.timers.retry_after == 1.0
        assert services.engine.outcomes.first_retry == 1.0  # the wait a failed post sent at once takes too
    finally:
        services.stop()
    assert [retry_delay(n, first=1.0) for n in range(1, 11)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    for bad in ("soon", "0s", "-5s"):
        with pytest.raises(SettingError, match="^SCE_TIMER_RETRY: "):
            Settings.from_env({"SCE_TIMER_RETRY": bad})


def test_a_failing_step_is_retried_with_backoff_and_runs_once_when_slack_is_back(
    h: CoreHarness, caplog: pytest.LogCaptureFixture
) -> None:
    tries: list[float] = []
    say = h.announcer.say

    def failing_say(record: GameDayRecord, text: str, key: str) -> str:
        if text == "flaky":
            tries.append(h.clock.now())
            if len(tries) <= 5:
                raise ConnectionError("Slack is down")
        return say(record, text, key)

    h.announcer.say = failing_say  # type: ignore[method-assign]  # a test double for this one call
    origin = h.clock.now()
    flaky = h.engine.start(scenario("flaky"), "C1", "UFAC", ROSTER).gameday_id
    steady = h.engine.start(scenario("steady", at=30), "C2", "UFAC", ROSTER).gameday_id
    assert flaky and steady
    h.advance_to(origin + 400)

    # independently: first try at the step's time, then each wait doubles from 5 s
    expected, at, wait = [], origin + 10, RETRY_AFTER_SECONDS
    for _ in range(6):
        expected.append(at)
        at, wait = at + wait, wait * 2
    assert [round(t - origin, 3) for t in tries] == [round(t - origin, 3) for t in expected]
    said = [e for e in h.store.events(flaky) if e.kind is Kind.SAID]
    assert [e.data.get("text") for e in said] == ["flaky"]  # once, after the failures
    steady_said = [e for e in h.store.events(steady) if e.kind is Kind.SAID]
    assert [round(e.at - origin) for e in steady_said] == [30]  # the other game day kept its time
    # the first failures are warnings; from the fifth on it is surfaced as an error that says it goes on
    failures = [r for r in caplog.records if r.name == "bot.gameday.running.timer_outcomes"]
    assert [r.levelname for r in failures] == ["WARNING"] * 4 + ["ERROR"]
    assert "is not lost" in failures[-1].getMessage() and "failed 5 time(s)" in failures[-1].getMessage()


def test_the_process_counts_each_failed_timer_run_by_kind(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from bot.gameday.memory_store import MemoryStore
    from bot.gameday.running.timer_types import TimerKind
    from bot.runtime.observability import metrics_wsgi
    from bot.runtime.timer_service import TimerService

    def failures() -> float:
        ignore_status = cast(StartResponse, lambda *a: None)
        body = b"".join(metrics_wsgi()({"PATH_INFO": "/metrics", "REQUEST_METHOD": "GET"}, ignore_status))
        for family in text_string_to_metric_families(body.decode()):
            for sample in family.samples:
                if sample.name == "sce_timer_failures_total" and sample.labels == {"kind": "escalate"}:
                    return float(sample.value)
        return 0.0

    h = CoreHarness(MemoryStore())
    gameday = h.engine.start(scenario("x", at=5), "C1", "UFAC", ROSTER).gameday_id
    assert gameday
    with h.store.transaction(gameday) as tx:
        tx.schedule(f"{gameday}:broken", 0.0, TimerKind.ESCALATE, {"page_id": "nope"})

    def broken(timer: object) -> None:
        raise RuntimeError("the page it names was never sent")

    h.engine.fire = broken  # type: ignore[method-assign]  # a test double for this one call
    before = failures()
    timers = TimerService(h.store, h.engine, h.clock, workers=1)  # the process's own wiring
    try:
        assert timers.poll() == 1
    finally:
        timers.stop()
    assert failures() == before + 1


def test_a_debrief_slack_fails_to_take_is_posted_once_when_slack_is_back(h: CoreHarness) -> None:
    tries: list[float] = []
    finished = h.announcer.finished

    def failing_finished(record: GameDayRecord, debrief: Debrief, key: str) -> None:
        tries.append(h.clock.now())
        if len(tries) <= 3:
            raise ConnectionError("Slack is down")
        finished(record, debrief, key)

    h.announcer.finished = failing_finished  # type: ignore[method-assign]  # a test double for this one call
    origin = h.clock.now()
    gameday = h.engine.start(scenario("the only step"), "C1", "UFAC", ROSTER).gameday_id
    assert gameday
    h.advance_to(origin + 200)  # its one step runs at 10 s and ends it
    (end,) = [e for e in h.store.events(gameday) if e.kind is Kind.ENDED]
    ended = end.at
    assert 0 <= tries[0] - ended <= 1  # due at the end; the harness's clock moves in 1 s steps
    assert [round(b - a, 3) for a, b in zip(tries, tries[1:], strict=False)] == [5, 10, 20]
    assert [d.id for d in h.announcer.debriefs] == [gameday]  # posted once, never given up
    assert [kind for kind, _ in h.announcer.posts].count("debrief") == 1


def test_one_debrief_stuck_on_slack_does_not_hold_up_another_game_days(tmp_path: Path) -> None:
    import threading

    from bot.gameday.memory_store import MemoryStore
    from bot.runtime.timer_service import TimerService

    h = CoreHarness(MemoryStore())
    release = threading.Event()
    finished = h.announcer.finished
    stuck_in: list[str] = []

    def slack(record: GameDayRecord, debrief: Debrief, key: str) -> None:
        if record.channel == "C-stuck":
            stuck_in.append(record.id)
            release.wait(30)  # Slack holds this upload open
        finished(record, debrief, key)

    h.announcer.finished = slack  # type: ignore[method-assign]  # a test double for this one call
    stuck = h.engine.start(scenario("a"), "C-stuck", "UFAC", ROSTER).gameday_id
    other = h.engine.start(scenario("b"), "C-other", "UFAC", ROSTER).gameday_id
    assert stuck and other
    h.clock.advance(11)  # both steps are due; each game day ends with its one step
    timers = TimerService(h.store, h.engine, h.clock, workers=2)
    try:
        timers.poll(wait=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (stuck_in and h.announcer.debriefs):
            timers.poll(wait=False)
            time.sleep(0.05)
        assert stuck_in == [stuck]
        assert [d.id for d in h.announcer.debriefs] == [other]  # posted while the other still hangs
    finally:
        release.set()
        timers.stop()

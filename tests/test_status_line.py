"""The status line: a game day's status message shows its newest state without one update per change."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import SettingError, Settings
from bot.runtime.service import build_services
from bot.slack.status_line import MIN_INTERVAL, PER_MINUTE, StatusLine

Sent = list[tuple[str, int]]


def recorder() -> tuple[Sent, threading.Event, Callable[[str, int], Callable[[], None]]]:
    sent: Sent = []
    event = threading.Event()

    def send(gameday_id: str, n: int) -> Callable[[], None]:
        def go() -> None:
            sent.append((gameday_id, n))
            event.set()

        return go

    return sent, event, send


def test_many_changes_of_one_game_day_cost_few_updates_and_the_newest_wins() -> None:
    sent, _, send = recorder()
    line = StatusLine(min_interval=30.0)
    for n in range(200):
        line.submit("gd-1", send("gd-1", n))
    assert line.flush(5)
    assert len(sent) <= 2  # the first at once, then only the newest of the other 199
    assert sent[-1] == ("gd-1", 199)
    assert line.close(1)


def test_game_days_do_not_wait_for_each_other() -> None:
    sent, event, send = recorder()
    line = StatusLine(min_interval=30.0)
    line.submit("gd-1", send("gd-1", 0))
    assert event.wait(5)
    line.submit("gd-1", send("gd-1", 1))  # gd-1 was just updated: this one waits its interval
    line.submit("gd-2", send("gd-2", 0))
    line.submit("gd-3", send("gd-3", 0))
    pause = threading.Event()
    for _ in range(100):
        if len(sent) >= 3:
            break
        pause.wait(0.05)
    assert sent == [("gd-1", 0), ("gd-2", 0), ("gd-3", 0)]
    assert line.close(5)  # closing sends what waits
    assert sent[-1] == ("gd-1", 1)


def test_a_final_status_skips_the_wait() -> None:
    sent, event, send = recorder()
    line = StatusLine(min_interval=600.0)
    line.submit("gd-1", send("gd-1", 0))
    assert event.wait(5)
    event.clear()
    line.submit("gd-1", send("gd-1", 1))
    line.submit("gd-1", send("gd-1", 2), final=True)
    assert event.wait(5), "the final status waited for the interval"
    assert sent == [("gd-1", 0), ("gd-1", 2)]
    assert line.close(1)


@pytest.mark.parametrize("order", [[3, 5, 4], [5, 3, 4], [5, 5, 4], [4, 3, 5]])
def test_an_older_state_never_replaces_a_newer_one_whatever_order_the_calls_come_in(order: list[int]) -> None:
    sent, _, send = recorder()
    line = StatusLine(min_interval=600.0)
    line.submit("gd-1", send("gd-1", 1), version=1)  # shown at once; the rest wait their interval
    assert line.flush(5)
    for version in order:
        line.submit("gd-1", send("gd-1", version), version=version)
    line.submit("gd-2", send("gd-2", 1), version=1)  # another game day's versions are its own
    assert line.close(5)
    assert [n for gd, n in sent if gd == "gd-1"] == [1, max(order)]
    assert ("gd-2", 1) in sent


def test_a_failing_update_does_not_stop_the_line() -> None:
    sent, _, send = recorder()
    line = StatusLine(min_interval=0.0)

    def broken() -> None:
        raise RuntimeError("Slack said no")

    line.submit("gd-1", broken)
    line.submit("gd-2", send("gd-2", 0))
    assert line.flush(5)
    assert sent == [("gd-2", 0)]


def served_line(tmp_path: Path, name: str, value: str) -> StatusLine:
    """The status line `sce serve` builds with ``name`` set to ``value``."""
    settings = Settings.from_env({name: value, "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"})
    services = build_services(settings)
    services.stop()
    return services.announcer.status_line


def refused(name: str, bad: str) -> None:
    with pytest.raises(SettingError, match=f"^{name}: "):
        Settings.from_env({name: bad})


def test_the_interval_is_a_setting_and_a_bad_one_is_a_sentence(tmp_path: Path) -> None:
    assert Settings.from_env({}).status_interval == MIN_INTERVAL == 2.0
    assert served_line(tmp_path, "SCE_STATUS_INTERVAL", "0.5s").min_interval == 0.5
    for bad in ("often", "0s"):
        refused("SCE_STATUS_INTERVAL", bad)


def test_beyond_the_workspace_budget_updates_are_spaced_and_each_game_day_shows_its_newest() -> None:
    sent, event, send = recorder()
    line = StatusLine(min_interval=0.0, per_minute=6.0)  # one update every 10 s for the whole workspace
    assert line.spacing == 10.0
    line.submit("gd-1", send("gd-1", 0))
    assert event.wait(5)  # within the budget: at once
    for n in range(1, 4):  # more changes meanwhile, of three game days
        for gameday_id in ("gd-1", "gd-2", "gd-3"):
            line.submit(gameday_id, send(gameday_id, n))
    line.submit("gd-4", send("gd-4", 9), final=True)  # an end is never held
    threading.Event().wait(1.0)
    assert sent == [("gd-1", 0), ("gd-4", 9)]  # the budget holds the rest: nothing else for 10 s
    assert line.close(5)  # closing sends what waits, each game day's newest state only
    assert sorted(sent[2:]) == [("gd-1", 3), ("gd-2", 3), ("gd-3", 3)]


def test_a_change_after_a_quiet_spell_goes_out_when_the_budget_allows_without_another_change() -> None:
    sent, event, send = recorder()
    line = StatusLine(min_interval=0.0, per_minute=120.0)  # one update every 0.5 s
    line.submit("gd-1", send("gd-1", 0))
    assert event.wait(5)
    line.submit("gd-2", send("gd-2", 0))  # within the spacing, nothing else waiting, no final
    pause = threading.Event()
    for _ in range(100):
        if len(sent) == 2:
            break
        pause.wait(0.05)
    assert sent == [("gd-1", 0), ("gd-2", 0)]  # sent by itself, not left until the next change
    assert line.close(1)


def test_without_a_budget_game_days_are_not_spaced() -> None:
    sent, _, send = recorder()
    line = StatusLine(min_interval=30.0)
    assert line.spacing == 0.0
    for gameday_id in ("gd-1", "gd-2", "gd-3"):
        line.submit(gameday_id, send(gameday_id, 0))
    pause = threading.Event()
    for _ in range(100):
        if len(sent) == 3:
            break
        pause.wait(0.05)
    assert len(sent) == 3
    assert line.close(1)


def test_the_budget_is_a_setting_and_a_bad_one_is_a_sentence(tmp_path: Path) -> None:
    assert Settings.from_env({}).status_per_minute == PER_MINUTE == 40.0
    assert served_line(tmp_path, "SCE_STATUS_UPDATES_PER_MINUTE", "120").spacing == 0.5
    for bad in ("often", "0", "-3", "inf"):
        refused("SCE_STATUS_UPDATES_PER_MINUTE", bad)

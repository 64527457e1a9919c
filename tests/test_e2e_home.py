"""App Home: running and scheduled game days, and each scenario's latest result with its trend."""

from __future__ import annotations

import json

from bot_process import LiveBot
from threads import start_gameday, wait_for_block, wait_for_text, wait_until

from bot.workspace.client import WorkspaceClient


def home_text(people: WorkspaceClient, user: str) -> str:
    return json.dumps(people.home(user))


def test_home_shows_latest_results_with_trend_running_and_scheduled(
    live_bot: LiveBot, people: WorkspaceClient
) -> None:
    for delay in (4.0, 1.5):  # two finished runs: MTTA 4 s, then 1.5 s (2.5 s faster)
        thread = start_gameday(people)
        page = wait_for_block(people, thread, "page:p0")
        people.post("U1", "C1", "ack", thread_ts=thread, ts=f"{float(page['ts']) + delay:.6f}")
        wait_for_text(people, thread, "acknowledged page p0")
        people.slash("UFAC", "/sce", "end")
        wait_for_text(people, thread, "Debrief")
    people.slash(
        "UFAC", "/sce", "schedule pager-stress 2099-01-05 10:00 every 90d oncall=<@U1> secondary=<@U2>"
    )
    start_gameday(people)
    assert people.open_home("U2")["status"] == 200
    text = wait_until(
        lambda: home_text(people, "U2") if "Running now" in home_text(people, "U2") else None,
        what="the Home tab",
    )
    assert "pager-stress" in text and "running" in text
    assert "Scheduled" in text and "every 90d" in text
    assert "Latest result per scenario" in text and "MTTA 1.5s" in text and "-2.5s vs the run before" in text
    assert "2 run(s)" in text

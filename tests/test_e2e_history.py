"""The debrief as files in the thread, and the trend of a scenario with its chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bot_process import LiveBot
from threads import start_gameday, wait_for_block, wait_for_text, wait_until

from bot.workspace.client import WorkspaceClient


def run_once(people: WorkspaceClient, ack_after: float) -> str:
    thread = start_gameday(people)
    page = wait_for_block(people, thread, "page:p0")
    people.post("U1", "C1", "ack", thread_ts=thread, ts=f"{float(page['ts']) + ack_after:.6f}")
    wait_for_text(people, thread, "acknowledged page p0")
    people.slash("UFAC", "/sce", "end")
    wait_for_text(people, thread, "Debrief")
    return thread


def test_debrief_files_in_the_thread_and_history_with_its_chart(
    live_bot: LiveBot, people: WorkspaceClient
) -> None:
    first = run_once(people, 6.0)
    files = wait_until(
        lambda: [f for f in people.files("C1") if f["thread_ts"] == first] or None, what="files"
    )
    wait_until(
        lambda: len([f for f in people.files("C1") if f["thread_ts"] == first]) == 2, what="both files"
    )
    by_name = {f["name"].rsplit(".", 1)[1]: f for f in people.files("C1") if f["thread_ts"] == first}
    assert set(by_name) == {"html", "md"} and len(files) >= 1
    assert "<svg" in by_name["html"]["content"] and "# Game day debrief" in by_name["md"]["content"]
    run_once(people, 2.0)

    reply = people.slash("UFAC", "/sce", "history pager-stress")
    assert "2 run(s)" in reply["text"] and "MTTA 2s (-4s)" in reply["text"]
    chart = wait_until(
        lambda: next((f for f in people.files("C1") if f["name"].endswith(".svg")), None), what="the chart"
    )
    svg = ET.fromstring(chart["content"])
    lines = svg.findall("{http://www.w3.org/2000/svg}polyline")
    assert [line.findtext("{http://www.w3.org/2000/svg}title") for line in lines] == ["MTTA", "TTD", "TTC"]
    assert len(lines[0].get("points", "").split()) == 2  # one point per run
    assert live_bot.sce("history", "pager-stress", "--format", "json").returncode == 0

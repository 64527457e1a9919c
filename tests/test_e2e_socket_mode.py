"""Socket Mode: the same bot, connected over the local workspace's websocket, no public URL."""

from __future__ import annotations

from collections.abc import Callable

from bot_process import BotProcess
from threads import start_gameday, wait_for_block, wait_for_text, wait_until

from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace


def test_a_game_day_over_socket_mode(
    start_bot: Callable[..., BotProcess], people: WorkspaceClient, workspace: LocalWorkspace
) -> None:
    workspace.request_url = None  # nothing may arrive over HTTP
    bot = start_bot(socket_mode=True)
    wait_until(lambda: workspace.socket_clients >= 1, timeout=30, what="the socket connection")
    thread = start_gameday(people)
    page = wait_for_block(people, thread, "page:p0")
    reaction_ts = f"{float(page['ts']) + 3.5:.6f}"
    assert people.react("U1", "C1", page["ts"], "eyes", event_ts=reaction_ts)["status"] == 200
    wait_for_text(people, thread, r"acknowledged page p0")
    sent = people.post("U2", "C1", "note: watching the IdP dashboard", thread_ts=thread)
    assert people.redeliver(sent["event_id"])["status"] == 200
    ended = people.slash("UFAC", "/sce", "end")
    assert "ended" in ended["text"].lower()
    wait_for_text(people, thread, r"Debrief")
    debrief = bot.debrief_json()
    p0 = next(p for p in debrief["pages"] if p["id"] == "p0")
    assert abs(p0["tta_seconds"] - 3.5) < 0.0005
    notes = wait_until(lambda: bot.debrief_json()["notes"], what="the note")
    assert [n["text"] for n in notes] == ["watching the IdP dashboard"]

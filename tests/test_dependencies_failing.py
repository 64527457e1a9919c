"""Dependencies failing mid-drill: Slack answering 500, PostgreSQL restarting, the Kubernetes API gone
during a revert. The game day continues, or stops safely and says so; nothing recorded is lost. Where Slack
or the database fails, the bot runs in this process (its calls and its connections are the point, not its
process)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from bot_process import BotProcess
from databases import POSTGRES_URL, fresh_postgres_url
from inprocess_bot import bot_on
from sqlalchemy import text
from test_faults_e2e import kubeconfig
from test_faults_kmock import NAMESPACE, KubeTestServer
from threads import start_gameday, wait_for_block, wait_for_text, wait_until

from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace
from storage.database import make_engine

STEPS = """
id: steady
title: Steady injects
charter: {objective: Keep going when things fail., hypothesis: Every inject arrives once.}
guardrails: {max_duration: 5m, namespaces: [chaos-lab]}
steps:
  - {at: 0s, page: {severity: SEV-3, summary: "Simulated: steady"}}
  - {at: 2s, say: "inject B"}
  - {at: 4s, say: "inject C"}
  - {at: 6s, say: "inject D"}
"""


def thread_texts(people: WorkspaceClient, thread: str) -> list[str]:
    return [m.get("text") or "" for m in people.messages("C1", thread_ts=thread)]


def test_slack_answering_500_delays_a_step_but_loses_and_doubles_nothing(
    workspace: LocalWorkspace, people: WorkspaceClient, scenarios_dir: Path, tmp_path: Path
) -> None:
    (scenarios_dir / "steady.yaml").write_text(STEPS)
    with bot_on(workspace, tmp_path, scenarios_dir=scenarios_dir, timer_retry=1.0) as bot:  # 1 s, not 5
        thread = start_gameday(people, "start steady oncall=<@U1> secondary=<@U2>")
        page = wait_for_block(people, thread, "page:p0")
        people.fail_api("chat.postMessage", status=500, times=2)  # the next step is refused twice
        people.post("U1", "C1", "ack", thread_ts=thread, ts=f"{float(page['ts']) + 1:.6f}")
        wait_for_text(people, thread, "Debrief", timeout=60)
        texts = thread_texts(people, thread)
        for inject in ("inject B", "inject C", "inject D"):
            assert sum(inject in t for t in texts) == 1, (inject, texts)
        refused = [c for c in people.calls("chat.postMessage") if c.get("error") == "http_500"]
        assert len(refused) == 2
        steps = [e["data"]["step"] for e in bot.debrief_json()["timeline"] if e["kind"] == "step_ran"]
        assert sorted(steps) == [0, 1, 2, 3]


@pytest.fixture
def postgres() -> tuple[str, Callable[[], None]]:
    """A fresh database, and a way to cut every connection to it, as a server restart does to clients."""
    if POSTGRES_URL is None:
        pytest.skip("needs PostgreSQL (.ci/run provides it)")
    url = fresh_postgres_url()

    def restart() -> None:
        admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        admin.dispose()

    return url, restart


def test_postgresql_restarting_mid_drill_loses_nothing_recorded(
    postgres: tuple[str, Callable[[], None]],
    workspace: LocalWorkspace,
    people: WorkspaceClient,
    scenarios_dir: Path,
    tmp_path: Path,
) -> None:
    url, restart = postgres
    spaced = STEPS.replace("at: 6s", "at: 9s").replace("at: 4s", "at: 6s").replace("at: 2s", "at: 3s")
    (scenarios_dir / "steady.yaml").write_text(spaced)
    with bot_on(workspace, tmp_path, scenarios_dir=scenarios_dir, database_url=url) as bot:
        thread = start_gameday(people, "start steady oncall=<@U1> secondary=<@U2>")
        page = wait_for_block(people, thread, "page:p0")
        people.post("U1", "C1", "gap: recorded before the restart", thread_ts=thread)
        wait_until(lambda: bot.debrief_json()["gaps"], what="the gap to be recorded")
        restart()  # between two steps: steps come at 0 s, 3 s, 6 s and 9 s
        people.post("U1", "C1", "ack", thread_ts=thread, ts=f"{float(page['ts']) + 3:.6f}")
        wait_for_text(people, thread, "Debrief", timeout=60)
        debrief = wait_until(lambda: (d := bot.debrief_json())["gaps"] and d, what="the debrief")
        assert [g["text"] for g in debrief["gaps"]] == ["recorded before the restart"]
        assert abs(debrief["pages"][0]["tta_seconds"] - 3.0) < 0.001
        steps = [e["data"]["step"] for e in debrief["timeline"] if e["kind"] == "step_ran"]
        assert sorted(steps) == [0, 1, 2, 3]
        texts = thread_texts(people, thread)
        assert all(sum(i in t for t in texts) == 1 for i in ("inject B", "inject C", "inject D")), texts


def test_kubernetes_gone_during_abort_stops_safely_and_says_so(
    workspace: LocalWorkspace, people: WorkspaceClient, scenarios_dir: Path, tmp_path: Path
) -> None:
    text = STEPS.replace(
        '  - {at: 2s, say: "inject B"}',
        f"  - {{at: 1s, fault: {{type: k8s.network-deny, namespace: {NAMESPACE}, ttl: 5m,"
        " selector: {app: web}}}\n"
        '  - {at: 2s, say: "inject B"}',
    )
    (scenarios_dir / "steady.yaml").write_text(text)
    kube = KubeTestServer().__enter__()
    env = {"KUBECONFIG": str(kubeconfig(tmp_path, kube.url)), "SCE_ALLOWED_NAMESPACES": NAMESPACE}
    bot = BotProcess(
        workspace.api_url, f"sqlite:///{tmp_path / 'k.db'}", scenarios_dir, tmp_path / "k.log", extra_env=env
    ).start()
    workspace.request_url = bot.url
    try:
        thread = start_gameday(people, "start steady oncall=<@U1> secondary=<@U2>")
        wait_for_text(people, thread, "Fault applied")
        kube.__exit__(None, None, None)  # the API server goes away
        reply = people.slash("UFAC", "/sce", "abort cluster trouble")
        assert reply["status"] == 200
        wait_for_text(people, thread, "FAILED", timeout=90)
        wait_for_text(people, thread, "Debrief", timeout=30)
        debrief = bot.debrief_json()
        assert debrief["status"] == "aborted" and debrief["verdict"] == "inconclusive"
        assert [f["fault_id"] for f in debrief["failed_reverts"]] == ["f1"]
    finally:
        bot.stop()


def test_slack_timing_out_after_posting_a_step_does_not_post_it_twice(
    workspace: LocalWorkspace, people: WorkspaceClient, scenarios_dir: Path, tmp_path: Path
) -> None:
    # inject B (2 s) fails at 4 s and is tried again 1 s later (SCE_TIMER_RETRY, 5 s by default): before C
    (scenarios_dir / "steady.yaml").write_text(STEPS.replace("at: 4s", "at: 8s").replace("at: 6s", "at: 10s"))
    with bot_on(workspace, tmp_path, scenarios_dir=scenarios_dir, slack_timeout=2.0, timer_retry=1.0) as bot:
        thread = start_gameday(people, "start steady oncall=<@U1> secondary=<@U2>")
        page = wait_for_block(people, thread, "page:p0")
        people.post("U1", "C1", "ack", thread_ts=thread, ts=f"{float(page['ts']) + 1:.6f}")
        wait_for_text(people, thread, "acknowledged page p0")
        # Slack takes the next inject but answers after the bot's timeout (SCE_SLACK_TIMEOUT, 2 s here): the
        # step fails, is retried, and the retry finds the message already in the thread instead of posting it
        # again.
        people.fail_api("chat.postMessage", status=0, delay=3.0)
        wait_for_text(people, thread, "Debrief", timeout=80)
        texts = thread_texts(people, thread)
        for inject in ("inject B", "inject C", "inject D"):
            assert sum(inject in t for t in texts) == 1, (inject, texts)
        steps = [e["data"]["step"] for e in bot.debrief_json()["timeline"] if e["kind"] == "step_ran"]
        assert sorted(steps) == [0, 1, 2, 3]


def test_a_command_slower_than_slacks_ack_window_is_acked_in_time_and_answered_after(
    workspace: LocalWorkspace, people: WorkspaceClient, scenarios_dir: Path, tmp_path: Path
) -> None:
    later = STEPS.replace("at: 2s", "at: 60s").replace("at: 4s", "at: 62s").replace("at: 6s", "at: 64s")
    (scenarios_dir / "steady.yaml").write_text(later)
    with bot_on(workspace, tmp_path, scenarios_dir=scenarios_dir):
        thread = start_gameday(people, "start steady oncall=<@U1> secondary=<@U2>")
        wait_for_block(people, thread, "page:p0")
        # naming a role announces it in the thread; Slack now takes 4 s to answer that post
        people.fail_api("chat.postMessage", status=0, delay=4.0)
        result = people.slash("UFAC", "/sce", "role commander <@U2>")
        assert result["status"] == 200, result  # acked within Slack's 3 s, not left to time out
        assert result["ack_text"] is None, result  # the ack went out empty, before the answer
        assert result["text"] == "<@U2> is the commander.", result  # which followed it
        assert people.slash("UFAC", "/sce", "pause")["text"].startswith("Paused")  # Slack is quick again

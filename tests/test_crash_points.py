"""SIGKILL at the worst moments (SCE_FAILPOINTS), restart: nothing lost, nothing doubled, nothing left.

Each point runs SCE_RELIABILITY_RUNS times (1 by default); every run's figures are appended to
artifacts/reliability.jsonl, from which `make reliability` writes RELIABILITY.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from bot_process import ROOT, BotProcess
from test_faults_e2e import kubeconfig
from test_faults_kmock import NAMESPACE, KubeTestServer
from threads import start_gameday, wait_until

from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

RUNS = int(os.environ.get("SCE_RELIABILITY_RUNS", "1"))
SAYS = ["inject A", "inject B", "inject C"]
SCENARIO = f"""
id: crash-drill
title: Crash drill
charter:
  objective: Survive a crash anywhere.
  hypothesis: Every step runs once and no fault outlives its lease.
guardrails: {{namespaces: [{NAMESPACE}], max_duration: 5m}}
steps:
  - {{at: 0s, say: "inject A"}}
  - {{at: 0.5s, fault: {{type: k8s.network-deny, namespace: {NAMESPACE}, selector: {{app: web}}, ttl: 2s}}}}
  - {{at: 1s, say: "inject B"}}
  - {{at: 3s, say: "inject C"}}
"""


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def record(point: str, run: int, figures: dict[str, int]) -> None:
    out = ROOT / "artifacts"
    out.mkdir(exist_ok=True)
    with open(out / "reliability.jsonl", "a") as log:
        log.write(json.dumps({"test": "crash point", "point": point, "run": run, **figures}) + "\n")


@pytest.mark.parametrize("point", ["timer.claimed", "fault.intent", "post.sent", "debrief.render"])
@pytest.mark.parametrize("run", range(RUNS))
def test_sigkill_at_a_crash_point_then_restart(
    point: str,
    run: int,
    kube: KubeTestServer,
    workspace: LocalWorkspace,
    people: WorkspaceClient,
    scenarios_dir: Path,
    tmp_path: Path,
) -> None:
    (scenarios_dir / "crash-drill.yaml").write_text(SCENARIO)
    env = {"KUBECONFIG": str(kubeconfig(tmp_path, kube.url)), "SCE_ALLOWED_NAMESPACES": NAMESPACE}
    database = f"sqlite:///{tmp_path / 'crash.db'}"
    doomed = BotProcess(
        workspace.api_url,
        database,
        scenarios_dir,
        tmp_path / "doomed.log",
        extra_env={**env, "SCE_FAILPOINTS": point},
    ).start()
    workspace.request_url = doomed.url
    thread = start_gameday(people, "start crash-drill oncall=<@U1> secondary=<@U2>")
    assert doomed.proc is not None
    wait_until(
        lambda: doomed.proc is not None and doomed.proc.poll() is not None,
        timeout=30,
        what=f"the crash at {point}",
    )
    assert doomed.proc.returncode == -9  # it died by SIGKILL at the point, not otherwise
    survivor = BotProcess(
        workspace.api_url, database, scenarios_dir, tmp_path / "survivor.log", extra_env=env
    ).start()
    workspace.request_url = survivor.url
    try:
        wait_until(
            lambda: any("Debrief" in (m.get("text") or "") for m in people.messages("C1", thread_ts=thread)),
            timeout=60,
            what="the debrief after the restart",
        )
        wait_until(lambda: not kube.names("networkpolicies", NAMESPACE), timeout=30, what="the fault to end")
        texts = [m.get("text") or "" for m in people.messages("C1", thread_ts=thread)]
        timeline = survivor.debrief_json()["timeline"]
        steps = [e["data"]["step"] for e in timeline if e["kind"] == "step_ran"]
        figures = {
            "lost_steps": len({0, 1, 2, 3} - set(steps)),
            "doubled_steps": len(steps) - len(set(steps)),
            "doubled_messages": sum(max(0, sum(say in t for t in texts) - 1) for say in SAYS),
            "lost_messages": sum(1 for say in SAYS if not any(say in t for t in texts)),
            "debriefs": sum("Debrief:" in t for t in texts),
            "faults_applied": sum(e["kind"] == "fault_applied" for e in timeline),
            "faults_left": len(kube.names("networkpolicies", NAMESPACE)),
        }
        record(point, run, figures)
        assert figures == {
            "lost_steps": 0,
            "doubled_steps": 0,
            "doubled_messages": 0,
            "lost_messages": 0,
            "debriefs": 1,
            "faults_applied": 1,
            "faults_left": 0,
        }, (figures, texts)
    finally:
        survivor.stop()

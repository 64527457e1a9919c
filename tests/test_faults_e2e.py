"""Faults end to end: the bot in its own process against the Kubernetes test server, and a crash."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bot_process import BotProcess
from test_faults_kmock import NAMESPACE, KubeTestServer
from threads import start_gameday, wait_for_text, wait_until

from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

SCENARIO = f"""
id: lab-deny
title: Deny web traffic in the lab
charter: {{objective: See who notices a broken network, hypothesis: The on-call notices within 5 minutes.}}
guardrails: {{namespaces: [{NAMESPACE}], max_duration: 10m}}
steps:
  - at: 0s
    fault: {{type: k8s.network-deny, namespace: {NAMESPACE}, selector: {{app: web}}, ttl: 3s}}
  - at: 5m
    say: the end
"""


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def kubeconfig(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: test, cluster: {{server: '{url}'}}}}]\n"
        "users: [{name: bot, user: {token: test}}]\n"
        "contexts: [{name: test, context: {cluster: test, user: bot}}]\n"
        "current-context: test\n"
    )
    return path


def test_sigkill_right_after_apply_then_the_reaper_removes_the_object_by_its_labels(
    kube: KubeTestServer,
    workspace: LocalWorkspace,
    people: WorkspaceClient,
    scenarios_dir: Path,
    tmp_path: Path,
) -> None:
    (scenarios_dir / "lab-deny.yaml").write_text(SCENARIO)
    env = {"KUBECONFIG": str(kubeconfig(tmp_path, kube.url)), "SCE_ALLOWED_NAMESPACES": NAMESPACE}
    first = BotProcess(
        workspace.api_url, f"sqlite:///{tmp_path / 'a.db'}", scenarios_dir, tmp_path / "a.log", extra_env=env
    ).start()
    workspace.request_url = first.url
    start_gameday(people, "start lab-deny oncall=<@U1> secondary=<@U2>")
    wait_until(lambda: kube.names("networkpolicies", NAMESPACE), timeout=20, what="the NetworkPolicy")
    first.kill()
    policy = kube.read("networkpolicies", NAMESPACE, kube.names("networkpolicies", NAMESPACE)[0])
    assert policy is not None
    assert policy["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "sce"
    assert "sce.dev/expires-at" in policy["metadata"]["annotations"]
    time.sleep(3.5)  # the lease runs out while the bot is dead
    assert kube.names("networkpolicies", NAMESPACE)  # nothing else removed it
    # A new bot on an EMPTY database: only the labels in the cluster can tell it what to reap.
    second = BotProcess(
        workspace.api_url, f"sqlite:///{tmp_path / 'b.db'}", scenarios_dir, tmp_path / "b.log", extra_env=env
    ).start()
    try:
        wait_until(lambda: not kube.names("networkpolicies", NAMESPACE), timeout=20, what="the reaper")
    finally:
        second.stop()


def test_a_cluster_fault_in_the_demo_or_without_a_cluster_is_simulated_and_says_so(
    start_bot: Callable[..., BotProcess], people: WorkspaceClient, scenarios_dir: Path
) -> None:
    (scenarios_dir / "lab-deny.yaml").write_text(SCENARIO)
    start_bot(extra_env={"SCE_ALLOWED_NAMESPACES": NAMESPACE})  # no KUBECONFIG: no cluster
    thread = start_gameday(people, "start lab-deny oncall=<@U1> secondary=<@U2>")
    said = wait_for_text(people, thread, r"Fault applied")
    assert "simulated" in said["text"] and "no kubernetes cluster is configured" in said["text"].lower()


def test_validate_refuses_a_namespace_outside_either_allow_list(scenarios_dir: Path, tmp_path: Path) -> None:
    elsewhere = SCENARIO.replace(f"namespace: {NAMESPACE},", "namespace: payments,")
    (scenarios_dir / "lab-deny.yaml").write_text(elsewhere)
    bot = BotProcess(
        "http://127.0.0.1:9/api/", f"sqlite:///{tmp_path / 'v.db'}", scenarios_dir, tmp_path / "v.log"
    )
    scenario_only = bot.sce("validate", str(scenarios_dir / "lab-deny.yaml"))
    line = next(i for i, text in enumerate(elsewhere.splitlines(), 1) if "namespace: payments" in text)
    assert scenario_only.returncode == 1
    assert f"lab-deny.yaml:{line}: steps[0].fault.namespace: payments is not in guardrails.namespaces" in (
        scenario_only.stderr
    )
    (scenarios_dir / "lab-deny.yaml").write_text(SCENARIO)
    bot.env["SCE_ALLOWED_NAMESPACES"] = "staging"
    deployment = bot.sce("validate", str(scenarios_dir / "lab-deny.yaml"))
    assert deployment.returncode == 1 and "not in SCE_ALLOWED_NAMESPACES" in deployment.stderr
    bot.env["SCE_ALLOWED_NAMESPACES"] = NAMESPACE
    assert bot.sce("validate", str(scenarios_dir / "lab-deny.yaml")).returncode == 0

"""Abort: how long `/sce abort` takes to revert N active faults on the Kubernetes test API server.

The bot's own wiring (bot.runtime.service.build_services with KUBECONFIG pointing at the KubeTestServer of
tests/test_faults_kmock.py, the workspace as Slack) starts one game day whose steps apply N faults
(NetworkPolicies and honeytoken Secrets, alternating); then Engine.abort, which `/sce abort` calls before
it acks, is timed. The baseline deletes the same N objects with the official client, one call each.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client as k8s

from bench.databases import sqlite_url
from bench.procs import BOT_TOKEN, ROOT, SIGNING_SECRET, scenarios_dir
from bench.results import Row, Section
from bot.config import Settings
from bot.gameday.running.poller import fire_due_timers
from bot.gameday.timeline import Kind
from bot.runtime.service import build_services
from bot.slack.pacing import ChannelPacer
from bot.workspace.server import LocalWorkspace

TARGET_S = 2.0
KINDS = ("k8s.network-deny", "k8s.honeytoken")


@dataclass(frozen=True)
class Config:
    faults: int


FULL, QUICK = Config(faults=50), Config(faults=4)


def kube_harness() -> Any:
    """The Kubernetes test server class the tests use (tests/ is not a package)."""
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    return importlib.import_module("test_faults_kmock")


@contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def scenario(namespace: str, faults: int) -> str:
    steps = "".join(
        f"  - at: 0\n    fault: {{type: {KINDS[i % 2]}, namespace: {namespace}, "
        "selector: {app: web}, ttl: 30m}\n"
        for i in range(faults)
    )
    steps += "  - at: 50m\n    say: a last step, so the game day is still running when it is aborted\n"
    return (
        "id: bench-abort\ntitle: Abort benchmark\nmode: live\n"
        "charter: {objective: Revert every fault at once, hypothesis: An abort reverts everything quickly.}\n"
        f"guardrails: {{namespaces: [{namespace}], max_duration: 1h}}\nsteps:\n{steps}"
    )


def kubeconfig(path: Path, url: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: test, cluster: {{server: '{url}'}}}}]\n"
        "users: [{name: bot, user: {token: test}}]\n"
        "contexts: [{name: test, context: {cluster: test, user: bot}}]\ncurrent-context: test\n"
    )
    return path


def forget_requests(kube: Any) -> None:
    """Empty the test server's request log. kmock keeps every request and each new one costs more
    the longer that log is (about +0.1 ms per request served before), which would charge whoever
    is measured later for the requests of the set-up. Both measurements start from an empty log."""
    kube.emulator._requests.clear()


def bare_deletes(kube: Any, namespace: str, faults: int) -> float:
    """The floor: the same number of objects deleted with one official-client call each."""
    api_client = k8s.ApiClient(k8s.Configuration(host=kube.url))
    net, core = k8s.NetworkingV1Api(api_client), k8s.CoreV1Api(api_client)
    names = [f"bench-{i}" for i in range(faults)]
    for i, name in enumerate(names):
        if i % 2 == 0:
            kube.create(
                "networkpolicies", namespace, {"metadata": {"name": name}, "spec": {"podSelector": {}}}
            )
        else:
            kube.create("secrets", namespace, {"metadata": {"name": name}, "stringData": {"k": "v"}})
    forget_requests(kube)
    start = time.perf_counter()
    for i, name in enumerate(names):
        if i % 2 == 0:
            net.delete_namespaced_network_policy(name, namespace)
        else:
            core.delete_namespaced_secret(name, namespace)
    elapsed = time.perf_counter() - start
    api_client.close()
    return elapsed


def run(run_dir: Path, quick: bool) -> Section:
    config = QUICK if quick else FULL
    section = Section("Abort", "the same number of bare deletes with the official Kubernetes client")
    harness = kube_harness()
    namespace = harness.NAMESPACE
    with (
        harness.KubeTestServer() as kube,
        LocalWorkspace(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN) as workspace,
    ):
        settings = Settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=workspace.api_url,
            database_url=sqlite_url(run_dir, "abort"),
            scenarios_dir=scenarios_dir(run_dir),
            allowed_namespaces=frozenset({namespace}),
        )
        with environment(KUBECONFIG=str(kubeconfig(run_dir / "kubeconfig", kube.url))):
            services = build_services(settings)
        engine, store = services.engine, services.store
        announcer: Any = engine.announcer
        announcer.pacer = ChannelPacer(per_second=1e9, burst=10**9)  # set-up only: apply without pacing
        outcome = engine.start(
            scenario(namespace, config.faults), "C1", "UFAC", {"primary": "U1", "secondary": "U2"}
        )
        assert outcome.ok and outcome.gameday_id, outcome.message
        gameday = outcome.gameday_id
        deadline = time.monotonic() + 120
        applied = 0
        while applied < config.faults and time.monotonic() < deadline:
            fire_due_timers(store, engine, time.time())
            applied = sum(e.kind is Kind.FAULT_APPLIED for e in store.events(gameday))
        announcer.pacer = ChannelPacer()  # the abort runs as in production
        objects = len(kube.names("networkpolicies", namespace)) + len(kube.names("secrets", namespace))
        forget_requests(kube)
        start = time.perf_counter()
        result = engine.abort(gameday, "UFAC", "benchmark")
        elapsed = time.perf_counter() - start
        requests_made = len(kube.bot_requests())
        left = len(kube.names("networkpolicies", namespace)) + len(kube.names("secrets", namespace))
        reverted = sum(e.kind is Kind.FAULT_REVERTED for e in store.events(gameday))
        floor = bare_deletes(kube, namespace, config.faults)
    ok = result.ok and applied == config.faults and left == 0 and reverted == config.faults
    section.add(
        Row(
            f"abort with {config.faults} active faults",
            elapsed,
            "s",
            floor,
            f"< {TARGET_S:g} s",
            ok and elapsed < TARGET_S,
        )
    )
    section.notes.append(
        f"{applied} faults applied ({objects} objects in the cluster); the abort reverted {reverted}, left "
        f"{left} objects, and made {requests_made} Kubernetes API requests (the baseline makes "
        f"{config.faults}). `/sce abort` runs this before it acks, so it must stay well inside Slack's 3 s."
    )
    return section

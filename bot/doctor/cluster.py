"""Kubernetes: the bot may list pods in each namespace it may touch, when a cluster is configured."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from bot.doctor.findings import Finding, Probe, fail, first_line, ok, warn, why
from bot.faults.cluster import Cluster, api_error, api_status
from bot.gameday.scenario.model import SYSTEM_NAMESPACES

if TYPE_CHECKING:  # imported once a cluster is configured (bot/faults/cluster.py)
    from kubernetes import client as k8s


def check_kubernetes(probe: Probe) -> Iterator[Finding]:
    """The rule: faults are real exactly when a cluster is configured (as `sce serve` decides). Without
    one, there is nothing to check; with one, the bot must be able to list pods in every namespace of
    SCE_ALLOWED_NAMESPACES."""
    allowed = probe.settings.allowed_namespaces
    for namespace in sorted(allowed & SYSTEM_NAMESPACES):
        yield warn(
            "kubernetes",
            f"{namespace} is a system namespace: no fault ever runs there, "
            "whatever SCE_ALLOWED_NAMESPACES says",
        )
    try:
        cluster = Cluster.from_environment(allowed, dict(probe.env))
    except Exception as exc:  # a kubeconfig that cannot be read
        yield fail(
            "kubernetes",
            f"the cluster configuration (KUBECONFIG or in-cluster) cannot be read: {first_line(exc)}",
        )
        return
    if cluster is None:
        if allowed - SYSTEM_NAMESPACES:
            yield warn(
                "kubernetes",
                f"SCE_ALLOWED_NAMESPACES names {', '.join(sorted(allowed - SYSTEM_NAMESPACES))} but no "
                "cluster is configured (no KUBECONFIG, not running in a cluster): cluster faults are "
                "simulated",
            )
        else:
            yield ok(
                "kubernetes", "no cluster is configured, so cluster faults are simulated (nothing to check)"
            )
        return
    if not cluster.allowed_namespaces:
        yield warn(
            "kubernetes",
            "a cluster is configured but SCE_ALLOWED_NAMESPACES names no namespace, so every cluster fault "
            "is refused",
        )
        return
    from kubernetes import client as k8s

    configuration = cluster.configuration
    configuration.retries = False  # one attempt: the check ends within its timeout
    with k8s.ApiClient(configuration) as api_client:
        yield from _list_pods(
            k8s.CoreV1Api(api_client), configuration.host, cluster.allowed_namespaces, probe
        )


def _list_pods(core: k8s.CoreV1Api, host: str, namespaces: frozenset[str], probe: Probe) -> Iterator[Finding]:
    for namespace in sorted(namespaces):
        try:
            core.list_namespaced_pod(
                namespace, limit=1, _request_timeout=probe.timeout, _preload_content=False
            )
        except Exception as exc:
            status = api_status(exc)
            if status is not None:  # the API server answered, with a refusal
                hint = {
                    401: ": it does not accept the bot's credentials",
                    403: ": bind the bot's Role (deploy/role.yaml) in that namespace",
                }.get(status, "")
                yield fail(
                    "kubernetes", f"the cluster refused to list pods in {namespace} ({api_error(exc)}){hint}"
                )
                continue
            yield fail("kubernetes", f"cannot reach the Kubernetes API at {host}: {why(exc)}")
            return
        else:
            yield ok("kubernetes", f"the bot can list pods in {namespace} at {host}")

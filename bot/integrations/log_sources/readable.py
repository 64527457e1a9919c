"""Preflight's log sources: every live ``logs:`` step can be read before the game day starts. A pod log
source needs the bot allowed to list pods and read their logs in its namespace (a SelfSubjectAccessReview
each); a Loki source needs Loki to answer the step's query. Without the source configured at all (no
cluster, no SCE_LOKI_URL) a game day whose every fault is simulated still starts, as nothing real is at
risk, and the step says in the thread that it cannot follow; with real faults it does not start."""

from __future__ import annotations

from bot.faults.access import review
from bot.faults.cluster import Cluster
from bot.gameday.preflight import Check
from bot.gameday.scenario.model import Scenario
from bot.integrations.log_sources.loki import loki_problem

LOG_READS = (("list", "pods", ""), ("get", "pods", "log"))  # find the pods, then follow each one's log


def log_source_checks(
    scenario: Scenario, cluster: Cluster | None, loki_url: str | None, changes_nothing: bool
) -> list[Check]:
    """One check per live logs step (per permission for a pod log source)."""
    checks: list[Check] = []
    for index, step in enumerate(scenario.steps):
        spec = step.logs
        if spec is None or spec.source not in ("kubernetes", "loki"):
            continue
        name = f"logs of step {index} ({spec.source})"
        if spec.source == "kubernetes":
            if cluster is None:
                checks.append(_absent(name, "no Kubernetes cluster is configured", changes_nothing))
            elif spec.namespace not in cluster.allowed_namespaces:
                why = f"namespace {spec.namespace} is not in SCE_ALLOWED_NAMESPACES for this deployment"
                checks.append(Check(name, False, why))
            else:
                from kubernetes import client as k8s  # a cluster is configured: already imported

                with k8s.ApiClient(cluster.configuration) as api_client:
                    reviews = k8s.AuthorizationV1Api(api_client)
                    for verb, resource, sub in LOG_READS:
                        permission = (verb, "", resource, str(spec.namespace))
                        checks.append(review(reviews, permission, sub, "its logs could not be followed"))
        elif not loki_url:
            checks.append(_absent(name, "SCE_LOKI_URL is not set", changes_nothing))
        else:
            problem = loki_problem(loki_url, str(spec.query))
            checks.append(
                Check(name, problem is None, problem or "Loki answers the query", problem is not None)
            )
    return checks


def _absent(name: str, why: str, changes_nothing: bool) -> Check:
    if changes_nothing:
        said = (
            f"not readable here: {why}; every fault is simulated, so the step says so in the thread instead"
        )
        return Check(name, True, said, blind=True)
    return Check(name, False, f"{why}: configure it, or remove the step (its logs could not be followed)")

"""deploy/: every manifest is schema-valid, the kustomization lists them, the Deployment is locked down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from test_faults_manifests import SCHEMA

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
KUSTOMIZATION = DEPLOY / "kustomization.yaml"
SECRET_EXAMPLE = DEPLOY / "secret.example.yaml"
MANIFESTS = sorted(p for p in DEPLOY.glob("*.y*ml") if p != KUSTOMIZATION)


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def the(kind: str) -> dict[str, Any]:
    (found,) = [doc for path in MANIFESTS for doc in load(path) if doc["kind"] == kind]
    return found


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_validates_against_the_kubernetes_schema(path: Path) -> None:
    docs = load(path)
    assert docs, f"{path.name} holds no manifest"
    for doc in docs:
        kubernetes_validate.validate(doc, SCHEMA, strict=True)


def test_the_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    (kustomization,) = load(KUSTOMIZATION)
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    listed = kustomization["resources"]
    assert sorted(listed) == sorted(p.name for p in MANIFESTS if p != SECRET_EXAMPLE)
    assert len(set(listed)) == len(listed)
    # a namespace here would move the Role and RoleBinding out of the game-day namespace
    assert "namespace" not in kustomization


def deployment_container() -> dict[str, Any]:
    (container,) = the("Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def test_two_replicas_selected_by_their_own_labels() -> None:
    spec = the("Deployment")["spec"]
    assert spec["replicas"] == 2
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    assert spec["strategy"]["rollingUpdate"]["maxSurge"] == 1  # replicas start one at a time
    assert spec["template"]["spec"]["serviceAccountName"] == the("ServiceAccount")["metadata"]["name"]


def test_probes_liveness_on_healthz_and_readiness_on_readyz() -> None:
    container = deployment_container()
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        http_get = container[probe]["httpGet"]
        assert http_get["path"] == path
        assert http_get["port"] in ports or http_get["port"] in ports.values()


def test_non_root_read_only_and_without_privileges() -> None:
    pod = the("Deployment")["spec"]["template"]["spec"]
    container = deployment_container()
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"] and "add" not in context["capabilities"]
    assert context.get("privileged", False) is False
    # a read-only root needs somewhere to write temporary files
    assert any(mount["mountPath"] == "/tmp" for mount in container["volumeMounts"])


def test_resources_are_requested_and_limited() -> None:
    resources = deployment_container()["resources"]
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= resources[bound].keys()


def test_credentials_come_from_the_secret_and_the_template_has_placeholders_only() -> None:
    env = {item["name"]: item for item in deployment_container()["env"]}
    secret = the("Secret")
    refs = {name: item["valueFrom"]["secretKeyRef"] for name, item in env.items() if "valueFrom" in item}
    for required in ("DATABASE_URL", "SLACK_BOT_TOKEN"):
        assert required in refs and not refs[required].get("optional", False)
    for name in ("DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        assert "value" not in env[name], f"{name} is written into the Deployment"
    assert {ref["name"] for ref in refs.values()} == {secret["metadata"]["name"]}
    assert {ref["key"] for ref in refs.values()} == set(secret["stringData"])
    assert secret["metadata"]["namespace"] == the("Deployment")["metadata"]["namespace"]
    assert all(value == "" or "REPLACE_ME" in value for value in secret["stringData"].values())

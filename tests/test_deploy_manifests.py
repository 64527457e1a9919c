"""deploy/: every manifest is schema-valid, the kustomization lists them, the Deployment is locked down,
every namespace it uses is created and restricted, the Service reaches the bot, and the team's scenarios
and rotations load from the read-only ConfigMap volumes as the pod sees them."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any, cast

import kubernetes_validate
import pytest
import yaml
from test_attack_pod_policy import restricted_violations
from test_faults_manifests import SCHEMA

from bot.gameday.scenario.catalog import RotationCatalog, ScenarioCatalog

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
    return cast(dict[str, Any], container)


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


# -- namespaces -----------------------------------------------------------------------------------------

PRE_EXISTING_NAMESPACES: set[str] = set()  # namespaces deploy/ uses but expects to exist (none)


def all_documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in load(path)]


def namespaces_used() -> dict[str, set[str]]:
    """Every namespace deploy/ names -> where it is named."""
    used: dict[str, set[str]] = {}
    for doc in all_documents():
        where = f"{doc['kind']} {doc['metadata']['name']}"
        if "namespace" in doc["metadata"]:
            used.setdefault(doc["metadata"]["namespace"], set()).add(where)
        for subject in doc.get("subjects", []):
            if "namespace" in subject:
                used.setdefault(subject["namespace"], set()).add(f"{where} subject")
    env = {item["name"]: item.get("value", "") for item in deployment_container()["env"]}
    for namespace in env.get("SCE_ALLOWED_NAMESPACES", "").split(","):
        if namespace.strip():
            used.setdefault(namespace.strip(), set()).add("SCE_ALLOWED_NAMESPACES")
    return used


def namespaces_created() -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in all_documents() if doc["kind"] == "Namespace"}


def test_every_namespace_deploy_uses_is_created_by_deploy() -> None:
    used = namespaces_used()
    assert {"sce", "chaos-lab"} <= used.keys()
    missing = {ns: where for ns, where in used.items() if ns not in namespaces_created()}
    missing = {ns: where for ns, where in missing.items() if ns not in PRE_EXISTING_NAMESPACES}
    assert not missing, f"used but never created: {missing}"
    assert not set(namespaces_created()) - used.keys(), "a namespace is created that nothing uses"


def test_every_game_day_namespace_has_the_role_the_drivers_need() -> None:
    env = {item["name"]: item.get("value", "") for item in deployment_container()["env"]}
    allowed = {ns.strip() for ns in env["SCE_ALLOWED_NAMESPACES"].split(",") if ns.strip()}
    for kind in ("Role", "RoleBinding"):
        granted = {doc["metadata"]["namespace"] for doc in all_documents() if doc["kind"] == kind}
        assert allowed <= granted, f"no {kind} in {sorted(allowed - granted)}"


def test_the_namespaces_enforce_restricted_and_the_bot_s_pod_meets_it() -> None:
    for name, namespace in namespaces_created().items():
        labels = namespace["metadata"].get("labels", {})
        assert labels.get("pod-security.kubernetes.io/enforce") == "restricted", name
    pod = {"spec": the("Deployment")["spec"]["template"]["spec"]}
    assert restricted_violations(pod) == []


# -- the Service --------------------------------------------------------------------------------------


def service_problems(service: dict[str, Any], deployment: dict[str, Any]) -> list[str]:
    """Every way ``service`` fails to reach the bot's HTTP port; empty when it reaches it."""
    problems = []
    if service["metadata"]["namespace"] != deployment["metadata"]["namespace"]:
        problems.append("the Service is in another namespace")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = service["spec"].get("selector") or {}
    if not selector or not selector.items() <= labels.items():
        problems.append(f"the selector {selector} selects no pod of the Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    for port in service["spec"]["ports"]:
        if port["targetPort"] not in ports and port["targetPort"] not in ports.values():
            problems.append(f"targetPort {port['targetPort']} is no port of the container")
    if [(p["name"], p["port"]) for p in service["spec"]["ports"]] != [("http", 3000)]:
        problems.append("the Service does not serve port 3000 as http")
    # alert webhooks and metrics are for the cluster: publishing them is the team's own Ingress
    if service["spec"].get("type", "ClusterIP") != "ClusterIP":
        problems.append(f"the Service is of type {service['spec']['type']}")
    return problems


def test_the_service_reaches_the_bot_s_http_port() -> None:
    assert service_problems(the("Service"), the("Deployment")) == []


@pytest.mark.parametrize(
    "change",
    [
        {"selector": {"app.kubernetes.io/name": "other"}},
        {"selector": {}},
        {"ports": [{"name": "http", "port": 3000, "targetPort": "metrics"}]},
        {"ports": [{"name": "http", "port": 3000, "targetPort": 8080}]},
        {"ports": [{"name": "web", "port": 80, "targetPort": "http"}]},
        {"type": "LoadBalancer"},
    ],
)
def test_the_service_check_catches_a_service_that_misses(change: dict[str, Any]) -> None:
    broken = copy.deepcopy(the("Service"))
    broken["spec"].update(change)
    assert service_problems(broken, the("Deployment"))


# -- scenarios and rotations -----------------------------------------------------------------------

REPO = DEPLOY.parent


def config_map_sources() -> dict[str, list[dict[str, Any]]]:
    """mountPath -> the ConfigMap sources of the volume mounted there."""
    volumes = {v["name"]: v for v in the("Deployment")["spec"]["template"]["spec"]["volumes"]}
    found = {}
    for mount in deployment_container()["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            found[mount["mountPath"]] = [volume["configMap"]]
        elif "projected" in volume:
            found[mount["mountPath"]] = [s["configMap"] for s in volume["projected"]["sources"]]
    return found


def test_every_config_map_is_mounted_read_only() -> None:
    volumes = {v["name"]: v for v in the("Deployment")["spec"]["template"]["spec"]["volumes"]}
    mounts = deployment_container()["volumeMounts"]
    from_config_maps = [m for m in mounts if {"configMap", "projected"} & volumes[m["name"]].keys()]
    assert {m["mountPath"] for m in from_config_maps} == {"/etc/sce/scenarios", "/etc/sce/rotations"}
    for mount in from_config_maps:
        assert mount.get("readOnly") is True, f"{mount['mountPath']} is writable"
        assert "subPath" not in mount, "a subPath mount never sees a ConfigMap's updates"


def kubelet_volume(root: Path, files: dict[str, Path]) -> Path:
    """A folder laid out as the kubelet writes a ConfigMap volume: the files in a timestamped folder,
    `..data` linking to it, and a link per top-level name (the layout the bot reads in the pod)."""
    stamp = root / "..2026_12_03_08_00_00.000000001"
    for path, source in files.items():
        (stamp / path).parent.mkdir(parents=True, exist_ok=True)
        (stamp / path).write_bytes(source.read_bytes())
    (root / "..data").symlink_to(stamp.name)
    for top in {path.split("/")[0] for path in files}:
        (root / top).symlink_to(f"..data/{top}")
    return root


def projected_files(sources: list[dict[str, Any]], folders: dict[str, Path]) -> dict[str, Path]:
    """The files a volume of these ConfigMap sources holds, each ConfigMap made as docs/install.md
    makes it: `kubectl create configmap NAME --from-file=FOLDER` (the folder's files, not its folders)."""
    files: dict[str, Path] = {}
    for source in sources:
        folder = folders[source["name"]]
        keys = {p.name: p for p in folder.iterdir() if p.is_file()}
        items = source.get("items")
        for key, path in ((i["key"], i["path"]) for i in items) if items else ((k, k) for k in keys):
            assert key in keys, f"{source['name']} has no key {key} ({folder} has no such file)"
            files[path] = keys[key]
    return files


FOLDERS = {
    "sce-scenarios": REPO / "scenarios",
    "sce-scenario-data": REPO / "scenarios" / "data",
    "sce-rotations": REPO / "rotations",
}


def test_the_shipped_scenarios_load_from_the_config_map_volume_as_the_pod_sees_it(tmp_path: Path) -> None:
    sources = config_map_sources()
    assert {s["name"] for found in sources.values() for s in found} == FOLDERS.keys()
    scenarios = kubelet_volume(
        tmp_path / "scenarios", projected_files(sources["/etc/sce/scenarios"], FOLDERS)
    )
    rotations = kubelet_volume(
        tmp_path / "rotations", projected_files(sources["/etc/sce/rotations"], FOLDERS)
    )
    catalog = ScenarioCatalog(scenarios)
    shipped = sorted(p.stem for p in (REPO / "scenarios").glob("*.yaml"))
    assert catalog.ids() == shipped
    attached = 0
    for scenario_id in shipped:  # with attachments: every logs.file and sbom.file is found
        loaded = catalog.load(scenario_id)
        attached += loaded.text.startswith("# attachments read in")
    assert attached >= 2, "the scenarios with logs.file / sbom.file were not read in"
    (rotation,) = RotationCatalog(rotations).files()
    assert RotationCatalog(rotations).text_for(rotation.stem)


def test_every_shipped_data_file_is_put_back_under_data() -> None:
    (data,) = [s for s in config_map_sources()["/etc/sce/scenarios"] if s["name"] == "sce-scenario-data"]
    assert data.get("optional") is True, "a team without data files needs no such ConfigMap"
    items = {item["key"]: item["path"] for item in data["items"]}
    shipped = {p.name for p in (REPO / "scenarios" / "data").iterdir() if p.is_file()}
    assert items == {name: f"data/{name}" for name in shipped}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl's kustomize builds deploy/")
def test_kustomize_builds_deploy_into_valid_objects_running_the_image_it_names() -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    docs = [doc for doc in yaml.safe_load_all(built) if doc]
    for doc in docs:
        kubernetes_validate.validate(doc, SCHEMA, strict=True)
    listed = [doc for path in MANIFESTS if path != SECRET_EXAMPLE for doc in load(path)]
    assert sorted(d["kind"] for d in docs) == sorted(d["kind"] for d in listed)
    (image,) = load(KUSTOMIZATION)[0]["images"]
    (deployment,) = [doc for doc in docs if doc["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{image['newName']}:{image['newTag']}"

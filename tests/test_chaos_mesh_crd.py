"""Every Chaos Mesh resource the driver renders is one the Kubernetes API server takes whole.

Each PodChaos, NetworkChaos and DNSChaos variant is checked against the openAPIV3Schema of Chaos Mesh's
published CRDs (`tests/schemas/chaos-mesh`, where they come from is in `tests/schemas/README.md`), the
way the API server checks a structural schema. A field the schema does not know is an error here: the
API server would prune it, and the setting would be silently lost.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_faults_kmock import NAMESPACE, KubeTestServer

from bot.faults.chaos_mesh import ChaosMeshDriver
from bot.gameday.ports import FaultRejected
from bot.gameday.scenario.model import FaultSpec

SCHEMAS = Path(__file__).resolve().parent / "schemas" / "chaos-mesh"
API_VERSION = "chaos-mesh.org/v1alpha1"
FILES = {"PodChaos": "podchaos.json", "NetworkChaos": "networkchaos.json", "DNSChaos": "dnschaos.json"}
GD, EXPIRES = "gd-0badcafe", 1_800_000_600.0


# -- the API server's checks of a structural schema, in JSON Schema terms --------------------------------


def api_server_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of an OpenAPI v3 structural schema that a JSON Schema validator reads as the API server does.

    The published schema is not changed.
    """
    return _structural(copy.deepcopy(schema))


def _structural(node: dict[str, Any]) -> dict[str, Any]:
    """One node and the nodes below it, tightened in place (a nullable node comes back wrapped):

    - an object with ``properties`` takes no other key, unless it keeps unknown fields
      (``x-kubernetes-preserve-unknown-fields``): the API server prunes them;
    - ``x-kubernetes-int-or-string`` takes an integer or a string;
    - ``nullable`` also takes null, whatever else the node says.
    Only the structure (properties, items, additionalProperties) is followed: allOf, anyOf, oneOf and
    not only validate values there, they never decide which fields are kept.
    """
    for name, child in node.get("properties", {}).items():
        node["properties"][name] = _structural(child)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            node[key] = _structural(node[key])
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        node.setdefault("additionalProperties", False)
    if node.get("x-kubernetes-int-or-string"):
        node["type"] = ["integer", "string"]
    if node.get("nullable"):
        return {"anyOf": [{"type": "null"}, node]}
    return node


@cache
def validator(kind: str) -> Any:
    """The validator for one kind, its schema read once.

    The body's ``apiVersion`` and ``kind`` must be the CRD's (the API server takes a body only at its
    own kind's endpoint), and ``metadata`` is required.
    """
    published = json.loads((SCHEMAS / FILES[kind]).read_text(encoding="utf-8"))
    schema = api_server_schema(published)
    schema["properties"]["apiVersion"]["const"] = API_VERSION
    schema["properties"]["kind"]["const"] = kind
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def problems(kind: str, body: dict[str, Any]) -> list[str]:
    """Each reason the API server would refuse ``body`` at ``kind``'s endpoint (or prune part of it),
    as ``path: message``."""
    errors = sorted(validator(kind).iter_errors(body), key=lambda error: error.json_path)
    return [f"{error.json_path}: {error.message}" for error in errors]


# -- the resources the driver renders --------------------------------------------------------------------

POD, NET, DNS = "chaos-mesh.pod-chaos", "chaos-mesh.network-chaos", "chaos-mesh.dns-chaos"
KMS = ["kms.eu-west-1.amazonaws.com"]
VARIANTS: dict[str, dict[str, Any]] = {
    # PodChaos: each action
    "pod-default": {"type": POD},
    "pod-kill": {"type": POD, "action": "pod-kill"},
    "pod-failure": {"type": POD, "action": "pod-failure"},
    "container-kill": {"type": POD, "action": "container-kill", "container_names": ["api", "sidecar"]},
    "pod-failure-containers": {"type": POD, "action": "pod-failure", "container_names": ["api"]},
    # every mode, with the values the rules take (YAML numbers too)
    "mode-one": {"type": POD, "mode": "one"},
    "mode-all": {"type": POD, "mode": "all"},
    "mode-fixed": {"type": POD, "mode": "fixed", "value": "3"},
    "mode-fixed-number": {"type": POD, "mode": "fixed", "value": 2},
    "mode-fixed-percent": {"type": POD, "mode": "fixed-percent", "value": "50"},
    "mode-fixed-percent-100": {"type": POD, "mode": "fixed-percent", "value": 100},
    "mode-random-max-percent": {"type": POD, "mode": "random-max-percent", "value": "1"},
    "net-mode-fixed": {"type": NET, "external_targets": KMS, "mode": "fixed", "value": 1},
    "dns-mode-random-max": {"type": DNS, "patterns": ["kms.*"], "mode": "random-max-percent", "value": 30},
    # NetworkChaos delay: latency and jitter in every form of Go duration the rules take
    "delay-default": {"type": NET, "external_targets": KMS},
    "delay": {"type": NET, "action": "delay", "external_targets": KMS, "latency": "2s", "jitter": "500ms"},
    "delay-fraction": {"type": NET, "external_targets": KMS, "latency": "1.5s", "jitter": "0.25s"},
    "delay-minutes": {"type": NET, "external_targets": KMS, "latency": "1m", "jitter": "1h"},
    "delay-micro": {"type": NET, "external_targets": KMS, "latency": "800us", "jitter": "10µs"},
    "delay-greek-mu": {"type": NET, "external_targets": KMS, "latency": "250ns", "jitter": "3μs"},
    "delay-compound": {"type": NET, "external_targets": KMS, "latency": "1m30s", "jitter": "1s500ms"},
    "delay-zero": {"type": NET, "external_targets": KMS, "latency": "0", "jitter": "0"},
    "delay-signed": {"type": NET, "external_targets": KMS, "latency": "+2s", "jitter": "+0ms"},
    "delay-bare-fraction": {"type": NET, "external_targets": KMS, "latency": ".5s", "jitter": "1.s"},
    "delay-direction-to": {"type": NET, "external_targets": KMS, "direction": "to"},
    # NetworkChaos loss
    "loss-default": {"type": NET, "action": "loss", "external_targets": KMS},
    "loss-number": {"type": NET, "action": "loss", "external_targets": KMS, "loss": 30},
    "loss-fraction": {"type": NET, "action": "loss", "external_targets": KMS, "loss": "12.5"},
    "loss-none": {"type": NET, "action": "loss", "external_targets": KMS, "loss": "0"},
    "loss-all": {"type": NET, "action": "loss", "external_targets": KMS, "loss": 100},
    # NetworkChaos partition, in each direction, to hosts, addresses and ranges
    "partition-to": {"type": NET, "action": "partition", "external_targets": KMS, "direction": "to"},
    "partition-from": {"type": NET, "action": "partition", "external_targets": KMS, "direction": "from"},
    "partition-both": {"type": NET, "action": "partition", "external_targets": KMS, "direction": "both"},
    "partition-many": {
        "type": NET,
        "action": "partition",
        "external_targets": ["kms.example", "10.0.0.7", "192.168.0.0/16"],
    },
    # DNSChaos
    "dns-default": {"type": DNS, "patterns": ["kms.*"]},
    "dns-error": {"type": DNS, "action": "error", "patterns": ["kms.*", "*.amazonaws.com"]},
    "dns-random": {"type": DNS, "action": "random", "patterns": ["secretsmanager.?????.amazonaws.com"]},
    "dns-all": {"type": DNS, "action": "error", "patterns": ["*"], "mode": "all"},
    # the fault's ttl, Chaos Mesh's duration
    "ttl-short": {"type": POD, "ttl": 0.5},
    "ttl-hours": {"type": NET, "external_targets": KMS, "ttl": "2h"},
}


@pytest.fixture(scope="module")
def driver() -> Iterator[ChaosMeshDriver]:
    with KubeTestServer() as kube:
        yield ChaosMeshDriver(kube.cluster())


def render(driver: ChaosMeshDriver, keys: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The kind and body the driver would create for one fault step's keys."""
    spec = FaultSpec.model_validate(
        {"namespace": NAMESPACE, "selector": {"app": "web"}, "ttl": "90s", **keys}
    )
    kind, body = driver.resource(GD, "f1", spec, EXPIRES)
    return kind.kind, body


@pytest.mark.parametrize("keys", VARIANTS.values(), ids=VARIANTS.keys())
def test_each_rendered_resource_fits_its_crd_schema(driver: ChaosMeshDriver, keys: dict[str, Any]) -> None:
    assert problems(*render(driver, keys)) == []


def test_the_variants_cover_every_action_mode_and_direction_the_rules_take(driver: ChaosMeshDriver) -> None:
    """A new action, mode or direction in the parameter rules needs a variant here."""
    bodies = [render(driver, keys)[1] for keys in VARIANTS.values()]
    assert {(body["kind"], body["spec"]["action"]) for body in bodies} == {
        ("PodChaos", "pod-kill"),
        ("PodChaos", "pod-failure"),
        ("PodChaos", "container-kill"),
        ("NetworkChaos", "delay"),
        ("NetworkChaos", "loss"),
        ("NetworkChaos", "partition"),
        ("DNSChaos", "error"),
        ("DNSChaos", "random"),
    }
    specs = [body["spec"] for body in bodies]
    assert {spec["mode"] for spec in specs} == {"one", "all", "fixed", "fixed-percent", "random-max-percent"}
    assert {spec["direction"] for spec in specs if "direction" in spec} == {"to", "from", "both"}


@pytest.mark.parametrize(
    ("latency", "jitter", "sent"),
    [
        ("200ms", "0ms", ("200ms", "0ms")),
        ("1.5s", "0.25s", ("1.5s", "0.25s")),
        ("1m30s", "1s500ms", ("90s", "1500ms")),
        ("2h45m", "1h0m", ("165m", "1h")),
        ("0", "+0ms", ("0ms", "0ms")),
        ("+2s", "-0s", ("2s", "0ms")),
        ("10µs", "3μs", ("10us", "3us")),
        (".5s", "1.s", ("500ms", "1s")),
    ],
)
def test_a_go_duration_is_sent_as_the_same_length_in_the_crds_form(
    driver: ChaosMeshDriver, latency: str, jitter: str, sent: tuple[str, str]
) -> None:
    keys = {"type": NET, "external_targets": KMS, "latency": latency, "jitter": jitter}
    delay = render(driver, keys)[1]["spec"]["delay"]
    assert (delay["latency"], delay["jitter"]) == sent


def test_a_negative_latency_fits_no_crd_form_and_is_refused(driver: ChaosMeshDriver) -> None:
    with pytest.raises(FaultRejected, match="`latency:` -1s is negative"):
        render(driver, {"type": NET, "external_targets": KMS, "latency": "-1s"})


# -- the checks fail when they should ----------------------------------------------------------------------


def with_change(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``body`` with the dotted ``path`` set to ``value``."""
    changed = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = changed
    for key in parents:
        node = node[key]
    node[last] = value
    return changed


@pytest.mark.parametrize(
    ("variant", "path", "value", "said"),
    [
        ("container-kill", "spec.containerName", ["api"], "$.spec: Additional properties"),
        (
            "pod-default",
            "spec.selector.labelSelector",
            {"app": "web"},
            "$.spec.selector: Additional properties",
        ),
        ("pod-default", "spec.mode", 3, "$.spec.mode: 3 is not of type 'string'"),
        ("pod-default", "spec.mode", "half", "$.spec.mode: 'half' is not one of"),
        ("pod-default", "spec.action", "node-kill", "$.spec.action: 'node-kill' is not one of"),
        ("pod-default", "spec.duration", 90, "$.spec.duration: 90 is not of type 'string'"),
        ("mode-fixed", "spec.value", 3, "$.spec.value: 3 is not of type 'string'"),
        ("delay", "spec.direction", "sideways", "$.spec.direction: 'sideways' is not one of"),
        ("delay", "spec.delay.latency", "1m30s", "$.spec.delay.latency: '1m30s' does not match"),
        ("delay", "spec.delay.jiter", "5ms", "$.spec.delay: Additional properties"),
        (
            "delay",
            "spec.externalTargets",
            "kms.example",
            "$.spec.externalTargets: 'kms.example' is not of type",
        ),
        ("loss-number", "spec.loss.loss", 30, "$.spec.loss.loss: 30 is not of type 'string'"),
        ("dns-error", "spec.action", "nxdomain", "$.spec.action: 'nxdomain' is not one of"),
        ("dns-error", "spec.patterns", "kms.*", "$.spec.patterns: 'kms.*' is not of type 'array'"),
        (
            "dns-error",
            "apiVersion",
            "chaos-mesh.org/v1",
            "$.apiVersion: 'chaos-mesh.org/v1alpha1' was expected",
        ),
        ("dns-error", "kind", "PodChaos", "$.kind: 'DNSChaos' was expected"),
        ("dns-error", "metadata", "sce", "$.metadata: 'sce' is not of type 'object'"),
        ("dns-error", "spek", {}, "$: Additional properties"),
    ],
)
def test_a_changed_body_is_refused_at_its_field(
    driver: ChaosMeshDriver, variant: str, path: str, value: Any, said: str
) -> None:
    kind, body = render(driver, VARIANTS[variant])
    assert problems(kind, body) == []
    found = problems(kind, with_change(body, path, value))
    where = said.split(": ")[0]
    assert any(problem.startswith(said) for problem in found), found
    assert all(problem.startswith(f"{where}: ") for problem in found), found


def test_a_missing_required_field_is_refused(driver: ChaosMeshDriver) -> None:
    kind, body = render(driver, VARIANTS["pod-default"])
    del body["spec"]["selector"]
    assert problems(kind, body) == ["$.spec: 'selector' is a required property"]
    del body["apiVersion"]
    assert problems(kind, body)[0] == "$: 'apiVersion' is a required property"


# -- the structural rules the three CRDs do not use, on a schema of their own ---------------------------

OTHER = {
    "type": "object",
    "properties": {
        "port": {"x-kubernetes-int-or-string": True},
        "note": {"type": "string", "nullable": True, "enum": ["a", "b"]},
        "raw": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"n": {"type": "integer"}},
        },
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "items": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
    },
}


def other_problems(instance: dict[str, Any]) -> list[str]:
    errors = jsonschema.Draft202012Validator(api_server_schema(OTHER)).iter_errors(instance)
    return sorted(f"{error.json_path}: {error.message}" for error in errors)


def test_int_or_string_nullable_and_kept_unknown_fields_are_read_as_the_api_server_does() -> None:
    fine = {
        "port": 8080,
        "note": None,
        "raw": {"n": 1, "anything": [1]},
        "labels": {"a": "b"},
        "items": [{"k": "v"}],
    }
    assert other_problems(fine) == []
    assert other_problems({"port": "http", "note": "a"}) == []
    assert other_problems({"port": 1.5}) == ["$.port: 1.5 is not of type 'integer', 'string'"]
    assert other_problems({"note": "c"})[0].startswith(
        "$.note: 'c' is not valid under any of the given schemas"
    )
    assert other_problems({"raw": {"n": "one"}}) == ["$.raw.n: 'one' is not of type 'integer'"]
    assert other_problems({"labels": {"a": 1}}) == ["$.labels.a: 1 is not of type 'string'"]
    assert other_problems({"items": [{"key": "v"}]})[0].startswith("$.items[0]: Additional properties")
    assert other_problems({"extra": 1})[0].startswith("$: Additional properties")
    assert "additionalProperties" not in OTHER

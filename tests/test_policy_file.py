"""The policy file (SCE_POLICY) as written by a deployment's operators, and as an attacker or a typo writes
it: every mistake is one line naming the file, the line and the field, never a traceback; hostile YAML is
refused before it expands; a broken policy stops `sce serve` (and every other command) at start.

Expected lines are written out here from the file texts, not taken from the code under test.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bot.config import SettingError, Settings
from bot.faults.chaos_mesh import ChaosMeshDriver
from bot.faults.kubernetes_driver import KubernetesDriver
from bot.gameday.policy.loading import PolicyError, load_policy_file, parse_policy
from bot.gameday.policy.model import KNOWN_FAULT_TYPES

ROOT = Path(__file__).resolve().parents[1]
SHAPE = "a policy must be a YAML mapping (version, namespaces, attack_images, ceilings, approvals)"
KNOWN = (
    "k8s.pod-delete, k8s.network-deny, k8s.attack-pod, k8s.honeytoken, k8s.scale, k8s.token-revoke, "
    "chaos-mesh.pod-chaos, chaos-mesh.network-chaos, chaos-mesh.dns-chaos"
)
GOOD = """\
version: 1
namespaces:
  chaos-lab: {faults: [k8s.pod-delete, k8s.token-revoke], max_ttl: 30m, max_targets: 5}
  web:
    faults: [k8s.pod-delete]
    max_ttl: 10m
attack_images: ["registry.example/probe:1"]
ceilings: {ttl: 1h, targets: 10, duration: 2h}
approvals:
  - {faults: [k8s.token-revoke], approvers: [U012AB3CD, S0614TZR7]}
"""


def problems(text: str, source: str = "policy.yaml") -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source)
    lines = str(caught.value).splitlines()
    assert lines == [str(p) for p in caught.value.problems]
    return lines


def test_the_shipped_example_is_a_valid_policy_with_the_rules_it_describes() -> None:
    policy = load_policy_file(ROOT / "deploy" / "policy" / "policy.example.yaml")
    assert policy.namespaces is not None and set(policy.namespaces) == {"chaos-lab", "chaos-lab-web"}
    assert policy.namespaces["chaos-lab-web"].faults == ["k8s.pod-delete", "k8s.attack-pod"]
    assert (policy.namespaces["chaos-lab"].max_ttl, policy.namespaces["chaos-lab-web"].max_ttl) == (1800, 600)
    assert (policy.ceilings.ttl, policy.ceilings.targets, policy.ceilings.duration) == (3600, 10, 7200)
    assert policy.approvals[0].faults == ["k8s.token-revoke"]
    assert policy.approvals[0].approvers == ["U012AB3CD", "S0614TZR7"]


def test_a_good_policy_reads_as_written_and_a_missing_section_sets_no_rule() -> None:
    policy = parse_policy(GOOD)
    assert policy.namespaces is not None and policy.namespaces["web"].max_targets is None
    assert policy.namespaces["web"].max_ttl == 600 and policy.attack_images == ["registry.example/probe:1"]
    bare = parse_policy("version: 1\n")
    assert bare.namespaces is None and bare.attack_images is None and bare.approvals == []
    assert (bare.ceilings.ttl, bare.ceilings.targets, bare.ceilings.duration) == (None, None, None)
    assert parse_policy("version: 1\nnamespaces: {}\n").namespaces == {}  # no namespace at all


def test_the_fault_types_a_policy_may_name_are_the_ones_the_drivers_run() -> None:
    assert set(KNOWN_FAULT_TYPES) == set(KubernetesDriver.TYPES) | set(ChaosMeshDriver.TYPES)
    assert len(KNOWN_FAULT_TYPES) == len(set(KNOWN_FAULT_TYPES))


BAD = {
    "unknown fault type": (
        GOOD.replace("[k8s.pod-delete]\n", "[k8s.pod-kill]\n"),
        "policy.yaml:5: namespaces.web.faults[0]: 'k8s.pod-kill' is not a fault type sce runs "
        f"(known: {KNOWN})."
        " Did you mean `k8s.pod-delete`?",
    ),
    "unknown fault type in an approval rule": (
        GOOD.replace("{faults: [k8s.token-revoke], approvers", "{faults: [k8s.exec], approvers"),
        f"policy.yaml:10: approvals[0].faults[0]: 'k8s.exec' is not a fault type sce runs (known: {KNOWN}).",
    ),
    "a simulated fault": (
        GOOD.replace("[k8s.pod-delete]\n", "[simulated]\n"),
        "policy.yaml:5: namespaces.web.faults[0]: 'simulated': simulated faults are never governed; "
        "leave it out",
    ),
    "namespace not a DNS label": (
        GOOD.replace("  web:\n", "  Web_Prod:\n"),
        "policy.yaml:4: namespaces.Web_Prod: 'Web_Prod' is not a Kubernetes namespace name (a DNS label: "
        "lowercase letters, digits and '-', 63 at most)",
    ),
    "namespace too long": (
        GOOD.replace("  web:\n", f"  {'a' * 64}:\n"),
        f"policy.yaml:4: namespaces.{'a' * 64}: '{'a' * 64}' is not a Kubernetes namespace name "
        "(a DNS label: "
        "lowercase letters, digits and '-', 63 at most)",
    ),
    "system namespace": (
        GOOD.replace("  web:\n", "  kube-system:\n"),
        "policy.yaml:4: namespaces.kube-system: kube-system is a system namespace; faults never run there, "
        "so leave it out",
    ),
    "negative ttl": (
        GOOD.replace("max_ttl: 10m", "max_ttl: -10m"),
        "policy.yaml:6: namespaces.web.max_ttl: '-10m' is not a duration; use forms like 90s, 5m or 1h30m",
    ),
    "negative ttl in seconds": (
        GOOD.replace("max_ttl: 10m", "max_ttl: -600"),
        "policy.yaml:6: namespaces.web.max_ttl: -600 is negative; durations count forward from zero",
    ),
    "zero ceiling": (
        GOOD.replace("ceilings: {ttl: 1h", "ceilings: {ttl: 0s"),
        "policy.yaml:8: ceilings.ttl: must be longer than 0s",
    ),
    "targets zero": (
        GOOD.replace("max_targets: 5", "max_targets: 0"),
        "policy.yaml:3: namespaces.chaos-lab.max_targets: Input should be greater than or equal to 1",
    ),
    "targets as text": (
        GOOD.replace("max_targets: 5", "max_targets: '5'"),
        "policy.yaml:3: namespaces.chaos-lab.max_targets: Input should be a valid integer",
    ),
    "targets as a boolean": (
        GOOD.replace("targets: 10", "targets: yes"),
        "policy.yaml:8: ceilings.targets: Input should be a valid integer",
    ),
    "unknown top-level key": (
        GOOD.replace("attack_images:", "attack_image:"),
        "policy.yaml:7: attack_image: is not a field of the policy file format v1 (check the spelling)",
    ),
    "unknown key in a namespace rule": (
        GOOD.replace("max_ttl: 10m", "maxttl: 10m"),
        "policy.yaml:6: namespaces.web.maxttl: is not a field of the policy file format v1 "
        "(check the spelling)",
    ),
    "an approver that is a name": (
        GOOD.replace("approvers: [U012AB3CD", "approvers: [alice"),
        "policy.yaml:10: approvals[0].approvers[0]: 'alice' is not a Slack user id (U..., W...) or "
        "user-group "
        "id (S...)",
    ),
    "an approver that is a mention with a broadcast": (
        GOOD.replace("approvers: [U012AB3CD", "approvers: ['<!channel>'"),
        "policy.yaml:10: approvals[0].approvers[0]: '<!channel>' is not a Slack user id (U..., W...) or "
        "user-group id (S...)",
    ),
    "an approval rule nobody may approve": (
        GOOD.replace("approvers: [U012AB3CD, S0614TZR7]", "approvers: []"),
        "policy.yaml:10: approvals[0].approvers: List should have at least 1 item after validation, not 0",
    ),
    "an image that is no reference": (
        GOOD.replace('"registry.example/probe:1"', '"probe; rm -rf /"'),
        'policy.yaml:7: attack_images[0]: "probe; rm -rf /" is not an image reference '
        "(registry/name:tag or name@sha256:digest)",
    ),
    "version 2": (GOOD.replace("version: 1", "version: 2"), "policy.yaml:1: version: '2' is not a policy"),
    "no version": (
        GOOD.replace("version: 1\n", ""),
        "policy.yaml:1: version: is required but missing",
    ),
    "a namespace written twice": (
        GOOD.replace("  web:\n", "  web: {faults: [k8s.token-revoke, k8s.pod-delete]}\n  web:\n"),
        "policy.yaml:5: namespaces.web: the key 'web' is written twice in one mapping",
    ),
    "a section written twice": (
        GOOD.replace("approvals:\n", "ceilings: {ttl: 99h}\napprovals:\n"),
        "policy.yaml:9: ceilings: the key 'ceilings' is written twice in one mapping",
    ),
    "not YAML": ("version: 1\nnamespaces: [unclosed\n", "policy.yaml:3: YAML syntax: "),
    "a list, not a mapping": (
        "- version: 1\n",
        f"policy.yaml:1: {SHAPE}",
    ),
    "an empty file": (
        "",
        f"policy.yaml:1: {SHAPE}",
    ),
    "a python tag": (
        "version: !!python/object/apply:os.system ['true']\n",
        "policy.yaml:1: YAML value: could not determine a constructor for the tag",
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_each_mistake_is_one_line_naming_file_line_and_field(name: str) -> None:
    text, expected = BAD[name]
    found = problems(text)
    assert found[0].startswith(expected), found
    assert all("\n" not in line and "Traceback" not in line for line in found)


def billion_laughs() -> str:
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    body = "\n".join("  " + line for line in levels)
    return f"version: 1\nx-lols:\n{body}\nattack_images: *a9\n"


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (billion_laughs(), "aliases (here *a"),
        ("version: 1\nceilings: &c {ttl: [*c]}\n", "inside the node it names"),
        ("version: 1\nnamespaces: " + "[" * 50_000 + "]" * 50_000 + "\n", "nested deeper than 16 levels"),
        ("version: 1\n" + "".join("  " * i + f"k{i}:\n" for i in range(40)), "nested deeper than 16 levels"),
    ],
    ids=["billion laughs", "recursive alias", "deep flow lists", "deep block mappings"],
)
def test_hostile_yaml_is_refused_before_it_expands(text: str, expected: str) -> None:
    (line,) = problems(text)
    assert line.startswith("policy.yaml:") and expected in line, line


def test_files_that_are_not_policies_are_refused_with_a_sentence(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("version: 1\n" + "#" * (1024 * 1024) + "\n")
    missing = tmp_path / "missing.yaml"
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"version: 1\n# caf\xe9\n")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    expected = {
        big: f"{big}:1: is larger than 1 MiB, the most a policy file may be",
        missing: f"{missing}:1: cannot be read (No such file or directory)",
        latin: f"{latin}:2: is not UTF-8 text",
        fifo: f"{fifo}:1: is a named pipe, not a regular file",
        tmp_path: f"{tmp_path}:1: is a directory, not a regular file",
    }
    for path, line in expected.items():
        with pytest.raises(PolicyError) as caught:
            load_policy_file(path)
        assert str(caught.value) == line


def test_settings_read_sce_policy_and_a_broken_one_is_a_setting_error(tmp_path: Path) -> None:
    assert Settings.from_env({}).policy is None  # no policy file: today's behaviour
    good = tmp_path / "policy.yaml"
    good.write_text(GOOD)
    policy = Settings.from_env({"SCE_POLICY": str(good)}).policy
    assert policy is not None and policy.ceilings.targets == 10
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("[k8s.pod-delete]\n", "[k8s.pod-kill]\n"))
    with pytest.raises(SettingError) as caught:
        Settings.from_env({"SCE_POLICY": str(bad)})
    assert str(caught.value).startswith(
        f"SCE_POLICY: {bad}:5: namespaces.web.faults[0]: 'k8s.pod-kill' is not"
    )


def test_sce_serve_with_a_broken_policy_stops_at_start_with_the_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli

    bad = tmp_path / "policy.yaml"
    bad.write_text(GOOD.replace("  web:\n", "  Web:\n"))
    monkeypatch.setenv("SCE_POLICY", str(bad))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-never-used")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "never-used")
    monkeypatch.setattr(sys, "argv", ["sce", "serve"])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"sce: SCE_POLICY: {bad}:4: namespaces.Web: 'Web' is not a Kubernetes namespace name (a DNS label: "
        "lowercase letters, digits and '-', 63 at most)"
    ]

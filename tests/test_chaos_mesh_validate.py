"""What Chaos Mesh's admission webhook would refuse is refused by `sce validate`, at the file's line and
field, before any game day starts: the webhook's rules (v2.x `api/v1alpha1`: ValidatePodMode, the
NetworkChaos netem checks, PodChaos container-kill) and misspelled keys. Each case is a variant of the
shipped `kms-failure` scenario, which stays valid.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.gameday.scenario.loading import ScenarioError, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
KMS = (ROOT / "scenarios" / "kms-failure.yaml").read_text(encoding="utf-8")
FIELD = "steps[0].fault"


def variant(old: str, new: str) -> str:
    assert KMS.count(old) == 1, old
    return KMS.replace(old, new)


def refused(text: str) -> tuple[str, int, str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "scenarios/kms-failure.yaml")
    problem = caught.value.problems[0]
    assert "Traceback" not in str(caught.value)
    return problem.field or "", problem.line, problem.message


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_the_shipped_chaos_mesh_scenario_is_valid() -> None:
    assert parse_scenario(KMS, "scenarios/kms-failure.yaml").id == "kms-failure"


@pytest.mark.parametrize(
    ("old", "new", "key", "said"),
    [
        # NetworkChaos: from/both with a netem action (the webhook needs a target and refuses external ones)
        ("      direction: to\n", "      direction: from\n", "direction", "Chaos Mesh refuses it"),
        ("      direction: to\n", "      direction: both\n", "direction", "Chaos Mesh refuses it"),
        ("      action: delay\n", "      action: loss\n      loss: '30'\n", None, None),  # loss is fine
        ("      latency: 1500ms\n", "      latency: 1.5 seconds\n", "latency", "Go duration"),
        ("      latency: 1500ms\n", "      latency: '1500'\n", "latency", "Go duration"),
        ("      jitter: 500ms\n", "      jitter: 5d\n", "jitter", "Go duration"),
        ("      latency: 1500ms\n", "      latency: -1s\n", "latency", "is negative"),
        ("      jitter: 500ms\n", "      jitter: -1m30s\n", "jitter", "is negative"),
        ("      jitter: 500ms\n", "      jitter: -0s\n", None, None),  # no length: Go takes it
        # pod modes (ValidatePodMode)
        ("      mode: all ", "      mode: fixed ", "value", "whole number above 0"),
        ("      mode: all ", "      mode: fixed\n      value: '0'\n     ", "value", "whole number above 0"),
        ("      mode: all ", "      mode: fixed\n      value: '2.5'\n     ", "value", "whole number above 0"),
        ("      mode: all ", "      mode: fixed-percent\n      value: '150'\n     ", "value", "1 to 100"),
        ("      mode: all ", "      mode: fixed-percent\n      value: '12.5'\n     ", "value", "1 to 100"),
        ("      mode: all ", "      mode: random-max-percent\n      value: '0'\n     ", "value", "1 to 100"),
        ("      mode: all ", "      mode: fixed\n      value: '3'\n     ", None, None),  # fine
        ("      mode: all ", "      mode: fixed\n      value: 3\n     ", None, None),  # a YAML number too
        ("      action: delay\n", "      action: loss\n      loss: 130\n", "loss", "from 0 to 100"),
        ("      action: delay\n", "      action: loss\n      loss: lots\n", "loss", "from 0 to 100"),
        # a misspelled key is a typo, not silently ignored
        ("      jitter: 500ms\n", "      jiter: 500ms\n", "jiter", "it takes action, direction"),
        ("      external_targets:", "      externalTargets:", "externalTargets", "unknown key"),
    ],
)
def test_what_the_webhook_refuses_fails_validate_at_its_field(
    old: str, new: str, key: str | None, said: str | None
) -> None:
    text = variant(old, new)
    if key is None:
        assert parse_scenario(text, "scenarios/kms-failure.yaml").id == "kms-failure"
        return
    field, line, message = refused(text)
    assert field == f"{FIELD}.{key}", (field, message)
    assert said is not None and said in message, message
    assert message.startswith("chaos-mesh.network-chaos: ")
    assert line >= line_of(text, "type: chaos-mesh.network-chaos") - 1


def test_container_kill_without_names_and_a_pod_chaos_typo_are_refused() -> None:
    pod = variant(
        "      type: chaos-mesh.network-chaos\n",
        "      type: chaos-mesh.pod-chaos\n",
    )
    pod = pod.replace(
        "      external_targets: [kms.eu-west-1.amazonaws.com]   # your KMS endpoint (host names or IPs)\n",
        "",
    )
    for name in ("direction: to", "latency: 1500ms", "jitter: 500ms"):
        pod = "\n".join(line for line in pod.splitlines() if name not in line) + "\n"
    kill = pod.replace("      action: delay\n", "      action: container-kill\n")
    field, _, message = refused(kill)
    assert field == f"{FIELD}.container_names" and "container-kill" in message
    named = kill.replace(
        "      action: container-kill\n", "      action: container-kill\n      container_names: [api]\n"
    )
    assert parse_scenario(named, "scenarios/kms-failure.yaml").id == "kms-failure"
    typo = named.replace("container_names:", "containerNames:")
    field, _, message = refused(typo)
    assert field == f"{FIELD}.containerNames" and "unknown key" in message and "container_names" in message

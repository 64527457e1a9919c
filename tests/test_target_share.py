"""Blast radius by share, the pure part: the `percent` / `count` / `max_targets` fields of a fault step
refused with one sentence at the file's line and field, how many targets a share picks (counted by hand
below, never by the code under test), and the draw reproduced from its recorded seed."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from bot.gameday.scenario.loading import ScenarioError, parse_scenario
from bot.gameday.scenario.target_share import (
    DEFAULT_MAX_TARGETS,
    MAX_TARGETS_LIMIT,
    PICKING_TYPES,
    AppliedFault,
    TargetShare,
    draw_targets,
    drawn,
    listing,
    read_share,
)

SOURCE = "scenarios/share.yaml"
# the fault is steps[2], on line 20; its share keys follow on their own lines
SCENARIO = """\
id: share
title: A share of targets
mode: live
charter:
  objective: Services survive losing a share of their tokens.
  hypothesis: Callers retry and the tokens rotate.
  scope: chaos-lab only.
guardrails: {{max_duration: 30m, namespaces: [chaos-lab]}}
oncall: {{primary: "@primary", secondary: "@secondary", escalate_after: 3m}}
steps:
  - at: 0s
    say: starting
  - at: 10s
    say: in a moment
  - at: 30s
    fault:
      type: {type}
      namespace: chaos-lab
      selector: {{app: api}}
{keys}
"""


def scenario(fault_type: str = "k8s.token-revoke", **keys: str) -> str:
    lines = "\n".join(f"      {key}: {value}" for key, value in keys.items())
    return SCENARIO.format(type=fault_type, keys=lines)


def refusal(text: str) -> tuple[int, str, str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, SOURCE)
    (problem,) = caught.value.problems
    assert "Traceback" not in str(caught.value) and len(str(caught.value).splitlines()) == 1
    return problem.line, problem.field, problem.message


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_the_contract_example_of_the_spec_loads() -> None:
    text = scenario(percent="1", max_targets="5", ttl="10m")
    fault = parse_scenario(text, SOURCE).steps[2].fault
    assert fault is not None and fault.model_extra == {"percent": 1, "max_targets": 5}


def test_percent_150_names_the_file_line_and_field() -> None:
    text = scenario(percent="150")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, SOURCE)
    line = line_of(text, "percent: 150")
    assert str(caught.value) == f"{SOURCE}:{line}: steps[2].fault.percent: 150 is over 100"


BAD = [
    # (keys, field, words the sentence must hold)
    ({"percent": "0"}, "percent", "0 is not above 0"),
    ({"percent": "-1"}, "percent", "-1 is not above 0"),
    ({"percent": "-0.0"}, "percent", "is not above 0"),
    ({"percent": "100.0000001"}, "percent", "100.0000001 is over 100"),
    ({"percent": "101"}, "percent", "101 is over 100"),
    ({"percent": "ten"}, "percent", "'ten' is not a number"),
    ({"percent": '"1%"'}, "percent", "'1%' is not a number"),
    ({"percent": '"5"'}, "percent", "'5' is not a number"),
    ({"percent": ".nan"}, "percent", "nan is not a number"),
    ({"percent": ".inf"}, "percent", "inf is not a number"),
    ({"percent": "1e999"}, "percent", "'1e999' is not a number"),  # YAML 1.1: text, without a dot
    ({"percent": "1.0e+999"}, "percent", "inf is not a number"),
    ({"percent": "true"}, "percent", "True is not a number"),
    ({"percent": "[1]"}, "percent", "[1] is not a number"),
    ({"percent": "{a: 1}"}, "percent", "is not a number"),
    ({"count": "0"}, "count", "0 is not 1 or more"),
    ({"count": "-3"}, "count", "-3 is not 1 or more"),
    ({"count": "2.5"}, "count", "2.5 is not a whole number"),
    ({"count": "2.0"}, "count", "2.0 is not a whole number"),
    ({"count": '"2"'}, "count", "'2' is not a whole number"),
    ({"count": "true"}, "count", "True is not a whole number"),
    ({"count": "11"}, "count", "11 is over max_targets (10 by default); raise max_targets"),
    ({"count": "4", "max_targets": "3"}, "count", "4 is over max_targets (3)"),
    ({"count": "1" + "0" * 30}, "count", "is over max_targets"),
    ({"percent": "1", "count": "2"}, "count", "give `percent:` or `count:`, not both"),
    ({"max_targets": "0"}, "max_targets", "0 is not 1 or more"),
    ({"max_targets": "-5"}, "max_targets", "-5 is not 1 or more"),
    ({"max_targets": "2.5"}, "max_targets", "2.5 is not a whole number"),
    ({"max_targets": '"5"'}, "max_targets", "'5' is not a whole number"),
    ({"max_targets": "251"}, "max_targets", "251 is over 250, the most one fault may pick"),
    ({"percent": "1", "secret": "ci-token"}, "percent", "`secret:` names one token"),
]


@pytest.mark.parametrize("keys, field, words", BAD, ids=[str(b[0]) for b in BAD])
def test_a_bad_share_is_one_sentence_at_its_line(keys: dict[str, str], field: str, words: str) -> None:
    text = scenario(**keys)
    line, named, message = refusal(text)
    assert named == f"steps[2].fault.{field}"
    assert words in message, message
    assert line == line_of(text, f"{field}:")


@pytest.mark.parametrize(
    "fault_type, reason",
    [
        ("k8s.network-deny", "k8s.network-deny does not pick targets"),
        ("k8s.attack-pod", "k8s.attack-pod does not pick targets"),
        ("k8s.honeytoken", "k8s.honeytoken does not pick targets"),
        ("k8s.fork-bomb", "k8s.fork-bomb does not pick targets"),
        ("chaos-mesh.pod-chaos", "Chaos Mesh's own `mode:` and `value:`"),
        ("chaos-mesh.network-chaos", "mode: fixed-percent"),
    ],
)
def test_a_share_on_a_fault_that_does_not_pick_targets_is_refused(fault_type: str, reason: str) -> None:
    line, field, message = refusal(scenario(fault_type, percent="1"))
    assert field == "steps[2].fault.percent" and reason in message, message


def test_a_scale_of_one_named_deployment_takes_no_share() -> None:
    _, field, message = refusal(scenario("k8s.scale", deployment="web", count="2"))
    assert field == "steps[2].fault.count" and "`deployment:` names one Deployment" in message


@pytest.mark.parametrize(
    "fault_type, keys, expected",
    [
        ("k8s.token-revoke", {"percent": "0.5"}, TargetShare(percent=Decimal("0.5"))),
        ("k8s.token-revoke", {"percent": "100", "max_targets": "250"}, TargetShare(Decimal(100), None, 250)),
        ("k8s.pod-delete", {"count": "1"}, TargetShare(count=1)),
        ("k8s.scale", {"count": "10"}, TargetShare(count=10)),
        ("simulated", {"percent": "33", "max_targets": "4"}, TargetShare(Decimal(33), None, 4)),
    ],
)
def test_good_shares_load_and_read_as_written(
    fault_type: str, keys: dict[str, str], expected: TargetShare
) -> None:
    fault = parse_scenario(scenario(fault_type, **keys), SOURCE).steps[2].fault
    assert fault is not None
    assert read_share(fault.model_extra or {}) == expected


# -- how many: counted by hand ----------------------------------------------------------------------
# ceil(p/100 x n): 1% of 250 is 2.5 -> 3; 0.5% of 250 is 1.25 -> 2; 33% of 7 is 2.31 -> 3; 33% of 250 is
# 82.5 -> 83; any share of a non-empty set is at least 1 (1% of 7 is 0.07 -> 1).
BY_HAND = {
    "1": {1: 1, 7: 1, 100: 1, 250: 3},
    "0.5": {1: 1, 7: 1, 100: 1, 250: 2},
    "33": {1: 1, 7: 3, 100: 33, 250: 83},
}


@pytest.mark.parametrize("percent", sorted(BY_HAND))
def test_how_many_a_percentage_picks_rounds_up(percent: str) -> None:
    share = TargetShare(percent=Decimal(percent), max_targets=MAX_TARGETS_LIMIT)
    assert {n: share.how_many(n) for n in BY_HAND[percent]} == BY_HAND[percent]
    assert share.how_many(0) == 0  # no candidate: nothing to pick (the driver refuses the fault)


def test_how_many_is_exact_on_the_decimal_written_not_its_binary_float() -> None:
    # 0.07 x 10000 / 100 is 7 exactly, while the float product is 7.000000000000001 (ceil 8)
    assert 0.07 * 10000 / 100 > 7
    share = read_share({"percent": 0.07, "max_targets": 250})
    assert share is not None and share.how_many(10_000) == 7
    # 0.1% of 3000 is 3 exactly (float: 3.0000000000000004)
    assert TargetShare(percent=Decimal("0.1"), max_targets=250).how_many(3000) == 3


def test_the_ceiling_and_the_candidates_cap_the_count() -> None:
    assert TargetShare(percent=Decimal(33)).how_many(100) == DEFAULT_MAX_TARGETS == 10
    assert TargetShare(percent=Decimal(1), max_targets=2).how_many(1000) == 2  # 10 wanted, 2 allowed
    assert TargetShare(count=5, max_targets=5).how_many(3) == 3  # only 3 exist
    assert TargetShare(max_targets=4).how_many(9) == 4  # every candidate, up to the ceiling
    assert TargetShare(percent=Decimal(100), max_targets=250).how_many(7) == 7


# -- the draw -------------------------------------------------------------------------------------
NAMES = [f"token-{n:03d}" for n in range(250)]


def test_the_same_seed_draws_the_same_targets_whatever_the_order_of_the_candidates() -> None:
    share = TargetShare(percent=Decimal(1), max_targets=5)
    first = draw_targets(NAMES, share, seed=1234567890123)
    shuffled = list(reversed(NAMES)) + NAMES[:10]  # another order, and duplicates
    again = draw_targets(shuffled, share, seed=1234567890123)
    assert first == again and len(first.targets) == 3 and first.candidates == 250
    assert list(first.targets) == sorted(first.targets) and set(first.targets) <= set(NAMES)


def test_a_reviewer_redraws_from_the_record_with_the_documented_recipe() -> None:
    """The recipe of the README: random.Random(int(seed)).sample(sorted(candidates), len(targets))."""
    share = TargetShare(count=4)
    record = draw_targets(NAMES, share, seed=2**63 + 12345).record()
    redrawn = random.Random(int(record["seed"])).sample(sorted(NAMES), len(record["targets"]))
    assert sorted(redrawn) == record["targets"]
    assert record["seed"] == str(2**63 + 12345) and record["candidates"] == 250
    assert record["rule"] == {"count": 4, "max_targets": 10}


def test_different_seeds_draw_different_targets() -> None:
    share = TargetShare(count=3)
    picks = {draw_targets(NAMES, share, seed).targets for seed in range(20)}
    assert len(picks) > 15  # 20 draws of 3 out of 250: collisions are all but impossible


def test_the_rule_records_the_percentage_as_written() -> None:
    share = read_share({"percent": 0.5, "max_targets": 5})
    assert share is not None
    assert share.rule() == {"percent": 0.5, "max_targets": 5}
    assert str(share) == "0.5%, at most 5"
    assert str(TargetShare(percent=Decimal("1.0"))) == "1%, at most 10"


def test_a_sentence_lists_at_most_20_names() -> None:
    draw = draw_targets(NAMES, TargetShare(count=30, max_targets=30), seed=7)
    sentence = draw.sentence("token Secrets")
    assert sentence.startswith("picked 30 of 250 token Secrets (count 30, at most 30; seed 7): ")
    assert sentence.endswith(" +10 more") and sentence.count("token-") == 20
    assert listing(["a", "b"]) == "a, b"


def test_an_applied_fault_is_its_sentence_and_carries_the_draw_for_the_timeline() -> None:
    draw = draw_targets(NAMES, TargetShare(count=2), seed=99)
    applied = AppliedFault.of("revoked two", draw)
    assert applied == "revoked two" and isinstance(applied, str)
    assert drawn(applied) == {
        "targets": list(draw.targets),
        "candidates": 250,
        "seed": "99",
        "rule": {"count": 2, "max_targets": 10},
    }
    assert drawn("a plain sentence") == {}


def test_every_picking_type_is_a_type_the_kubernetes_driver_runs() -> None:
    from bot.faults.kubernetes_driver import KubernetesDriver

    assert set(PICKING_TYPES) <= set(KubernetesDriver.TYPES)

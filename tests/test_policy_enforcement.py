"""The policy file (SCE_POLICY) enforced: every start (the engine's, so typed, scheduled and `sce run`'s),
`sce validate`, the live Approve button and standing approvals check it, and each refusal names the rule.

A refused start applies nothing: the Kubernetes test server sees no request from the bot and no game day
is created. No policy file is today's behaviour exactly. Real parts: the engine on the in-memory store, the
official Kubernetes client against the kmock server, `sce validate` in this process, and the bot's Bolt app
over signed HTTP from the local workspace (whose user groups expand the policy's approvers).
Expected sentences are written out from the policy and scenario texts, not taken from the code.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from core_harness import CoreHarness
from served_app import local_settings, served_app
from test_faults_kmock import NAMESPACE, KubeTestServer
from typer.testing import CliRunner

from bot.cli import cli
from bot.faults.registry import FaultDrivers
from bot.gameday.clock import VirtualClock
from bot.gameday.policy.loading import parse_policy
from bot.gameday.running.standing import StandingApproval
from bot.gameday.state import Status, fold
from bot.runtime.service import Services
from bot.slack import blocks
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

ROSTER = {"primary": "U1", "secondary": "U2"}
IMAGE = "registry.example/probe:1"
POLICY = f"""\
version: 1
namespaces:
  {NAMESPACE}: {{faults: [k8s.pod-delete, k8s.token-revoke, k8s.attack-pod], max_ttl: 30m, max_targets: 5}}
  web: {{faults: [k8s.pod-delete], max_ttl: 10m, max_targets: 1}}
attack_images: ["{IMAGE}"]
ceilings: {{ttl: 20m, targets: 3, duration: 1h}}
approvals:
  - {{faults: [k8s.token-revoke], approvers: [SIAM]}}
"""
RULE = "policy (SCE_POLICY)"
NEEDS_APPROVAL = "approval: {required: true, approvers: [UOTHER, UIAM]}\nchange: {ticket: CAB-1}\n"


def scenario(fault: str, name: str = "policy-drill", head: str = "", box: str = "30m") -> str:
    return (
        f"id: {name}\ntitle: Policy drill\ncharter: {{objective: o, hypothesis: h}}\n{head}"
        f"guardrails: {{max_duration: {box}, namespaces: [{NAMESPACE}, web, other]}}\n"
        f"steps:\n  - at: 0s\n    fault: {{{fault}}}\n"
    )


ALLOWED = {
    "pod-delete in web within every ceiling": (
        "type: k8s.pod-delete, namespace: web, selector: {app: w}, ttl: 5m"
    ),
    "pod-delete by count within the namespace's": (
        f"type: k8s.pod-delete, namespace: {NAMESPACE}, selector: {{app: w}}, count: 3, ttl: 20m"
    ),
    "an attack pod on the listed image": (
        f"type: k8s.attack-pod, namespace: {NAMESPACE}, probe: metadata, image: '{IMAGE}', ttl: 5m"
    ),
    "a simulated fault, never governed": "type: simulated, ttl: 2h",
}
REFUSED = {
    "a namespace the policy leaves out": (
        "type: k8s.pod-delete, namespace: other, selector: {app: w}",
        "",
        f"steps[0].fault: {RULE} namespaces: namespace other is not in the policy, so no fault runs there "
        f"(policy namespaces: {NAMESPACE}, web)",
    ),
    "a type the namespace does not allow": (
        "type: k8s.token-revoke, namespace: web, secret: t",
        NEEDS_APPROVAL,
        f"steps[0].fault: {RULE} namespaces.web.faults: k8s.token-revoke is not allowed in namespace web "
        "(allowed: k8s.pod-delete)",
    ),
    "a ttl over the namespace's": (
        "type: k8s.pod-delete, namespace: web, selector: {app: w}, ttl: 15m",
        "",
        f"steps[0].fault: {RULE} namespaces.web.max_ttl: ttl 15m is above the 10m allowed in namespace web; "
        "shorten fault.ttl",
    ),
    "a ttl over the global ceiling": (
        f"type: k8s.pod-delete, namespace: {NAMESPACE}, selector: {{app: w}}, ttl: 25m",
        "",
        f"steps[0].fault: {RULE} ceilings.ttl: ttl 25m is above the policy's ceiling 20m; shorten fault.ttl",
    ),
    "a count over the namespace's": (
        "type: k8s.pod-delete, namespace: web, selector: {app: w}, count: 2",
        "",
        f"steps[0].fault: {RULE} namespaces.web.max_targets: the fault may pick up to 2 targets (count 2), "
        "above the 1 allowed in namespace web; pick fewer",
    ),
    "a percent whose default ceiling is over the global one": (
        f"type: k8s.token-revoke, namespace: {NAMESPACE}, service_account: api, percent: 1",
        NEEDS_APPROVAL,
        f"steps[0].fault: {RULE} namespaces.{NAMESPACE}.max_targets: the fault may pick up to 10 targets "
        f"(max_targets 10 (when left out)), above the 5 allowed in namespace {NAMESPACE}; pick fewer; "
        f"steps[0].fault: {RULE} ceilings.targets: the fault may pick up to 10 targets (max_targets 10 "
        "(when left out)), above the policy's ceiling 3; pick fewer",
    ),
    "an attack pod image off the policy's list": (
        f"type: k8s.attack-pod, namespace: {NAMESPACE}, probe: metadata, image: 'registry.example/evil:1'",
        "",
        f"steps[0].fault: {RULE} attack_images: image registry.example/evil:1 is not in the policy's "
        f"attack_images (allowed: {IMAGE})",
    ),
    "an attack pod on the default image the policy leaves out": (
        f"type: k8s.attack-pod, namespace: {NAMESPACE}, probe: metadata",
        "",
        f"steps[0].fault: {RULE} attack_images: image registry.example/default:9 is not in the policy's "
        f"attack_images (allowed: {IMAGE})",
    ),
    "a governed fault type without approval.required": (
        f"type: k8s.token-revoke, namespace: {NAMESPACE}, secret: t",
        "",
        f"approval.required: {RULE} approvals[0]: a game day with k8s.token-revoke faults needs an approval "
        "by SIAM; set approval.required: true",
    ),
}


def harness(policy: str | None = POLICY) -> CoreHarness:
    h = CoreHarness(allowed_namespaces=frozenset({NAMESPACE, "web", "other"}))
    h.engine.starting.policy = parse_policy(policy) if policy else None
    h.engine.starting.default_image = "registry.example/default:9"
    h.engine.starting.expand_people = lambda ids: frozenset(
        {"SIAM": "UIAM"}.get(i, i) for i in ids
    )  # the edge expands user groups (tests/test_policy_enforcement's Slack test: the real one)
    return h


@pytest.mark.parametrize("name", list(ALLOWED))
def test_a_scenario_within_the_policy_starts(name: str) -> None:
    h = harness()
    outcome = h.engine.start(scenario(ALLOWED[name]), "C1", "UFAC", ROSTER)
    assert outcome.ok, outcome.message


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_start_against_the_policy_is_refused_naming_the_rule(name: str) -> None:
    fault, head, expected = REFUSED[name]
    h = harness()
    outcome = h.engine.start(scenario(fault, head=head), "C1", "UFAC", ROSTER)
    assert (outcome.ok, outcome.message) == (False, f"The scenario cannot run: {expected}.")
    assert outcome.gameday_id is None and h.store.active() == [] and h.announcer.posts == []
    assert harness(policy=None).engine.start(scenario(fault, head=head), "C1", "UFAC", ROSTER).ok  # no policy


def test_a_time_box_over_the_policy_s_duration_ceiling_is_refused() -> None:
    text = scenario("type: k8s.pod-delete, namespace: web, selector: {app: w}", box="90m")
    outcome = harness().engine.start(text, "C1", "UFAC", ROSTER)
    assert outcome.message == (
        f"The scenario cannot run: guardrails.max_duration: {RULE} ceilings.duration: the time box 1h30m is "
        "above the policy's ceiling 1h; shorten it."
    )


def test_the_policy_never_widens_the_deployment_s_namespaces() -> None:
    h = harness()
    h.engine.starting.allowed_namespaces = frozenset({NAMESPACE})  # SCE_ALLOWED_NAMESPACES without web
    outcome = h.engine.start(
        scenario(ALLOWED["pod-delete in web within every ceiling"]), "C1", "UFAC", ROSTER
    )
    assert outcome.message == "namespace web is not in SCE_ALLOWED_NAMESPACES for this deployment"


def test_a_refused_start_sends_nothing_to_the_cluster() -> None:
    with KubeTestServer() as kube:
        kube.pod("api-1", {"app": "api"})
        h = CoreHarness(allowed_namespaces=frozenset({NAMESPACE}), faults=FaultDrivers(kube.cluster()))
        h.engine.starting.policy = parse_policy(
            POLICY.replace("k8s.pod-delete, k8s.token-revoke", "k8s.scale")
        )
        text = scenario(f"type: k8s.pod-delete, namespace: {NAMESPACE}, selector: {{app: api}}, ttl: 5m")
        outcome = h.engine.start(text, "C1", "UFAC", ROSTER)
        assert outcome.message == (
            f"The scenario cannot run: steps[0].fault: {RULE} namespaces.{NAMESPACE}.faults: "
            f"k8s.pod-delete is not allowed in namespace {NAMESPACE} (allowed: k8s.scale, k8s.attack-pod)."
        )
        h.advance_to(h.clock.now() + 120)
        assert kube.bot_requests() == [] and kube.names("pods", NAMESPACE) == ["api-1"]
        h.engine.starting.policy = parse_policy(POLICY)  # the same scenario, allowed: the pod goes
        started = h.engine.start(text, "C1", "UFAC", ROSTER)
        assert started.ok, started.message
        h.advance_to(h.clock.now() + 120)
        assert kube.names("pods", NAMESPACE) == []


GOVERNED = scenario(f"type: k8s.token-revoke, namespace: {NAMESPACE}, secret: t", head=NEEDS_APPROVAL)


def test_only_the_policy_s_approvers_may_approve_a_governed_fault() -> None:
    h = harness()
    started = h.engine.start(GOVERNED, "C1", "UFAC", ROSTER)
    assert started.ok and started.gameday_id is not None
    gd = started.gameday_id
    # UOTHER is one of the scenario's approvers, but the policy narrows them to the group SIAM (UIAM)
    refused = h.engine.approve(gd, "UOTHER", h.clock.now(), h.delivery())
    assert (refused.ok, refused.message) == (
        False,
        f"{RULE} approvals[0]: only <!subteam^SIAM> may approve k8s.token-revoke faults.",
    )
    assert fold(h.store.events(gd)).status is Status.AWAITING_APPROVAL
    approved = h.engine.approve(gd, "UIAM", h.clock.now(), h.delivery())
    assert approved.ok and fold(h.store.events(gd)).status is Status.RUNNING


def test_the_policy_s_approver_is_still_held_to_the_two_person_rule() -> None:
    h = harness()
    gd = h.engine.start(GOVERNED, "C1", "UIAM", ROSTER).gameday_id
    assert gd is not None
    refused = h.engine.approve(gd, "UIAM", h.clock.now(), h.delivery())
    assert not refused.ok and refused.message.startswith("Two-person rule")


def test_a_standing_approval_counts_only_when_its_giver_may_approve_under_the_policy() -> None:
    from bot.gameday.scenario.model import content_hash

    def standing(by: str) -> StandingApproval:
        return StandingApproval(1, "policy-drill", content_hash(GOVERNED), "C1", by, 0.0, 10**12)

    h = harness()
    refused = h.engine.start(GOVERNED, "C1", "sce-run", ROSTER, unattended=True, standing=standing("UOTHER"))
    assert refused.message == (
        f"The standing approval does not count: {RULE} approvals[0]: only <!subteam^SIAM> may approve "
        "k8s.token-revoke faults."
    )
    allowed = h.engine.start(GOVERNED, "C1", "sce-run", ROSTER, unattended=True, standing=standing("UIAM"))
    assert allowed.ok, allowed.message


# -- sce validate ---------------------------------------------------------------------------------------
def validate(folder: Path, policy: Path | None) -> tuple[int, str, str]:
    env = {"SCE_ALLOWED_NAMESPACES": f"{NAMESPACE},web,other", "SCE_PROBE_IMAGE": IMAGE}
    env |= {"SCE_POLICY": str(policy)} if policy else {}
    result = CliRunner().invoke(cli, ["validate", str(folder)], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_sce_validate_checks_every_scenario_against_the_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "fine.yaml").write_text(scenario(ALLOWED["an attack pod on the listed image"], "fine"))
    (folder / "wrong-type.yaml").write_text(
        scenario(REFUSED["a type the namespace does not allow"][0], "wrong-type", NEEDS_APPROVAL)
    )
    (folder / "no-approval.yaml").write_text(
        scenario(REFUSED["a governed fault type without approval.required"][0], "no-approval")
    )
    code, out, err = validate(folder, policy)
    assert code == 1
    assert f"ok   {folder / 'fine.yaml'} (Policy drill)" in out
    assert err.splitlines() == [
        f"{folder / 'no-approval.yaml'}: {REFUSED['a governed fault type without approval.required'][2]}",
        f"{folder / 'wrong-type.yaml'}: {REFUSED['a type the namespace does not allow'][2]}",
    ]
    code, out, err = validate(folder, None)  # no policy: today's behaviour
    assert (code, err) == (0, "")


def test_sce_validate_with_a_broken_policy_says_the_sentence_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.replace("[SIAM]", "['@iam-team']"))
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "fine.yaml").write_text(scenario(ALLOWED["an attack pod on the listed image"], "fine"))
    monkeypatch.setenv("SCE_POLICY", str(policy))
    monkeypatch.setattr("sys.argv", ["sce", "validate", str(folder)])
    with pytest.raises(SystemExit) as stopped:
        main()
    said = capsys.readouterr()
    assert stopped.value.code == 2 and said.out == ""
    assert said.err == (
        f"sce: SCE_POLICY: {policy}:8: approvals[0].approvers[0]: '@iam-team' is not a Slack user id "
        "(U..., W...) or user-group id (S...)\n"
    )


# -- through Slack --------------------------------------------------------------------------------------
@pytest.fixture
def slack(tmp_path: Path) -> Iterator[tuple[Services, WorkspaceClient]]:
    clock = VirtualClock()
    workspace = LocalWorkspace(
        signing_secret="s",
        clock=clock.now,
        channels={"C1": "drills"},
        users={
            "U1": "alice",
            "U2": "bob",
            "UFAC": "carol",
            "UIAM": "dana",
            "UOTHER": "erin",
            "UADMIN": "fay",
        },
        usergroups={"SIAM": ["UIAM"]},
    ).start()
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "wrong-type.yaml").write_text(
        scenario(REFUSED["a type the namespace does not allow"][0], "wrong-type", NEEDS_APPROVAL)
    )
    (folder / "governed.yaml").write_text(GOVERNED.replace("id: policy-drill", "id: governed"))
    settings = local_settings(
        workspace,
        tmp_path,
        folder,
        allowed_namespaces=frozenset({NAMESPACE, "web"}),
        approvers=frozenset({"UOTHER", "UIAM"}),
        admins=frozenset({"UADMIN"}),
        policy=parse_policy(POLICY),
    )
    with served_app(workspace, settings, clock, simulate_faults=True) as (services, people):
        yield services, people
    workspace.stop()


def answer_to(people: WorkspaceClient, user: str, text: str) -> str:
    """The answer that follows `/sce start`'s "Starting ..." (a start answers once it has run)."""
    seen = len(people.ephemerals(user))
    assert say(people, user, text).startswith("Starting")
    deadline = time.monotonic() + 10
    while True:
        later = [e.get("text") or "" for e in people.ephemerals(user)[seen:]]
        news = [t for t in later if not t.startswith("Starting")]
        if news:
            return str(news[0])
        assert time.monotonic() < deadline, f"no answer to {text}"
        time.sleep(0.02)


def say(people: WorkspaceClient, user: str, text: str) -> str:
    answer = people.slash(user, "/sce", text, channel="C1")
    assert answer["status"] == 200, answer
    return str(answer["text"])


def test_a_start_in_slack_against_the_policy_names_the_rule(slack: tuple[Services, WorkspaceClient]) -> None:
    services, people = slack
    answer = answer_to(people, "UFAC", "start wrong-type oncall=<@U1> secondary=<@U2>")
    assert f"{RULE} namespaces.web.faults: k8s.token-revoke is not allowed in namespace web" in answer
    assert "(allowed: k8s.pod-delete)" in answer and services.store.active() == []


def test_the_approve_button_and_standing_approvals_follow_the_policy_s_user_group(
    slack: tuple[Services, WorkspaceClient],
) -> None:
    services, people = slack
    assert "waiting for an approver" in answer_to(
        people, "UFAC", "start governed oncall=<@U1> secondary=<@U2>"
    )
    (record,) = services.store.active()
    assert record.thread_ts is not None

    def click(user: str) -> str:
        seen = len(people.ephemerals(user))
        assert (
            people.click(user, "C1", record.thread_ts or "", blocks.APPROVE, value=record.id)["status"] == 200
        )
        deadline = time.monotonic() + 10
        while len(people.ephemerals(user)) == seen:
            assert time.monotonic() < deadline, f"no answer for {user}"
            time.sleep(0.02)
        return str(people.ephemerals(user)[-1]["text"])

    assert (
        click("UOTHER") == f"{RULE} approvals[0]: only <!subteam^SIAM> may approve k8s.token-revoke faults."
    )
    assert fold(services.store.events(record.id)).status is Status.AWAITING_APPROVAL
    assert click("UIAM") == "Approved; the game day is running."
    # a standing approval: SCE_APPROVERS and admins may give one, but the policy narrows them to SIAM
    for user in ("UOTHER", "UADMIN"):
        assert say(people, user, "approve-standing governed for 7d") == (
            f"{RULE} approvals[0]: only <!subteam^SIAM> may approve k8s.token-revoke faults."
        )
    assert "governed" in say(people, "UIAM", "approve-standing governed for 7d")

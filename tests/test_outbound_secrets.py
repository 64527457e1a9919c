"""Secrets by reference: ``${env:NAME}`` is resolved only in the request on the wire; the stored
scenario, the timeline, the thread and the debrief hold the reference. ``sce validate`` warns about
credentials written inline (file, line, field), without changing its exit status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from core_harness import CoreHarness
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recording_listener import RecordingListener
from typer.testing import CliRunner

from bot.cli import cli
from bot.debrief.render import FORMATS, render_debrief
from bot.gameday.running.outbound import OutboundRequest
from bot.gameday.scenario.inline_credentials import inline_credentials
from bot.gameday.scenario.loading import ScenarioError, parse_scenario
from bot.gameday.timeline import Kind
from bot.integrations.http_caller import RequestsCaller

SECRET = "s3cr3t-Value-0123456789"
ROSTER = {"primary": "U1", "secondary": "U2"}
CALLER = RequestsCaller(timeout=2.0, referable=frozenset({"SCE_TEST_SECRET"}))


@pytest.fixture
def listener() -> Iterator[RecordingListener]:
    server = RecordingListener("127.0.0.1")
    yield server
    server.close()


def scenario(url: str, steps: str) -> str:
    return (
        "id: refs\ntitle: References\ncharter: {objective: o, hypothesis: h}\n"
        "guardrails: {max_duration: 30m, hosts: [127.0.0.1]}\nsteps:\n" + steps.replace("URL/", url + "/")
    )


STEPS = """\
  - at: 0s
    http:
      url: "URL/probe?token=${env:SCE_TEST_SECRET}"
      method: POST
      headers: {Authorization: "Bearer ${env:SCE_TEST_SECRET}", X-Team: secops}
      body: '{"key": "${env:SCE_TEST_SECRET}"}'
  - at: 1s
    webhook:
      url: "URL/hook"
      headers: {X-Api-Key: "${env:SCE_TEST_SECRET}"}
      payload: {flag: off, auth: "${env:SCE_TEST_SECRET}", nested: ["${env:SCE_TEST_SECRET}"]}
"""


def test_references_are_resolved_on_the_wire_and_nowhere_else(
    listener: RecordingListener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCE_TEST_SECRET", SECRET)
    text = scenario(listener.url, STEPS)
    h = CoreHarness(http=CALLER)
    gd = h.engine.start(text, "C1", "UFAC", ROSTER).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 3)
    probe, hook = listener.hits
    assert probe.path == f"/probe?token={SECRET}" and probe.headers["Authorization"] == f"Bearer {SECRET}"
    assert json.loads(probe.body) == {"key": SECRET} and probe.headers["X-Team"] == "secops"
    assert hook.headers["X-Api-Key"] == SECRET
    sent = json.loads(hook.body)
    assert sent["auth"] == SECRET and sent["nested"] == [SECRET] and sent["gameday_id"] == gd
    events = h.store.events(gd)
    assert any(e.kind is Kind.HTTP_PROBED and e.data["ok"] for e in events)
    record = h.store.get(gd)
    assert record is not None and SECRET not in record.scenario_text
    assert SECRET not in json.dumps([e.to_json() for e in events])
    assert not [text for _, text in h.announcer.posts if SECRET in text]
    h.engine.end(gd, "UFAC")
    debrief = h.posted_debrief()
    for fmt in FORMATS:
        assert SECRET not in render_debrief(debrief, fmt), fmt


def test_an_unset_variable_fails_the_step_with_a_sentence_naming_it(
    listener: RecordingListener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCE_TEST_SECRET", raising=False)
    h = CoreHarness(http=CALLER)
    gd = h.engine.start(scenario(listener.url, STEPS), "C1", "UFAC", ROSTER).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 3)
    assert listener.hits == []
    probed = next(e for e in h.store.events(gd) if e.kind is Kind.HTTP_PROBED)
    assert probed.data["ok"] is False and "${env:SCE_TEST_SECRET} is not set" in probed.data["problem"]
    hook = next(e for e in h.store.events(gd) if e.kind is Kind.WEBHOOK_CALLED)
    assert hook.data["status"] == 0 and "${env:SCE_TEST_SECRET} is not set" in hook.data["problem"]
    assert any(
        "${env:SCE_TEST_SECRET} is not set" in text for kind, text in h.announcer.posts if kind == "say"
    )


@pytest.mark.parametrize(
    "value",
    ["line\r\nX-Injected: 1", "a\nb", "tab\tbad", "x\x7f"],
)
def test_a_reference_that_resolves_to_a_line_break_is_not_sent(
    listener: RecordingListener, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SCE_TEST_SECRET", value)
    h = CoreHarness(http=CALLER)
    gd = h.engine.start(scenario(listener.url, STEPS), "C1", "UFAC", ROSTER).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 3)
    assert listener.hits == []  # the probe's URL holds it too (whitespace), the webhook's header
    problems = [
        e.data["problem"] for e in h.store.events(gd) if e.kind in (Kind.HTTP_PROBED, Kind.WEBHOOK_CALLED)
    ]
    assert len(problems) == 2 and all(problems) and not any(value in p for p in problems)


INLINE = """\
id: inline
title: Inline credentials
charter: {objective: o, hypothesis: h}
guardrails: {max_duration: 30m, hosts: [ci.example.com]}
steps:
  - at: 0s
    http:
      url: "https://ci.example.com/run?api_key=abc123&ref=main"
      headers: {Authorization: "Bearer abcdefgh12345678", X-Team: secops}
  - at: 1s
    webhook:
      url: "https://ci.example.com/hook"
      headers: {X-Api-Key: plainvalue}
      payload: {password: hunter2, flag: off}
  - at: 2s
    say: "the bot token is xoxb-1234567890-abcdefghij"
  - at: 3s
    http:
      url: "https://ci.example.com/x"
      method: POST
      body: '{"token": "literal-token-value"}'
  - at: 4s
    say: "AKIAABCDEFGHIJKLMNOP and ghp_abcdefghijklmnopqrstuvwxyz0123456789"
"""


def test_validate_warns_about_each_inline_credential_with_its_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "inline.yaml").write_text(INLINE)
    result = CliRunner().invoke(
        cli, ["validate", str(tmp_path / "inline.yaml")], env={"SCE_ALLOWED_NAMESPACES": ""}
    )
    assert result.exit_code == 0, result.output  # warnings leave the exit status as it is
    warnings = [line for line in result.stderr.splitlines() if ": warning: " in line]
    where = [line.split(": warning: ")[0].replace(str(tmp_path / "inline.yaml"), "f") for line in warnings]
    assert where == [
        "f:8: steps[0].http.url",
        "f:9: steps[0].http.headers.Authorization",
        "f:13: steps[1].webhook.headers.X-Api-Key",
        "f:14: steps[1].webhook.payload.password",
        "f:16: steps[2].say",
        "f:21: steps[3].http.body",
        "f:23: steps[4].say",
    ]
    assert "api_key parameter" in warnings[0] and "a Slack token" in warnings[4]
    assert "an AWS access key id" in warnings[6] and "a GitHub token" in warnings[6]
    assert all("${env:NAME}" in line for line in warnings)


def test_references_and_ordinary_values_are_not_warned_about(tmp_path: Path) -> None:
    clean = (
        INLINE.replace("api_key=abc123", "api_key=${env:CI_KEY}")
        .replace("Bearer abcdefgh12345678", "Bearer ${env:CI_TOKEN}")
        .replace("X-Api-Key: plainvalue", 'X-Api-Key: "${env:FLAGS_KEY}"')
        .replace("password: hunter2", 'password: "${env:FLAGS_PASSWORD}"')
        .replace("the bot token is xoxb-1234567890-abcdefghij", "rotate the bot token")
        .replace('"literal-token-value"', '"${env:CI_TOKEN}"')
        .replace("AKIAABCDEFGHIJKLMNOP and ghp_abcdefghijklmnopqrstuvwxyz0123456789", "keys rotated")
    )
    assert inline_credentials(clean, "clean.yaml") == []
    (tmp_path / "inline.yaml").write_text(clean)
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "inline.yaml")])
    assert result.exit_code == 0 and "warning" not in result.output


def test_a_broken_scenario_keeps_its_failing_status_and_still_gets_its_warnings(tmp_path: Path) -> None:
    (tmp_path / "inline.yaml").write_text(INLINE.replace("title: Inline credentials\n", ""))
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "inline.yaml")])
    assert result.exit_code == 1
    assert "title: is required but missing" in result.stderr and ": warning: " in result.stderr


TOKENS = st.one_of(
    st.from_regex(r"xox[bp]-[0-9]{10}-[0-9A-Za-z]{12}", fullmatch=True),
    st.from_regex(r"xapp-1-[0-9A-Z]{11}-[0-9a-f]{16}", fullmatch=True),
    st.from_regex(r"ghp_[0-9A-Za-z]{36}", fullmatch=True),
    st.from_regex(r"github_pat_[0-9A-Za-z_]{40}", fullmatch=True),
    st.from_regex(r"AKIA[0-9A-Z]{16}", fullmatch=True),
    st.from_regex(r"eyJ[0-9A-Za-z_-]{10}\.eyJ[0-9A-Za-z_-]{10}\.[0-9A-Za-z_-]{10}", fullmatch=True),
    st.from_regex(r"Bearer [0-9A-Za-z]{12}[0-9][0-9A-Za-z]{7}", fullmatch=True),
    st.from_regex(r"Basic [0-9A-Za-z+/]{10}[0-9]=", fullmatch=True),
)


@settings(max_examples=100, deadline=None)
@given(
    token=TOKENS, before=st.sampled_from(["", "see ", "key: ", "("]), field=st.sampled_from(["say", "url"])
)
def test_known_token_shapes_are_found_wherever_they_are_written(token: str, before: str, field: str) -> None:
    if field == "say" or token.startswith(("Bearer", "Basic")):
        field = "say"
        step = f"    say: {json.dumps(before + token)}\n"
    else:
        step = f'    http: {{url: "https://ci.example.com/p?x={token.replace(" ", "%20")}"}}\n'
    text = INLINE.split("steps:\n")[0] + "steps:\n  - at: 0s\n" + step
    found = inline_credentials(text, "t.yaml")
    assert [(f.line, f.field) for f in found] == [(7, f"steps[0].{'say' if field == 'say' else 'http.url'}")]
    assert token not in str(found[0])  # the warning never repeats the credential


@pytest.mark.parametrize(
    "name",
    [
        "SLACK_BOT_TOKEN",
        "slack_signing_secret",
        "DATABASE_URL",
        "PAGERDUTY_ROUTING_KEY",
        "SCE_ALERT_WEBHOOK_SECRET",
        "AWS_SECRET_ACCESS_KEY",
        "HTTPS_PROXY",
    ],
)
def test_the_bots_own_credentials_can_never_be_referenced(
    listener: RecordingListener, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    steps = f'  - {{at: 0s, webhook: {{url: "URL/hook", headers: {{X-Leak: "${{env:{name}}}"}}}}}}\n'
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(scenario(listener.url, steps), "leak.yaml")
    problem = raised.value.problems[0]
    assert problem.field == "steps[0].webhook.headers" and "bot's own credentials" in problem.message
    monkeypatch.setenv(name, "xoxb-the-real-one")
    listed = RequestsCaller(timeout=2.0, referable=frozenset({name}))  # even when an operator lists it
    outcome = listed.call(
        OutboundRequest("POST", f"{listener.url}/hook", {"X-Leak": f"${{env:{name}}}"}), ["127.0.0.1"]
    )
    assert outcome.status == 0 and outcome.problem and "bot's own credentials" in outcome.problem
    assert listener.hits == []


def test_a_reference_the_deployment_does_not_list_is_refused_at_call_time_and_by_validate(
    listener: RecordingListener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SCE_TEST_SECRET", SECRET)
    h = CoreHarness(http=RequestsCaller(timeout=2.0, referable=frozenset({"SOMETHING_ELSE"})))
    gd = h.engine.start(scenario(listener.url, STEPS), "C1", "UFAC", ROSTER).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 3)
    assert listener.hits == []
    probed = next(e for e in h.store.events(gd) if e.kind is Kind.HTTP_PROBED)
    assert "is not in SCE_SCENARIO_SECRETS" in probed.data["problem"]
    (tmp_path / "refs.yaml").write_text(
        scenario("https://ci.example.com", STEPS).replace("127.0.0.1]", "ci.example.com]")
    )
    runner = CliRunner()
    unlisted = runner.invoke(
        cli, ["validate", str(tmp_path / "refs.yaml")], env={"SCE_SCENARIO_SECRETS": "OTHER"}
    )
    assert unlisted.exit_code == 1
    lines = [line.replace(str(tmp_path / "refs.yaml"), "f") for line in unlisted.stderr.splitlines()]
    assert "f:8: steps[0].http.url: ${env:SCE_TEST_SECRET} is not in SCE_SCENARIO_SECRETS" in "\n".join(lines)
    assert any(line.startswith("f:15: steps[1].webhook.headers.X-Api-Key: ") for line in lines)
    listed = runner.invoke(
        cli, ["validate", str(tmp_path / "refs.yaml")], env={"SCE_SCENARIO_SECRETS": "SCE_TEST_SECRET"}
    )
    assert listed.exit_code == 0, listed.output
    unset = runner.invoke(cli, ["validate", str(tmp_path / "refs.yaml")], env={"SCE_SCENARIO_SECRETS": ""})
    assert unset.exit_code == 0 and "SCE_SCENARIO_SECRETS is not set" in unset.stdout


@pytest.mark.parametrize(
    "prose",
    [
        "Honey-token tripwire (lure credentials)",
        "WARN token rejected (401) by inventory-api; re-reading token; retry 1/5 in 400ms",
        "the bearer of bad news",
        "Basic steps first, then escalate to the security lead",
        "rotate the api key and the password policy",
        "the AKIA prefix marks AWS access keys",
    ],
)
def test_prose_about_credentials_is_not_a_credential(prose: str) -> None:
    text = INLINE.split("steps:\n")[0] + f"steps:\n  - at: 0s\n    say: {json.dumps(prose)}\n"
    assert inline_credentials(text, "t.yaml") == []


def test_the_shipped_scenarios_have_no_inline_credentials() -> None:
    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "scenarios").glob("*.yaml")) + sorted(
        (root / "bot" / "defaults" / "scenarios").glob("*.yaml")
    )
    assert files
    assert [str(c) for f in files for c in inline_credentials(f.read_text(), f.name)] == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="\\\"'#"),
        min_size=1,
        max_size=40,
    )
)
def test_whatever_the_value_it_reaches_the_wire_and_nothing_else(
    listener: RecordingListener, value: str
) -> None:
    secret = f"S3cr:{value}"
    before = len(listener.hits)
    caller = RequestsCaller(
        timeout=2.0, env={"SCE_TEST_SECRET": secret}, referable=frozenset({"SCE_TEST_SECRET"})
    )
    h = CoreHarness(http=caller)
    gd = h.engine.start(scenario(listener.url, STEPS), "C1", "UFAC", ROSTER).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 3)
    probe, hook = listener.hits[before:]
    assert probe.headers["Authorization"] == f"Bearer {secret}" and hook.headers["X-Api-Key"] == secret
    assert json.loads(hook.body)["auth"] == secret
    stored = [e.to_json() for e in h.store.events(gd)]
    assert secret not in json.dumps(stored) and secret not in repr(stored)
    assert not [text for _, text in h.announcer.posts if secret in text]

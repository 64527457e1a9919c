"""The preflight's canary alert (`preflight: {canary_alert: {labels, within}}`): a game day waits for it
before anything runs, goes on when it comes (through the same intake `sce serve` feeds from Alertmanager
and the alerts channel), and fails with nothing applied when it does not come in time."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from core_harness import CoreHarness
from test_limits import validate

from bot.debrief.render import render_debrief
from bot.gameday.measuring.alerts import Alert, alert_from_slack_message, is_canary, parse_alertmanager
from bot.gameday.state import Status, fold
from bot.gameday.timeline import Kind
from bot.integrations.alert_intake import AlertIntake

SCENARIO = """id: canary-drill
title: Canary drill
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m, namespaces: [lab]}}
{approval}preflight:
  canary_alert: {{labels: {{alertname: SceCanary, team: "{team}"}}, within: 2m}}
steps:
  - {{at: 0s, fault: {{type: k8s.network-deny, namespace: lab, selector: {{app: web}}, ttl: 5m}}}}
  - {{at: 10s, page: {{to: primary, severity: SEV-2, summary: "Checkout is failing"}}}}
"""


def scenario(team: str = "sre", approval: bool = False) -> str:
    approvers = "approval: {required: true, approvers: [UAPPROVER]}\nchange: {ticket: CAB-1}\n"
    return SCENARIO.format(team=team, approval=approvers if approval else "")


def rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def notification(labels: dict[str, str], starts_at: float, status: str = "firing") -> Any:
    alert = {
        "status": status,
        "labels": labels,
        "annotations": {},
        "startsAt": rfc3339(starts_at),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": "fp-canary-" + "-".join(sorted(labels.values())),
    }
    return {
        "version": "4",
        "status": status,
        "receiver": "sce",
        "groupKey": "{}:{}",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.local",
        "alerts": [alert],
    }


def canary(h: CoreHarness, labels: dict[str, str], status: str = "firing") -> Alert:
    return parse_alertmanager(notification(labels, h.clock.now(), status))[0]


def harness() -> CoreHarness:
    return CoreHarness(
        allowed_namespaces=frozenset({"lab"}), start=time.time()
    )  # the intake's plausible dates


def kinds(h: CoreHarness, gd: str) -> list[Kind]:
    return [e.kind for e in h.store.events(gd)]


def texts(h: CoreHarness) -> list[str]:
    return [text for _, text in h.announcer.posts]


def test_nothing_runs_until_the_canary_comes_then_the_steps_run_from_then() -> None:
    h = harness()
    outcome = h.engine.start(scenario(), "C1", "UFAC", {"primary": "U1"})
    assert outcome.ok and outcome.gameday_id and "canary" in outcome.message, outcome
    gd = outcome.gameday_id
    h.advance_to(h.clock.now() + 90)  # past both steps' times: neither runs
    assert fold(h.store.events(gd)).status is Status.PREFLIGHT
    assert Kind.FAULT_APPLIED not in kinds(h, gd) and Kind.PAGE_SENT not in kinds(h, gd)
    intake = AlertIntake(h.store, h.engine)
    # near misses: a label missing, another value, a resolved canary
    for near in (
        canary(h, {"alertname": "SceCanary"}),
        canary(h, {"alertname": "SceCanary", "team": "dba"}),
        canary(h, {"alertname": "SceCanary", "team": "sre"}, status="resolved"),
    ):
        assert not any("canary" in r for r in intake.handle(near)), near
    assert fold(h.store.events(gd)).status is Status.PREFLIGHT

    came = h.clock.now()
    told = intake.handle(canary(h, {"alertname": "SceCanary", "team": "SRE", "severity": "none"}))
    assert told == [f"{gd}: canary: canary arrived"], told
    assert intake.handle(canary(h, {"alertname": "SceCanary", "team": "sre", "severity": "none"}))  # again
    events = h.store.events(gd)
    assert [e.kind for e in events].count(Kind.CANARY_ARRIVED) == 1
    assert fold(events).status is Status.RUNNING
    h.advance_to(came + 15)
    applied = next(e for e in h.store.events(gd) if e.kind is Kind.FAULT_APPLIED)
    paged = next(e for e in h.store.events(gd) if e.kind is Kind.PAGE_SENT)
    assert applied.at == pytest.approx(came, abs=1.0)  # the steps count from the canary, not the start
    assert paged.at == pytest.approx(came + 10, abs=1.0)
    assert h.engine.end(gd, "UFAC").ok
    log = render_debrief(h.posted_debrief(), "md")
    assert "it waits for its canary alert (preflight)" in log
    assert "the canary alert SceCanary of the preflight arrived: the alert path is alive" in log


def test_without_the_canary_in_time_the_game_day_fails_and_nothing_is_applied() -> None:
    h = harness()
    gd = h.engine.start(scenario(), "C1", "UFAC", {"primary": "U1"}).gameday_id
    assert gd is not None
    h.advance_to(h.clock.now() + 119)
    assert fold(h.store.events(gd)).status is Status.PREFLIGHT
    h.advance_to(h.clock.now() + 2)
    state = fold(h.store.events(gd))
    assert state.status is Status.FAILED
    assert state.end_reason == "preflight failed: no canary alert within 2m"
    assert not state.faults and not state.pages
    shown = texts(h)
    assert any("Preflight failed: the canary alert `alertname=SceCanary, team=sre`" in t for t in shown)
    # a canary that comes too late changes nothing
    AlertIntake(h.store, h.engine).handle(canary(h, {"alertname": "SceCanary", "team": "sre"}))
    assert fold(h.store.events(gd)).status is Status.FAILED


def test_a_canary_leads_to_the_approval_when_the_scenario_needs_one_and_abort_works_before() -> None:
    h = harness()
    gd = h.engine.start(scenario(approval=True), "C1", "UFAC", {"primary": "U1"}).gameday_id
    assert gd is not None
    AlertIntake(h.store, h.engine).handle(canary(h, {"alertname": "SceCanary", "team": "sre"}))
    assert fold(h.store.events(gd)).status is Status.AWAITING_APPROVAL
    h.advance_to(h.clock.now() + 60)
    assert Kind.FAULT_APPLIED not in kinds(h, gd)  # still waits for its approver
    assert h.engine.approve(gd, "UAPPROVER", h.clock.now(), h.delivery()).ok
    h.advance_to(h.clock.now() + 1)
    assert Kind.FAULT_APPLIED in kinds(h, gd)

    other = h.engine.start(scenario(), "C2", "UFAC", {"primary": "U1"}).gameday_id
    assert other is not None
    assert h.engine.abort(other, "UFAC").ok
    assert fold(h.store.events(other)).status is Status.ABORTED


def test_a_canary_is_no_detection_and_no_noise_for_a_running_game_day() -> None:
    h = harness()
    lines = scenario().splitlines()
    plain = "\n".join(line for line in lines if "canary_alert" not in line and line != "preflight:")
    started = h.engine.start(plain + "\n", "C1", "UFAC", {"primary": "U1"})
    assert started.ok, started
    gd = started.gameday_id
    waiting = h.engine.start(scenario(), "C2", "UFAC", {"primary": "U1"}).gameday_id
    assert gd is not None and waiting is not None
    h.advance_to(h.clock.now() + 5)
    AlertIntake(h.store, h.engine).handle(canary(h, {"alertname": "SceCanary", "team": "sre"}))
    assert Kind.ALERT_UNMATCHED not in kinds(h, gd)
    assert Kind.DETECTED not in kinds(h, gd)
    assert fold(h.store.events(waiting)).status is Status.RUNNING


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[FIRING:1] SceCanary (sre)", True),  # Alertmanager's Slack notifier's default title
        ("*Alert:* SceCanary - watchdog\n*Team:* SRE", True),
        ("[RESOLVED] SceCanary (sre)", False),  # resolved: not the canary firing
        ("[FIRING:1] SceCanaryOld (sre)", False),  # a longer word is another alert
        ("[FIRING:1] SceCanary", False),  # the team is not named
    ],
)
def test_an_apps_notification_in_the_alerts_channel_can_be_the_canary(text: str, expected: bool) -> None:
    alert = alert_from_slack_message("CALERTS", text, f"{time.time():.6f}")
    assert is_canary(alert, {"alertname": "SceCanary", "team": "sre"}) is expected


@pytest.mark.parametrize(
    ("written", "field", "said"),
    [
        ("{labels: {}, within: 2m}", "preflight.canary_alert.labels", "at least 1"),
        ("{labels: {'bad-name': x}, within: 2m}", "preflight.canary_alert.labels", "not a Prometheus label"),
        ("{labels: {alertname: ''}, within: 2m}", "preflight.canary_alert.labels", "1 to 200 characters"),
        ("{labels: {alertname: X}, within: 0s}", "preflight.canary_alert.within", "longer than 0s"),
        ("{labels: {alertname: X}, within: 2h}", "preflight.canary_alert.within", "at most 1h"),
        ("{labels: {alertname: X}, within: soon}", "preflight.canary_alert.within", ""),
        ("{labels: {alertname: X}, wait: 2m}", "preflight.canary_alert.wait", ""),
    ],
)
def test_validate_names_a_bad_canary_at_its_line(tmp_path: Path, written: str, field: str, said: str) -> None:
    text = scenario().replace(
        'canary_alert: {labels: {alertname: SceCanary, team: "sre"}, within: 2m}', f"canary_alert: {written}"
    )
    assert written in text
    path = tmp_path / "canary.yaml"
    path.write_text(text)
    code, lines = validate(path)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:6: {field}"), lines
    assert said in lines[0], lines


def test_a_hostile_canary_label_is_shown_as_text() -> None:
    h = harness()
    gd = h.engine.start(scenario(team="<!channel>"), "C1", "UFAC", {"primary": "U1"}).gameday_id
    assert gd is not None
    h.advance_to(h.clock.now() + 1)
    waiting = next(t for t in texts(h) if t.startswith("Preflight: waiting"))
    assert "&lt;!channel&gt;" in waiting and "<!channel>" not in waiting

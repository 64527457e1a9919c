"""Findings in the core: their ids as people type them, every move and every refusal, what a finished
game day yields (a real one, on the in-memory store and a virtual clock), and learning-loop speed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from core_harness import CoreHarness, scenario_text

from bot.gameday.findings.derive import findings_from
from bot.gameday.findings.model import BadFindingId, Finding, FindingKind, FindingState, parse_finding_id
from bot.gameday.findings.speed import loop_durations, loop_speed_by_scenario
from bot.gameday.findings.transitions import Refused, as_of, move
from bot.gameday.measuring.report_models import Debrief, ExpectationReport, InjectReport

S = FindingState
DAY = 86400.0
T = datetime(2026, 12, 1, tzinfo=UTC).timestamp()


def finding(state: FindingState = S.OPEN, number: int = 7, **fields: object) -> Finding:
    values: dict[str, object] = {
        "number": number,
        "gameday": "gd-1",
        "key": "gap:x",
        "kind": FindingKind.GAP,
        "scenario": "pager-stress",
        "channel": "C1",
        "text": "no runbook step",
        "state": state,
        "created_at": T,
    }
    return Finding.model_validate(values | fields)


@pytest.mark.parametrize(
    ("typed", "number"),
    [("F-12", 12), ("f-12", 12), ("`F-12`.", 12), (" F-1 ", 1), ("F-9223372036854775807", 2**63 - 1)],
)
def test_finding_ids_as_people_type_them(typed: str, number: int) -> None:
    assert parse_finding_id(typed) == number


@pytest.mark.parametrize(
    "typed",
    [
        "F-0",
        "f-x",
        "F-1;drop",
        "F-99999999999999999999",
        "F-9223372036854775808",  # one past the largest id a row can have
        "F-01",
        "F-",
        "12",
        "F--1",
        "F-1 OR 1=1",
        "F-١٢",  # Arabic-Indic digits: int() would read them, an id never has them
        "F-1\x00",
        "F-1\x1b[2J",
        "",
        "F-" + "9" * 5000,
    ],
)
def test_anything_else_is_one_sentence(typed: str) -> None:
    with pytest.raises(BadFindingId) as refused:
        parse_finding_id(typed)
    message = str(refused.value)
    assert message.endswith("finding ids look like F-12.") and "\n" not in message.strip()
    assert len(message) < 120  # a 5,000-digit id is not echoed whole
    assert all(c.isprintable() for c in message)  # nor a terminal escape


def test_open_fixing_fixed_verified_stamps_each_time_and_keeps_each_note() -> None:
    f = finding()
    fixing = move(f, S.FIXING, T + 10, "U1", "on it")
    fixed = move(fixing, S.FIXED, T + 100, "U1", "rotated the key")
    verified = move(fixed, S.VERIFIED, T + 1000, "regression")
    assert (fixing.state, fixed.state, verified.state) == (S.FIXING, S.FIXED, S.VERIFIED)
    assert (verified.fixing_at, verified.fixed_at, verified.verified_at) == (T + 10, T + 100, T + 1000)
    assert [(n.state, n.by, n.text) for n in verified.notes] == [
        (S.FIXING, "U1", "on it"),
        (S.FIXED, "U1", "rotated the key"),
        (S.VERIFIED, "regression", ""),
    ]
    assert [x.version for x in (f, fixing, fixed, verified)] == [1, 2, 3, 4]
    assert f.state is S.OPEN and f.notes == ()  # moves make a new finding; the old one is untouched


def test_fixed_straight_from_open() -> None:
    fixed = move(finding(), S.FIXED, T + 5, "cli", "done")
    assert fixed.state is S.FIXED and fixed.fixed_at == T + 5 and fixed.fixing_at is None


@pytest.mark.parametrize(
    ("state", "to", "words"),
    [
        (S.OPEN, S.OPEN, "F-7 is open already."),
        (S.OPEN, S.VERIFIED, "F-7 is open: only a fixed finding is verified, and only by a regression run."),
        (S.FIXING, S.FIXING, "F-7 is fixing already."),
        (S.FIXING, S.OPEN, "F-7 cannot move from fixing to open."),
        (S.FIXING, S.VERIFIED, "F-7 is fixing: only a fixed finding is verified"),
        (S.FIXED, S.FIXED, "F-7 is fixed already."),
        (S.FIXED, S.FIXING, "F-7 is fixed already; a regression run verifies it."),
        (S.FIXED, S.ACCEPTED_RISK, "F-7 is fixed already; there is no risk left to accept."),
        (S.FIXED, S.OPEN, "F-7 cannot move from fixed to open."),
        (S.VERIFIED, S.FIXED, "F-7 is verified already"),
        (S.VERIFIED, S.OPEN, "F-7 is verified already"),
        (S.VERIFIED, S.ACCEPTED_RISK, "F-7 is verified already"),
    ],
)
def test_every_refusal_is_one_sentence(state: FindingState, to: FindingState, words: str) -> None:
    with pytest.raises(Refused) as refused:
        move(finding(state), to, T + 1, "U1", "note", reason="because", until=T + DAY)
    assert str(refused.value).startswith(words)
    assert str(refused.value).count(". ") == 0  # one sentence


def test_a_risk_is_accepted_with_a_reason_for_a_year_at_most_then_opens_again() -> None:
    until = datetime(2027, 3, 1, tzinfo=UTC).timestamp()
    for start in (S.OPEN, S.FIXING):
        accepted = move(
            finding(start), S.ACCEPTED_RISK, T, "U1", reason=" legacy box, retired in Q1 ", until=until
        )
        assert accepted.state is S.ACCEPTED_RISK and accepted.accepted_until == until
        assert accepted.accepted_reason == "legacy box, retired in Q1"
        assert accepted.notes[-1].text == "legacy box, retired in Q1"
    assert as_of(accepted, until - 1).state is S.ACCEPTED_RISK
    reopened = as_of(accepted, until)
    assert reopened.state is S.OPEN and reopened.accepted_until == until  # the history stays
    with pytest.raises(Refused, match="an accepted risk until 2027-03-01; it opens again then"):
        move(accepted, S.FIXED, until - 1, "U1")
    assert move(accepted, S.FIXED, until + 1, "U1").state is S.FIXED  # open again, so it can be fixed
    a_year = datetime(2027, 12, 1, tzinfo=UTC).timestamp()  # 365 days after T
    assert move(finding(), S.ACCEPTED_RISK, T, "U1", reason="r", until=a_year).state is S.ACCEPTED_RISK
    for reason, until_, words in [
        ("", until, "needs a reason"),
        ("   ", until, "needs a reason"),
        ("r", None, "needs an expiry in the future"),
        ("r", T, "needs an expiry in the future"),
        ("r", T - DAY, "needs an expiry in the future"),
        ("r", T + 367 * DAY, "for a year at most; 2027-12-03 is further ahead than 2027-12-02"),
    ]:
        with pytest.raises(Refused, match=words):
            move(finding(), S.ACCEPTED_RISK, T, "U1", reason=reason, until=until_)


def test_a_note_is_bounded() -> None:
    fixed = move(finding(), S.FIXED, T, "U1", "x" * 10_000)
    assert len(fixed.notes[-1].text) == 2000


def test_a_finished_game_day_yields_its_gaps_actions_and_misses() -> None:
    h = CoreHarness()
    gd = h.engine.start(scenario_text(), "C1", "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    assert gd
    t = h.clock.now()
    h.advance_to(t + 60)
    assert h.engine.add_note(gd, "gap", "no step for revoking the token", "U2", h.clock.now(), "d1").ok
    assert h.engine.add_note(gd, "action", "write the revoke runbook", "U1", h.clock.now(), "d2").ok
    assert h.engine.add_note(gd, "note", "coffee arrived", "U1", h.clock.now(), "d3").ok  # not a finding
    h.advance_to(t + 9 * 60)
    assert h.engine.end(gd, "UFAC").ok
    debrief = h.posted_debrief()
    drafts = findings_from(debrief)
    # nobody acknowledged, handed over or contained anything: those three expectations were missed
    assert [(d.kind, d.text, d.owner, d.step) for d in drafts] == [
        (FindingKind.GAP, "no step for revoking the token", "U2", 1),
        (FindingKind.ACTION, "write the revoke runbook", "U1", 1),
        (
            FindingKind.MISSED,
            "Expectation acknowledge_within missed: it never happened (target 5m).",
            None,
            None,
        ),
        (
            FindingKind.MISSED,
            "Expectation handoff_within missed: it never happened (target 10m).",
            None,
            None,
        ),
        (
            FindingKind.MISSED,
            "Expectation contain_within missed: it never happened (target 15m).",
            None,
            None,
        ),
    ]
    assert {d.gameday for d in drafts} == {gd} and {d.scenario for d in drafts} == {"pager-stress"}
    assert {d.technique for d in drafts} == {"T1078"}  # the scenario's first ATT&CK id
    keys = [d.key for d in drafts]
    assert len(set(keys)) == len(keys)
    assert keys[2:] == ["missed:acknowledge_within", "missed:handoff_within", "missed:contain_within"]
    assert [d.key for d in findings_from(debrief.model_copy(deep=True))] == keys  # stable


def test_missed_injects_late_expectations_and_a_running_game_day() -> None:
    base = Debrief.model_validate(
        {
            "id": "gd-2", "scenario": "token-revoke", "title": "t", "status": "aborted",
            "verdict": "falsified", "hypothesis": "h", "started_at": T, "ended_at": T + 600,
            "end_reason": None, "roster": {},
            "metrics": {"mtta_seconds": None, "mttc_seconds": None, "ttd_seconds": None, "ttc_seconds": None,
                        "pages_total": 0, "pages_unacknowledged": 0, "escalations": 0,
                        "handoff_latency_seconds": []},
            "pages": [], "handoffs": [], "expectations": [], "missed": [], "gaps": [], "notes": [],
            "questions": [], "timeline": [],
        }
    )  # fmt: skip
    late = ExpectationReport(
        name="detect_within", target_seconds=300, actual_seconds=420, met=False, outcome="missed"
    )
    unmeasured = ExpectationReport(
        name="contain_within", target_seconds=600, actual_seconds=None, met=None, outcome="not_measured"
    )
    injects = [
        InjectReport(id="f1", step=2, type="k8s.token-revoke", marker="m1", applied_at=T, status="missed",
                     comment="no alert carried its marker"),
        InjectReport(id="f2", step=3, type="k8s.dns-beacon", marker="m2", applied_at=T, status="in_time"),
    ]  # fmt: skip
    debrief = base.model_copy(
        update={"expectations": [late, unmeasured], "missed": ["detect_within"], "injects": injects}
    )
    drafts = findings_from(debrief)
    assert [(d.key, d.text, d.step, d.technique) for d in drafts] == [
        ("missed:detect_within", "Expectation detect_within missed: it took 7m (target 5m).", None, None),
        (
            "missed-inject:f1",
            "Inject f1 (k8s.token-revoke) at step 2 was not detected: no alert carried its marker",
            2,
            None,
        ),
    ]
    assert findings_from(debrief.model_copy(update={"status": "running"})) == []


def test_learning_loop_speed_per_finding_and_medians_per_scenario() -> None:
    def done(scenario: str, fixed_after: float | None, verified_after: float | None) -> Finding:
        fixed_at = T + fixed_after if fixed_after is not None else None
        verified_at = (
            fixed_at + verified_after if fixed_at is not None and verified_after is not None else None
        )
        return finding(scenario=scenario, fixed_at=fixed_at, verified_at=verified_at)

    one = done("a", 3 * DAY, 1 * DAY)
    assert loop_durations(one).found_to_fixed == 3 * DAY
    assert loop_durations(one).fixed_to_verified == 1 * DAY
    assert loop_durations(finding()).found_to_fixed is None
    findings = [
        one,
        done("a", 1 * DAY, None),
        done("a", 10 * DAY, 5 * DAY),
        done("a", None, None),
        done("b", 2 * DAY, 4 * DAY),
        done("b", 4 * DAY, 2 * DAY),
        done("c", None, None),
    ]
    speeds = {s.scenario: s for s in loop_speed_by_scenario(findings)}
    # a: fixed after 3, 1, 10 days -> median 3; verified 1 and 5 days after their fixes -> median 3
    assert (speeds["a"].found_to_fixed, speeds["a"].fixed_to_verified) == (3 * DAY, 3 * DAY)
    assert (speeds["a"].fixed, speeds["a"].verified) == (3, 2)
    # b: an even count, the mean of the middle two: (2 + 4) / 2 = 3 days, (4 + 2) / 2 = 3 days
    assert (speeds["b"].found_to_fixed, speeds["b"].fixed_to_verified) == (3 * DAY, 3 * DAY)
    assert (speeds["c"].found_to_fixed, speeds["c"].fixed_to_verified, speeds["c"].fixed) == (None, None, 0)
    assert list(speeds) == ["a", "b", "c"]

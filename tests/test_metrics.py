"""Metrics against figures computed here, independently, from the raw times a timeline was built from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.gameday.measuring.report import build_debrief
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.scenario.model import Scenario
from bot.gameday.timeline import Event, Kind

BASE = 1_700_000_000.0
USERS = ("U1", "U2", "U3")
# At equal times an effect never precedes its cause: a page before its ack, a request before its completion.
ORDER = {
    Kind.STARTED: 0,
    Kind.PAGE_SENT: 1,
    Kind.FAULT_APPLIED: 1,
    Kind.ESCALATED: 2,
    Kind.ACKNOWLEDGED: 3,
    Kind.HANDOFF_REQUESTED: 4,
    Kind.HANDOFF_COMPLETED: 5,
}


def scenario(**fields: Any) -> Scenario:
    base: dict[str, Any] = {
        "id": "metrics-test",
        "title": "Metrics test",
        "charter": {"objective": "measure", "hypothesis": "it holds"},
        "guardrails": {"max_duration": "2h"},
        "steps": [{"at": 0, "say": "start"}, {"at": 60, "say": "later"}],
    }
    return Scenario.model_validate(base | fields)


def close(actual: float | None, expected: float | None) -> bool:
    if actual is None or expected is None:
        return actual is expected
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-6)


# -- random timelines from raw times ---------------------------------------------------------------


@dataclass
class RawPage:
    index: int
    responder: str
    paged: float
    escalation: tuple[str, float] | None
    ack: tuple[str, float] | None
    second_ack: tuple[str, float] | None

    @property
    def id(self) -> str:
        return f"p{self.index}"


@dataclass
class RawHandoff:
    id: str
    from_user: str
    to_user: str
    page_ids: list[str]
    requested: float
    completed: float | None


@dataclass
class RawGameDay:
    pages: list[RawPage]
    handoffs: list[RawHandoff]
    detections: list[tuple[float, str | None]]
    containments: list[tuple[float, str | None]]
    faults: list[tuple[str, float, list[str]]]


offsets = st.floats(min_value=0, max_value=3600, allow_nan=False, allow_infinity=False)
delays = st.floats(min_value=0.001, max_value=1800, allow_nan=False, allow_infinity=False)
users = st.sampled_from(USERS)


@st.composite
def raw_pages(draw: st.DrawFn, index: int) -> RawPage:
    paged = draw(offsets)
    responder = draw(users)
    escalation = (draw(users), paged + draw(delays)) if draw(st.booleans()) else None
    ack = second = None
    if draw(st.booleans()):  # otherwise never acknowledged
        at = paged + draw(delays)
        if escalation is not None and escalation[1] > at:
            escalation = None  # only an unacknowledged page is escalated
        who = draw(st.sampled_from([responder, "U9", *([escalation[0]] if escalation else [])]))
        ack = (who, at)
        if draw(st.booleans()):  # a second acknowledgement changes nothing
            second = (draw(users), at + draw(delays))
    return RawPage(index, responder, paged, escalation, ack, second)


def marks(draw: st.DrawFn, pages: list[RawPage]) -> list[tuple[float, str | None]]:
    """Detections or containments at any time (even before acknowledgements), naming a sent page or none."""
    result = []
    for _ in range(draw(st.integers(0, 3))):
        at = draw(offsets)
        sent = [p.id for p in pages if p.paged < at]
        names_a_page: bool = bool(sent) and draw(st.booleans())
        page_id = draw(st.sampled_from(sent)) if names_a_page else None
        result.append((at, page_id))
    return result


@st.composite
def raw_game_days(draw: st.DrawFn) -> RawGameDay:
    pages = [draw(raw_pages(i)) for i in range(draw(st.integers(0, 5)))]
    handoffs = []
    holder, at = draw(users), draw(offsets)
    for i in range(draw(st.integers(0, 4))):  # several handoffs in a row, each from the last owner
        to_user = draw(st.sampled_from([u for u in USERS if u != holder]))
        page_ids = [p.id for p in pages if p.paged <= at and draw(st.booleans())]
        completed = at + draw(delays) if draw(st.booleans()) else None
        handoffs.append(RawHandoff(f"h{i}", holder, to_user, page_ids, at, completed))
        holder, at = to_user, at + draw(delays)
    faults = [
        (f"f{i}", draw(offsets), draw(st.lists(st.sampled_from(["blocked", "allowed"]), max_size=2)))
        for i in range(draw(st.integers(0, 2)))
    ]
    return RawGameDay(pages, handoffs, marks(draw, pages), marks(draw, pages), faults)


def timeline(raw: RawGameDay) -> list[Event]:
    rows: list[tuple[float, Kind, str | None, dict[str, Any]]] = [
        (-10.0, Kind.STARTED, "UFAC", {"scenario": "metrics-test", "scenario_hash": "h", "status": "running"})
    ]
    for p in raw.pages:
        data = {"page_id": p.id, "step": 0, "responder": p.responder, "severity": "SEV-2", "summary": "s"}
        rows.append((p.paged, Kind.PAGE_SENT, None, data | {"message_ts": f"{BASE + p.paged:.6f}"}))
        if p.escalation:
            rows.append((p.escalation[1], Kind.ESCALATED, None, {"page_id": p.id, "to": p.escalation[0]}))
        for ack in (p.ack, p.second_ack):
            if ack:
                rows.append((ack[1], Kind.ACKNOWLEDGED, ack[0], {"page_id": p.id}))
    for h in raw.handoffs:
        data = {"handoff_id": h.id, "page_ids": h.page_ids, "from": h.from_user, "to": h.to_user}
        rows.append((h.requested, Kind.HANDOFF_REQUESTED, h.from_user, data))
        if h.completed is not None:
            rows.append((h.completed, Kind.HANDOFF_COMPLETED, h.to_user, {"handoff_id": h.id}))
    for kind, raw_marks in ((Kind.DETECTED, raw.detections), (Kind.CONTAINED, raw.containments)):
        rows += [(at, kind, "U1", {"source": "slack", "page_id": page_id}) for at, page_id in raw_marks]
    for fault_id, applied, outcomes in raw.faults:
        data = {"fault_id": fault_id, "step": 1, "type": "sim", "expires_at": BASE + applied + 600}
        rows.append((applied, Kind.FAULT_APPLIED, None, data | {"driver": "simulated"}))
        rows += [
            (applied + 1, Kind.FAULT_OBSERVED, None, {"fault_id": fault_id, "outcome": o}) for o in outcomes
        ]
    order = sorted(range(len(rows)), key=lambda i: (rows[i][0], ORDER.get(rows[i][1], 9), i))
    events = [
        Event(n + 1, rows[i][1], BASE + rows[i][0], rows[i][2], rows[i][3]) for n, i in enumerate(order)
    ]
    end = max(e.at for e in events) + 1
    return [*events, Event(len(events) + 1, Kind.ENDED, end, None, {"status": "completed", "reason": "test"})]


def debrief_of(raw: RawGameDay) -> Debrief:
    events = timeline(raw)
    return build_debrief("gd-test", scenario(attack=["T1078"]), {}, events, now=events[-1].at)


@settings(max_examples=300, deadline=None)
@given(raw_game_days())
def test_metrics_match_the_raw_times(raw: RawGameDay) -> None:
    d = debrief_of(raw)
    m = d.metrics
    acked = [p for p in raw.pages if p.ack]
    ttas = [p.ack[1] - p.paged for p in acked if p.ack]
    assert m.pages_total == len(raw.pages)
    assert close(m.mtta_seconds, sum(ttas) / len(ttas) if ttas else None)
    assert {p.id: p.tta_seconds for p in d.pages if p.tta_seconds is not None}.keys() == {p.id for p in acked}
    for report in d.pages:
        page = raw.pages[int(report.id[1:])]
        assert close(report.tta_seconds, page.ack[1] - page.paged if page.ack else None)
        assert report.acknowledged_by == (page.ack[0] if page.ack else None)
    sent_order = sorted(raw.pages, key=lambda p: (p.paged, p.index))
    assert m.unacknowledged_pages == [p.id for p in sent_order if p.ack is None]
    assert m.pages_unacknowledged == len(m.unacknowledged_pages)
    assert m.escalations == sum(1 for p in raw.pages if p.escalation)

    starts = [BASE + p.paged for p in raw.pages] + [BASE + applied for _, applied, _ in raw.faults]
    t0 = min(starts) if starts else None
    assert close(d.t0, t0)
    detections = [BASE + at for at, _ in raw.detections]
    containments = [BASE + at for at, _ in raw.containments]
    assert close(m.ttd_seconds, min(detections) - t0 if detections and t0 is not None else None)
    assert close(m.ttc_seconds, min(containments) - t0 if containments and t0 is not None else None)
    paged_at = {p.id: BASE + p.paged for p in raw.pages}
    ttcs = [BASE + at - (paged_at[pid] if pid else t0) for at, pid in raw.containments if t0 is not None]
    assert close(m.mttc_seconds, sum(ttcs) / len(ttcs) if ttcs else None)

    in_request_order = sorted(raw.handoffs, key=lambda h: h.requested)
    latencies = [h.completed - h.requested for h in in_request_order if h.completed is not None]
    assert len(m.handoff_latency_seconds) == len(latencies)
    assert all(close(a, b) for a, b in zip(m.handoff_latency_seconds, latencies, strict=True))
    assert [h.page_ids for h in d.handoffs] == [h.page_ids for h in in_request_order]

    # every fault here has the simulated driver: only one observed blocked or allowed reached a control
    reached = [f for f in raw.faults if f[2]]
    blocked = [f for f in reached if "blocked" in f[2] and "allowed" not in f[2]]
    assert close(m.control_efficacy, len(blocked) / len(reached) if reached else None)
    # the detections come from alerts (source "slack": a matched alert message) and nothing sets
    # detect_within, so any one covers the technique; with none, no alert reached: not measured
    assert m.detection_coverage == (1.0 if raw.detections else None)
    check_responders(raw, d)


def check_responders(raw: RawGameDay, d: Debrief) -> None:
    """Per responder: TTA from when *they* were paged (the page, or the escalation to them)."""
    paged: dict[str, set[str]] = {}
    ttas: dict[str, dict[str, float]] = {}
    for p in raw.pages:
        paged.setdefault(p.responder, set()).add(p.id)
        if p.escalation:
            paged.setdefault(p.escalation[0], set()).add(p.id)
        if p.ack:
            who, at = p.ack
            since = p.escalation[1] if p.escalation and p.escalation[0] == who else p.paged
            ttas.setdefault(who, {})[p.id] = at - since
    reports = {r.user: r for r in d.responders}
    assert set(reports) == set(paged) | set(ttas)
    for user, report in reports.items():
        assert set(report.paged) == paged.get(user, set())
        mine = ttas.get(user, {})
        got = {a.page_id: a.tta_seconds for a in report.acknowledged}
        assert got.keys() == mine.keys()
        assert all(close(got[k], mine[k]) for k in mine)
        assert close(report.mtta_seconds, sum(mine.values()) / len(mine) if mine else None)
        assert close(d.metrics.mtta_by_responder[user], report.mtta_seconds)
        open_ids = {p.id for p in raw.pages if p.ack is None}
        assert set(report.unacknowledged) == paged.get(user, set()) & open_ids


# -- hand-written cases ----------------------------------------------------------------------------


class Timeline:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.add(Kind.STARTED, -5, "UFAC", scenario="metrics-test", scenario_hash="abc", status="running")

    def add(self, event: Kind, at: float, actor: str | None = None, /, **data: Any) -> Timeline:
        self.events.append(Event(len(self.events) + 1, event, BASE + at, actor, data))
        return self

    def page(self, page_id: str, at: float, responder: str = "U1") -> Timeline:
        data = {"step": 0, "responder": responder, "severity": "SEV-2", "summary": "s", "message_ts": "1.0"}
        return self.add(Kind.PAGE_SENT, at, None, page_id=page_id, **data)

    def note(self, kind: str, at: float, text: str, step: int | None = 0) -> Timeline:
        return self.add(Kind.NOTE, at, "U1", kind=kind, text=text, step=step)

    def debrief(self, **fields: Any) -> Debrief:
        self.add(Kind.ENDED, max(e.at for e in self.events) - BASE + 1, None, status="completed", reason="t")
        return build_debrief("gd-t", scenario(**fields), {}, self.events, now=self.events[-1].at)


def test_an_escalated_page_times_the_secondary_from_the_escalation() -> None:
    tl = Timeline().page("p0", 0).add(Kind.ESCALATED, 300, None, page_id="p0", to="U2")
    d = tl.add(Kind.ACKNOWLEDGED, 345, "U2", page_id="p0").debrief()
    assert d.metrics.mtta_seconds == 345
    assert d.metrics.mtta_by_responder == {"U1": None, "U2": 45}
    assert [(r.user, r.paged, r.unacknowledged) for r in d.responders] == [
        ("U1", ["p0"], []),
        ("U2", ["p0"], []),
    ]


def test_unacknowledged_pages_are_listed_and_not_averaged() -> None:
    tl = (
        Timeline().page("p0", 0).page("p1", 10, responder="U2").add(Kind.ACKNOWLEDGED, 70, "U1", page_id="p0")
    )
    d = tl.debrief()
    assert d.metrics.mtta_seconds == 70 and d.metrics.unacknowledged_pages == ["p1"]
    assert [r.unacknowledged for r in d.responders] == [[], ["p1"]]


def test_comms_clarity_updates_late_gaps_and_roles() -> None:
    tl = Timeline().page("p0", 0).add(Kind.ROLE_ASSIGNED, 30, "UFAC", role="commander", user="U1")
    tl.note("update", 20, "before anyone acknowledged").add(Kind.ACKNOWLEDGED, 60, "U1", page_id="p0")
    tl.note("update", 120, "investigating").note("update", 1200, "contained?").note("update", 1500, "done")
    tl.add(Kind.ROLE_ASSIGNED, 200, "UFAC", role="comms", user="U2")
    tl.add(Kind.ROLE_ASSIGNED, 900, "UFAC", role="commander", user="U3")  # a reassignment: not the first
    c = tl.debrief(expect={"update_every": "15m"}).comms
    assert c.ack_to_first_update_seconds == 60 and c.updates == 4
    assert c.update_gaps_seconds == [100, 1080, 300]
    assert [(g.from_at - BASE, g.to_at - BASE, g.gap_seconds) for g in c.late_update_gaps] == [
        (120, 1200, 1080)
    ]
    roles = {r.role: (r.user, r.after_t0_seconds, r.after_start_seconds) for r in c.roles}
    assert roles == {"commander": ("U1", 30, 35), "comms": ("U2", 200, 205)}


def test_without_a_cadence_no_gap_is_late() -> None:
    tl = Timeline().page("p0", 0).note("update", 10, "a").note("update", 5000, "b")
    d = tl.debrief()
    assert (
        d.comms.update_gaps_seconds == [4990]
        and d.comms.late_update_gaps == []
        and d.metrics.late_updates == 0
    )
    assert d.comms.ack_to_first_update_seconds is None  # nobody acknowledged


def test_detection_coverage_counts_alerts_in_time_and_leaves_out_what_was_not_measured() -> None:
    techniques = ["T1078", "T1071.004"]
    quiet = Timeline().page("p0", 0).debrief(attack=techniques)  # no alert reached the game day at all
    assert [(t.id, t.detected, t.status) for t in quiet.coverage.techniques] == [
        ("T1078", False, "not_measured"),
        ("T1071.004", False, "not_measured"),
    ]
    assert quiet.metrics.detection_coverage is None and quiet.coverage.not_measured_reason
    noisy = (
        Timeline().page("p0", 0).add(Kind.ALERT_UNMATCHED, 30, None, source="webhook", name="x", labels={})
    )
    missed = noisy.debrief(attack=techniques)  # alerts arrived, none carried the marker
    assert [t.status for t in missed.coverage.techniques] == ["missed", "missed"]
    assert missed.metrics.detection_coverage == 0.0
    seen = Timeline().page("p0", 0).add(Kind.DETECTED, 50, "alertmanager:Beacon", source="alertmanager")
    assert seen.debrief(attack=techniques).coverage.ratio == 1.0
    person = Timeline().page("p0", 0).add(Kind.DETECTED, 50, "U1", source="command", page_id=None)
    by_hand = person.debrief(attack=techniques, expect={"detect_within": "5m"})
    assert [t.status for t in by_hand.coverage.techniques] == ["person_only", "person_only"]
    assert by_hand.metrics.detection_coverage is None  # a person detected it: the control did not
    assert [(e.name, e.met, e.detected_by) for e in by_hand.expectations] == [
        ("detect_within", True, "person")
    ]
    assert Timeline().page("p0", 0).debrief().metrics.detection_coverage is None


def test_control_efficacy_and_failed_reverts() -> None:
    tl = Timeline()
    for fault_id, at in (("f1", 0), ("f2", 10), ("f3", 20)):
        tl.add(Kind.FAULT_APPLIED, at, None, fault_id=fault_id, step=1, type="k8s.network-deny", expires_at=0)
    tl.add(Kind.FAULT_OBSERVED, 30, None, fault_id="f1", outcome="blocked", detail="denied")
    tl.add(Kind.FAULT_OBSERVED, 31, None, fault_id="f2", outcome="blocked", detail="denied")
    tl.add(Kind.FAULT_OBSERVED, 32, None, fault_id="f2", outcome="allowed", detail="got through")
    tl.add(Kind.FAULT_REVERT_FAILED, 40, None, fault_id="f2", error="403 Forbidden")
    tl.add(Kind.FAULT_REVERTED, 45, None, fault_id="f2")
    tl.add(Kind.FAULT_REVERT_FAILED, 50, None, fault_id="f3", error="connection refused")
    d = tl.debrief()
    # f3 was never observed: it may have been blocked or not, so it counts neither way (1 of 2 observed)
    assert (
        d.controls.applied == 3
        and d.controls.observed == 2
        and d.controls.blocked == 1
        and math.isclose(d.metrics.control_efficacy or 0, 1 / 2)
    )
    assert [(f.fault_id, f.observed, f.blocked) for f in d.controls.faults] == [
        ("f1", "blocked", True),
        ("f2", "allowed", False),
        ("f3", None, False),
    ]
    assert [(f.fault_id, f.error, f.reverted_later) for f in d.failed_reverts] == [
        ("f2", "403 Forbidden", True),
        ("f3", "connection refused", False),
    ]
    assert d.metrics.failed_reverts == 2
    assert d.t0 == BASE  # the first applied fault is T0 when no page was sent


def test_runbook_fitness_decisions_and_actions() -> None:
    tl = (
        Timeline()
        .page("p0", 0)
        .note("gap", 5, "no link", step=None)
        .note("gap", 10, "token step missing", step=1)
    )
    tl.note("decision", 12, "rotate now").note("gap", 15, "who approves?", step=0).note(
        "action", 20, "fix runbook"
    )
    tl.note("gap", 25, "revoke script broken", step=1)
    d = tl.debrief()
    assert [(s.step, [g.text for g in s.gaps]) for s in d.runbook_fitness] == [
        (None, ["no link"]),
        (0, ["who approves?"]),
        (1, ["token step missing", "revoke script broken"]),
    ]
    assert [s.label for s in d.runbook_fitness] == [
        "before the first step",
        "step 0 at 0s: say: start",
        "step 1 at 1m: say: later",
    ]
    assert [n.text for n in d.decisions] == ["rotate now"] and [n.text for n in d.actions] == ["fix runbook"]


def test_approvals_are_bound_to_the_scenario_hash() -> None:
    tl = (
        Timeline()
        .add(Kind.APPROVED, 1, "U7", scenario_hash="abc")
        .add(Kind.APPROVED, 2, "U8", scenario_hash="zzz")
    )
    d = tl.page("p0", 5).debrief()
    assert d.scenario_hash == "abc"
    assert [(a.by, a.matches_scenario) for a in d.approvals] == [("U7", True), ("U8", False)]

"""A debrief that states only what was measured, in every format.

Every expected value here is worked out by hand from the events fed in (times in seconds from T0, the page
at 0), never by calling the code under test: which expectations were measured, in time, late or missed;
the verdict; detection coverage and control efficacy; the Navigator colours; the times each format shows.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.debrief.event_log import event_log
from bot.debrief.render import render_debrief
from bot.debrief.schema import SCHEMA_PATH
from bot.gameday.measuring.report import build_debrief
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.scenario.model import Scenario
from bot.gameday.timeline import Event, Kind
from bot.slack.render import render

BASE = 1_700_000_000.0
GREEN, AMBER, RED, GREY = "#31a354", "#fdae61", "#de2d26", "#bdbdbd"
SCENARIO = """\
id: honest
title: Honest drill
attack: [T1078, T1071.004]
charter:
  objective: prove the beacon is blocked and seen
  hypothesis: the egress policy blocks the beacon and an alert fires within 5 minutes
  scope: chaos-lab only
  method: a DNS beacon from a test pod
  owners: {captain: Carol, rollback: Bob}
  rollback: delete the test pod
guardrails: {namespaces: [chaos-lab]}
expect: {acknowledge_within: 5m, detect_within: 5m, contain_within: 15m}
steps:
  - at: 0s
    page: {severity: SEV-2, summary: "Simulated: beacon from web-1"}
  - at: 30s
    fault: {type: k8s.network-deny, namespace: chaos-lab, ttl: 5m}
"""
FAULT_ONLY = SCENARIO.replace(
    """  - at: 0s
    page: {severity: SEV-2, summary: "Simulated: beacon from web-1"}
  - at: 30s
""",
    "  - at: 0s\n",
)
Row = tuple[Kind, float, str | None, dict[str, Any]]


def page(at: float = 0.0) -> Row:
    data = {"page_id": "p0", "step": 0, "responder": "U1", "severity": "SEV-2", "summary": "beacon"}
    return (Kind.PAGE_SENT, at, None, data | {"message_ts": f"{BASE + at:.6f}"})


def fault(at: float, driver: str, step: int = 1) -> Row:
    data = {"fault_id": "f1", "step": step, "type": "k8s.network-deny", "expires_at": BASE + 600}
    return (Kind.FAULT_APPLIED, at, None, data | {"driver": driver, "detail": "applied"})


def would_send(at: float, step: int = 1) -> Row:
    return (Kind.WOULD_SEND, at, None, {"step": step, "to": "kubernetes", "calls": [{"verb": "create"}]})


def detected(at: float, source: str, actor: str = "U1") -> Row:
    return (Kind.DETECTED, at, actor, {"source": source, "page_id": None})


def contained(at: float) -> Row:
    return (Kind.CONTAINED, at, "U1", {"source": "button", "page_id": None})


def unmatched(at: float) -> Row:
    return (Kind.ALERT_UNMATCHED, at, None, {"source": "alertmanager", "name": "Other", "labels": {}})


def run(rows: list[Row], text: str = SCENARIO, names: dict[str, str] | None = None) -> Debrief:
    """A finished game day of ``rows``; started at -1 s, ended 10 s after the last row."""
    ordered = sorted(rows, key=lambda r: r[1])
    end = (ordered[-1][1] if ordered else 0.0) + 10
    full = [
        (Kind.STARTED, -1.0, "UFAC", {"scenario": "honest", "scenario_hash": "h", "status": "running"}),
        *ordered,
        (Kind.ENDED, end, None, {"status": "completed", "reason": "ended by <@UFAC>"}),
    ]
    events = [Event(i + 1, kind, BASE + at, actor, data) for i, (kind, at, actor, data) in enumerate(full)]
    scenario = Scenario.model_validate(yaml.safe_load(text))
    roster = {"primary": "U1", "secondary": "U2"}
    return build_debrief("gd-honest", scenario, roster, events, BASE + end, names=names)


def outcomes(d: Debrief) -> dict[str, tuple[str, bool | None]]:
    return {e.name: (e.outcome, e.met) for e in d.expectations}


def schema_valid(d: Debrief) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render_debrief(d, "json"))
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).validate(document)
    return document


def junit_skips(d: Debrief) -> dict[str, str]:
    suite = ET.fromstring(render_debrief(d, "junit").encode()).find("testsuite")
    assert suite is not None
    return {
        str(case.get("name")): str(skipped.text)
        for case in suite.findall("testcase")
        if (skipped := case.find("skipped")) is not None
    }


class Visible(HTMLParser):
    """The text inside each element with an id, and each page's time cell."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.page_times: dict[str, str] = {}
        self.log: list[list[str]] = []
        self._stack: list[tuple[str, str | None, str | None]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        page_id = a.get("data-page") if "page-time" in (a.get("class") or "") else None
        self._stack.append((tag, a.get("id"), page_id))
        in_body = any(t == "tbody" for t, _, _ in self._stack)
        if tag == "tr" and in_body and any(i == "event-log" for _, i, _ in self._stack):
            self.log.append([])
        if tag == "td" and self.log and any(i == "event-log" for _, i, _ in self._stack):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.log[-1].append("".join(self._cell))
            self._cell = None
        while self._stack and self._stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        for _, element_id, page_id in self._stack:
            if element_id:
                self.by_id[element_id] = self.by_id.get(element_id, "") + data
            if page_id:
                self.page_times[page_id] = self.page_times.get(page_id, "") + data
        if self._cell is not None:
            self._cell.append(data)


def visible(html: str) -> Visible:
    v = Visible()
    v.feed(html)
    return v


# -- 1. simulated faults are not measured -----------------------------------------------------------


@pytest.mark.parametrize("inject", ["simulated driver", "dry run"])
def test_a_run_whose_faults_were_all_simulated_is_not_validated_on_them(inject: str) -> None:
    # p0 at 0, the fault at 30 s (simulated, or only planned), acknowledged at 60 s (target 5m: met),
    # a person's /sce detected at 100 s and the Contained button at 200 s: a click is all they are
    injected = fault(30, "simulated") if inject == "simulated driver" else would_send(30)
    d = run(
        [
            page(),
            injected,
            (Kind.ACKNOWLEDGED, 60, "U1", {"page_id": "p0"}),
            detected(100, "command"),
            contained(200),
        ]
    )
    assert outcomes(d) == {
        "acknowledge_within": ("met", True),
        "detect_within": ("not_measured", None),
        "contain_within": ("not_measured", None),
    }
    assert d.verdict == "inconclusive" and d.missed == []  # validated would claim every expectation met
    assert [(n.name, n.evidence) for n in d.not_measured] == [
        ("detect_within", "simulated"),
        ("contain_within", "simulated"),
    ]
    assert d.verdict_reason == "met: acknowledge_within; not measured: detect_within, contain_within"
    assert d.metrics.control_efficacy is None  # never 0%: no control ran
    assert d.metrics.detection_coverage is None

    md = render_debrief(d, "md")
    efficacy_row = next(line for line in md.splitlines() if line.startswith("| Control efficacy |"))
    assert "not measured" in efficacy_row and "0%" not in efficacy_row, efficacy_row
    assert "**Not measured** (the verdict does not cover these):" in md
    assert (
        "- detect_within: every fault was simulated" in md
        and "- contain_within: every fault was simulated" in md
    )
    assert "| detect_within | 5m | 1m40s | not measured |" in md

    shown = visible(render_debrief(d, "html"))
    assert (
        shown.by_id["efficacy"].strip() == "not measured"
        and shown.by_id["coverage"].strip() == "not measured"
    )
    assert "detect_within: every fault was simulated" in " ".join(shown.by_id["not-measured"].split())
    assert shown.by_id["verdict-reason"].strip().startswith("Verdict: inconclusive (met: acknowledge_within;")
    assert shown.by_id["verdict-scope"].strip() == "on 1 of 3 expectations measured"
    assert "not measured" in shown.by_id["ttd"] and "not measured" in shown.by_id["ttc"]

    document = schema_valid(d)
    assert [n["name"] for n in document["not_measured"]] == ["detect_within", "contain_within"]
    assert {e["name"]: e["measured"] for e in document["expectations"]} == {
        "acknowledge_within": True,
        "detect_within": False,
        "contain_within": False,
    }

    skips = junit_skips(d)
    assert set(skips) == {"detect_within", "contain_within"}
    assert all(m.startswith("not measured: every fault was simulated") for m in skips.values()), skips

    layer = json.loads(render_debrief(d, "navigator"))
    assert {(t["color"], "score" in t) for t in simulated(layer)} == {(GREY, False)}
    assert all("simulated" in t["comment"] for t in simulated(layer))

    summary = render("debrief", d=d)  # the message posted in the game day's thread
    assert (
        "*Not measured* (the verdict does not cover these): detect_within (every fault was simulated"
        in summary
    )


def test_nothing_measured_is_inconclusive() -> None:
    # no page (nothing to acknowledge), the only fault simulated: not one expectation was measured
    d = run([fault(0, "simulated", step=0), detected(100, "command"), contained(200)], text=FAULT_ONLY)
    assert {e.name: e.measured for e in d.expectations} == {
        "acknowledge_within": False,
        "detect_within": False,
        "contain_within": False,
    }
    assert d.verdict == "inconclusive" and d.verdict_reason.startswith("nothing measured")
    assert "| Verdict | **inconclusive** on 0 of 3 expectations measured (nothing measured" in render_debrief(
        d, "md"
    )
    schema_valid(d)


def test_a_real_fault_is_measured_and_an_unobserved_one_is_not_counted_as_a_failure() -> None:
    # the kubernetes driver really applied f1, but nothing read its outcome back: efficacy not measured
    rows = [page(), fault(30, "kubernetes"), (Kind.ACKNOWLEDGED, 60, "U1", {"page_id": "p0"})]
    d = run([*rows, detected(100, "command"), contained(200)])
    assert outcomes(d) == {
        "acknowledge_within": ("met", True),
        "detect_within": ("met", True),  # a person detected it at 1m40s: the team did, in time
        "contain_within": ("met", True),
    }
    assert d.verdict == "validated" and d.not_measured == []
    assert d.metrics.control_efficacy is None and d.controls.not_measured_reason
    observed = run([*rows, (Kind.FAULT_OBSERVED, 90, None, {"fault_id": "f1", "outcome": "allowed"})])
    assert observed.metrics.control_efficacy == 0.0  # observed getting through: measured, and 0%


# -- 2. detection in time, late, missed -------------------------------------------------------------

# (rows after the page, expected detect_within outcome and met, timing, the techniques' status and colour,
# coverage ratio): target 5m = 300 s from the page at 0
DETECTIONS = {
    "alert in time": (
        [detected(120, "alertmanager", "alertmanager:Beacon")],
        "met",
        True,
        "in_time",
        "in_time",
        GREEN,
        1.0,
    ),
    "alert late": (
        [detected(420, "alertmanager", "alertmanager:Beacon")],
        "missed",
        False,
        "late",
        "late",
        AMBER,
        0.0,
    ),
    "alerts, none marked": ([unmatched(60)], "missed", False, "never", "missed", RED, 0.0),
    "no alert at all": ([], "not_measured", None, None, "not_measured", GREY, None),
    "a person in time": ([detected(120, "command")], "met", True, "in_time", "person_only", GREY, None),
    "a person, then an alert late": (
        [detected(120, "button"), detected(420, "webhook", "webhook:Beacon")],
        "met",
        True,
        "in_time",
        "late",
        AMBER,
        0.0,
    ),
}


@pytest.mark.parametrize("case", list(DETECTIONS))
def test_detection_is_in_time_late_missed_or_not_measured(case: str) -> None:
    rows, outcome, met, timing, status, color, ratio = DETECTIONS[case]
    d = run([page(), (Kind.ACKNOWLEDGED, 30, "U1", {"page_id": "p0"}), *rows])
    detect = next(e for e in d.expectations if e.name == "detect_within")
    assert (detect.outcome, detect.met, detect.timing) == (outcome, met, timing)
    assert [t.status for t in d.coverage.techniques] == [status, status]
    assert d.metrics.detection_coverage == ratio
    if ratio == 1.0:
        assert detect.met is True
    layer = json.loads(render_debrief(d, "navigator"))
    assert [t["color"] for t in simulated(layer)] == [color, color]
    check_layer(layer)
    md = render_debrief(d, "md")
    coverage_row = next(line for line in md.splitlines() if line.startswith("| Detection coverage |"))
    assert ("100%" in coverage_row) == (ratio == 1.0), coverage_row
    if timing == "late":
        assert f"| detect_within | 5m | {'7m' if case == 'alert late' else '-'} | missed, late" in md


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 900), st.sampled_from(["alertmanager", "webhook", "slack", "command", "button"])
        ),
        max_size=3,
    ),
    st.booleans(),
)
def test_coverage_never_reads_full_beside_a_detection_that_was_not_in_time(
    marks: list[tuple[int, str]], noise: bool
) -> None:
    rows = [
        page(),
        *(
            detected(at, source, f"{source}:X" if source in ("alertmanager", "webhook") else "U1")
            for at, source in marks
        ),
    ]
    d = run(rows + ([unmatched(5)] if noise else []))
    detect = next(e for e in d.expectations if e.name == "detect_within")
    alerts = [at for at, source in marks if source in ("alertmanager", "webhook", "slack")]
    # by hand: full coverage exactly when the first alert came within 300 s of the page at 0
    assert (d.metrics.detection_coverage == 1.0) == (bool(alerts) and min(alerts) <= 300)
    if d.metrics.detection_coverage == 1.0:
        assert detect.met is True and detect.timing == "in_time"
    colors = {t["color"] for t in simulated(json.loads(render_debrief(d, "navigator")))}
    assert (colors == {GREEN}) == (d.metrics.detection_coverage == 1.0)


# -- 3. the Navigator layer format ------------------------------------------------------------------

HEX = {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"}
# ATT&CK Navigator layer format 4.5, as its specification's property tables define it
LAYER_SCHEMA = {
    "type": "object",
    "required": ["name", "domain", "versions"],
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "domain": {"enum": ["enterprise-attack", "mobile-attack", "ics-attack"]},
        "versions": {
            "type": "object",
            "required": ["navigator", "layer"],
            "properties": {
                "attack": {"type": "string"},
                "navigator": {"type": "string"},
                "layer": {"const": "4.5"},
            },
            "additionalProperties": False,
        },
        "sorting": {"enum": [0, 1, 2, 3]},
        "hideDisabled": {"type": "boolean"},
        "techniques": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["techniqueID"],
                "properties": {
                    "techniqueID": {"type": "string", "pattern": r"^T\d{4}(\.\d{3})?$"},
                    "tactic": {"type": "string"},
                    "comment": {"type": "string"},
                    "enabled": {"type": "boolean"},
                    "score": {"type": "number"},
                    "color": HEX,
                    "showSubtechniques": {"type": "boolean"},
                },
                "additionalProperties": False,
            },
        },
        "gradient": {
            "type": "object",
            "required": ["colors", "minValue", "maxValue"],
            "properties": {
                "colors": {"type": "array", "items": HEX, "minItems": 2},
                "minValue": {"type": "number"},
                "maxValue": {"type": "number"},
            },
        },
        "legendItems": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["label", "color"],
                "properties": {"label": {"type": "string"}, "color": HEX},
            },
        },
    },
}


def simulated(layer: dict[str, Any]) -> list[dict[str, Any]]:
    """The layer's simulated techniques: without the parents listed only to show a sub-technique."""
    return [t for t in layer["techniques"] if "color" in t]


def check_layer(layer: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(LAYER_SCHEMA).validate(layer)
    assert layer["gradient"]["maxValue"] > layer["gradient"]["minValue"]
    for technique in layer["techniques"]:
        assert technique["comment"], technique
        if "score" in technique:
            assert layer["gradient"]["minValue"] <= technique["score"] <= layer["gradient"]["maxValue"]


def test_the_layer_schema_refuses_what_navigator_refuses() -> None:
    layer = json.loads(render_debrief(run([page()]), "navigator"))
    check_layer(layer)
    for broken in (
        layer | {"domain": "enterprise"},
        layer | {"techniques": [{"techniqueID": "T1078", "colour": GREEN}]},
        layer | {"versions": layer["versions"] | {"layer": "4.4"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            check_layer(broken)


def test_one_click_paints_no_technique_green() -> None:
    d = run([page(), detected(60, "button")])
    layer = json.loads(render_debrief(d, "navigator"))
    check_layer(layer)
    for technique in simulated(layer):
        assert technique["color"] == GREY and "score" not in technique
        assert "detected by a person only (the Detected button)" in technique["comment"]
        assert "coverage counts what the controls detected" in technique["comment"]
        assert "U1" not in technique["comment"]  # no user id where people read


# -- 4. the same times in every format --------------------------------------------------------------


def offset_by_hand(seconds: float) -> str:
    """+XmYs of a whole number of seconds, written here independently of the code under test."""
    whole = round(seconds)
    sign = "+" if whole >= 0 else "-"
    minutes, secs = divmod(abs(whole), 60)
    return sign + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs or not minutes else "")


def md_table(md: str, heading: str) -> list[list[str]]:
    section = md.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def test_every_format_gives_each_page_and_event_the_same_time() -> None:
    # the game day starts 1 s before p0 (T0); p1 comes 95.4 s after T0: every format says +1m35s
    rows = [
        page(),
        (Kind.ACKNOWLEDGED, 80.6, "U1", {"page_id": "p0"}),
        (Kind.PAGE_SENT, 95.4, None, page()[3] | {"page_id": "p1", "message_ts": f"{BASE + 95.4:.6f}"}),
        (Kind.ACKNOWLEDGED, 140, "U2", {"page_id": "p1"}),
    ]
    d = run(rows)
    document = schema_valid(d)
    origin = document["time_origin"]
    assert origin == BASE == document["t0"]  # T0 is p0, not the start one second earlier
    expected = {p["id"]: offset_by_hand(p["paged_at"] - origin) for p in document["pages"]}
    assert expected == {"p0": "+0s", "p1": "+1m35s"}
    md = render_debrief(d, "md")
    assert {row[0]: row[3] for row in md_table(md, "Pages")} == expected
    html = visible(render_debrief(d, "html"))
    assert html.page_times == expected
    by_hand = [offset_by_hand(e["at"] - origin) for e in document["timeline"]]
    assert by_hand[0] == "-1s"  # the start, before T0
    assert [row[0] for row in md_table(md, "Event log")] == by_hand
    assert [cells[0] for cells in html.log] == by_hand
    md_text = [row[2].replace("\\", "") for row in md_table(md, "Event log")]
    assert md_text == [cells[2] for cells in html.log]  # the same sentences, escaped two ways


# -- 5. people, charter, a readable event log -------------------------------------------------------

NAMES = {"U1": "Alice Adams", "U2": "Bob Brown", "UFAC": "Carol Chen", "U7": "Dan Day"}


def every_kind_of_event() -> list[Row]:
    """One event of every kind the engine writes, with the data it writes (see its tx.append calls)."""
    p = page()
    rows: dict[Kind, Row] = {
        Kind.APPROVED: (Kind.APPROVED, -0.5, "U7", {"scenario_hash": "h"}),
        Kind.STEP_RAN: (Kind.STEP_RAN, 0, None, {"step": 0, "kind": "page"}),
        Kind.PAGE_SENT: p,
        Kind.ACKNOWLEDGED: (Kind.ACKNOWLEDGED, 20, "U1", {"page_id": "p0"}),
        Kind.ESCALATED: (Kind.ESCALATED, 15, None, {"page_id": "p0", "to": "U2", "message_ts": "1.5"}),
        Kind.HANDOFF_REQUESTED: (
            Kind.HANDOFF_REQUESTED,
            25,
            "U1",
            {"handoff_id": "h1", "page_ids": ["p0"], "from": "U1", "to": "U2", "message_ts": "2.5"},
        ),
        Kind.HANDOFF_POSTED: (Kind.HANDOFF_POSTED, 26, None, {"handoff_id": "h1", "message_ts": "2.6"}),
        Kind.HANDOFF_COMPLETED: (Kind.HANDOFF_COMPLETED, 40, "U2", {"handoff_id": "h1"}),
        Kind.DETECTED: detected(50, "alertmanager", "alertmanager:BeaconSeen"),
        Kind.ALERT_UNMATCHED: (
            Kind.ALERT_UNMATCHED,
            55,
            None,
            {"source": "webhook", "name": "Disk", "labels": {"sev": "low"}},
        ),
        Kind.CONTAINED: contained(60),
        Kind.NOTE: (Kind.NOTE, 61, "U2", {"kind": "gap", "text": "ask <@U1> about the runbook", "step": 0}),
        Kind.SAID: (Kind.SAID, 62, None, {"step": 0, "text": "Log excerpt:\nline two", "message_ts": "3.5"}),
        Kind.HTTP_PROBED: (
            Kind.HTTP_PROBED,
            63,
            None,
            {
                "step": 0,
                "url": "https://web.example/health",
                "statuses": [200, None],
                "expected": [200],
                "ok": False,
                "problem": None,
                "redirects": [],
            },
        ),
        Kind.WEBHOOK_CALLED: (
            Kind.WEBHOOK_CALLED,
            64,
            None,
            {"step": 0, "url": "https://hook.example/x", "status": 204, "problem": None, "redirects": []},
        ),
        Kind.WOULD_SEND: (
            Kind.WOULD_SEND,
            65,
            None,
            {"step": 0, "to": "pagerduty", "request": {"method": "POST", "url": "https://events.example"}},
        ),
        Kind.FAULT_INTENT: (
            Kind.FAULT_INTENT,
            29,
            None,
            {
                "fault_id": "f1",
                "step": 1,
                "type": "k8s.network-deny",
                "driver": "kubernetes",
                "expires_at": BASE + 600,
            },
        ),
        Kind.FAULT_APPLIED: fault(30, "kubernetes"),
        Kind.FAULT_OBSERVED: (
            Kind.FAULT_OBSERVED,
            70,
            None,
            {"fault_id": "f1", "outcome": "blocked", "detail": "denied by policy"},
        ),
        Kind.FAULT_REVERT_FAILED: (
            Kind.FAULT_REVERT_FAILED,
            71,
            None,
            {"fault_id": "f1", "error": "403 Forbidden"},
        ),
        Kind.FAULT_REVERTED: (Kind.FAULT_REVERTED, 72, None, {"fault_id": "f1", "detail": "policy deleted"}),
        Kind.PAUSED: (Kind.PAUSED, 73, "UFAC", {}),
        Kind.RESUMED: (Kind.RESUMED, 83, "UFAC", {"paused_seconds": 10.0}),
        Kind.ROLE_ASSIGNED: (Kind.ROLE_ASSIGNED, 84, "UFAC", {"role": "commander", "user": "U2"}),
        Kind.DELIVERY_DELAYED: (
            Kind.DELIVERY_DELAYED,
            85,
            None,
            {"timer_id": 7, "key": "gd-x:escalate:p0", "kind": "escalate", "attempts": 5},
        ),
        Kind.DELIVERED_LATE: (Kind.DELIVERED_LATE, 86, None, {"timer_id": 7, "attempts": 6}),
        Kind.DELIVERY_REPORTED: (Kind.DELIVERY_REPORTED, 87, None, {"timer_ids": [7]}),
        Kind.POST_DROPPED: (
            Kind.POST_DROPPED,
            88,
            None,
            {"key": "gd-x:escalate:p0", "why": "the page was acknowledged before its escalation went out"},
        ),
        Kind.STEADY_STATE: (
            Kind.STEADY_STATE,
            89,
            None,
            {
                "probes": [
                    {"name": "steady state: error ratio", "ok": False, "finding": "0.2 is outside < 0.01"}
                ],
                "breached": True,
                "blind": False,
            },
        ),
    }
    rows[Kind.ANNOTATED] = (Kind.ANNOTATED, 90, None, {"key": "fault:f1", "kind": "inject", "id": 12})
    rows[Kind.ANNOTATION_FAILED] = (
        Kind.ANNOTATION_FAILED,
        91,
        None,
        {"key": "ack:9", "kind": "ack", "error": "Grafana refused the token (401): check SCE_GRAFANA_TOKEN"},
    )
    rows[Kind.LOGS_FOLLOWING] = (
        Kind.LOGS_FOLLOWING,
        93,
        None,
        {"step": 2, "source": "kubernetes", "streams": ["web-1", "web-2"], "match": "denied", "again": False},
    )
    rows[Kind.LOGS_TROUBLE] = (Kind.LOGS_TROUBLE, 94, None, {"step": 2, "problem": "the API server said 403"})
    rows[Kind.LOGS_STOPPED] = (
        Kind.LOGS_STOPPED,
        95,
        None,
        {"step": 2, "why": "its 5m are over", "seen": 40, "matched": 3, "posted": 3, "dropped": 0},
    )
    rows[Kind.CANARY_ARRIVED] = (
        Kind.CANARY_ARRIVED,
        92,
        None,
        {"name": "SceCanary", "labels": {"alertname": "SceCanary"}, "status": "running"},
    )
    rows[Kind.PANEL_SAMPLED] = (
        Kind.PANEL_SAMPLED,
        93,
        None,
        {
            "title": "5xx rate",
            "promql": 'sum(rate(http_requests_total{code=~"5.."}[1m]))',
            "source": "panel",
            "expect": None,
            "start": BASE - 120,
            "end": BASE + 93,
            "step": 1.0,
            "series": [{"labels": {"job": "web"}, "points": [[BASE, 0.5], [BASE + 1, None]]}],
            "series_total": 1,
            "problem": None,
        },
    )
    rows[Kind.STANDING_APPROVED] = (
        Kind.STANDING_APPROVED,
        0,
        "U1",
        {"approval": 3, "scenario_hash": "ab" * 32, "granted_at": BASE - 86400, "expires_at": BASE + 86400},
    )
    rows[Kind.FAULT_LEFT_OVER] = (
        Kind.FAULT_LEFT_OVER,
        96,
        None,
        {"fault_id": "f1", "error": "could not revert Pod web/x: 403 Forbidden"},
    )
    rows[Kind.FAILURE_PAGED] = (
        Kind.FAILURE_PAGED,
        97,
        None,
        {"key": "sce-failure-x-f1", "sent": True, "cause": "revert_failed", "fault_id": "f1"},
    )
    rows[Kind.FAILURE_RESOLVED] = (
        Kind.FAILURE_RESOLVED,
        98,
        None,
        {"key": "sce-failure-x-f1", "sent": False, "error": "PagerDuty answered 503, 3 times; giving up."},
    )
    missing = set(Kind) - set(rows) - {Kind.STARTED, Kind.ENDED}  # run() adds those two
    assert not missing, f"add an example of {missing} to this table"
    return list(rows.values())


FORBIDDEN = [
    ("{", "a dict"),
    ("}", "a dict"),
    ("[", "a list"),
    ("None", "None"),
    ("True", "a bool"),
    ("False", "a bool"),
    ("Kind.", "an enum"),
    ("_ms", "milliseconds"),
    ("gd-", "the game day id"),
    ("h1", "a handoff id"),
    ("message_ts", "an internal key"),
    ("scenario_hash", "an internal key"),
    ("1700000", "a raw timestamp"),
]


def test_every_event_kind_reads_as_a_sentence_with_names() -> None:
    d = run(every_kind_of_event(), names=NAMES)
    html = visible(render_debrief(d, "html"))
    md_lines = [row[2] for row in md_table(render_debrief(d, "md"), "Event log")]
    assert len(html.log) == len(d.timeline) == len(md_lines)
    for (offset, utc, text), event in zip(html.log, d.timeline, strict=True):
        assert re.fullmatch(r"[+-](\d+m)?\d+s|[+-]\d+m", offset), offset
        assert re.fullmatch(r"\d\d:\d\d:\d\d", utc), utc
        assert text and text != event["kind"].replace("_", " "), f"{event['kind']} has no sentence"
        for needle, what in FORBIDDEN:
            assert needle not in text, f"{event['kind']}: {what} in {text!r}"
        for user in NAMES:
            assert not re.search(rf"\b{user}\b", text), f"{event['kind']}: the id {user} in {text!r}"
    said = dict(zip((e["kind"] for e in d.timeline), (cells[2] for cells in html.log), strict=True))
    assert said["gameday_started"] == "Carol Chen started the game day of scenario honest"
    assert said["acknowledged"] == "Alice Adams acknowledged page p0"
    assert said["handoff_requested"] == "Alice Adams handed page p0 to Bob Brown"
    assert said["note"] == "Bob Brown noted gap: ask @Alice Adams about the runbook"
    assert said["resumed"] == "Carol Chen resumed the game day after 10s paused"
    assert said["role_assigned"] == "Carol Chen made Bob Brown the commander"
    assert said["detected"] == "alert BeaconSeen recorded a detection (an Alertmanager alert)"
    assert said["gameday_ended"] == "the game day ended: completed (ended by @Carol Chen)"
    assert all("\n" not in line for line in md_lines)


def test_the_debrief_shows_the_charter_and_the_participants_by_name() -> None:
    d = run(every_kind_of_event(), names=NAMES)
    md = render_debrief(d, "md")
    for line in (
        "- **Objective:** prove the beacon is blocked and seen",
        "- **Scope:** chaos-lab only",
        "- **Method:** a DNS beacon from a test pod",
        "- **Owner, captain:** Carol",
        "- **Rollback:** delete the test pod",
    ):
        assert line in md, line
    crew = {row[0]: (row[1], int(row[2])) for row in md_table(md, "Participants")}
    # by hand from the table of events: who did what, and the roles they held
    assert crew == {
        # acknowledged, handed off, marked contained; and gave the standing approval (an approver)
        "Alice Adams": ("primary, paged, approver", 4),
        "Bob Brown": ("secondary, paged (escalation), took a handoff, commander", 2),  # took over, a gap
        "Carol Chen": ("facilitator", 4),  # started, paused, resumed, named the commander
        "Dan Day": ("approver", 1),
    }
    html = render_debrief(d, "html")
    assert "U1" not in visible(html).by_id["participants"] and "Alice Adams" in html
    assert "Alice Adams (primary)" in md  # the pages table


def test_without_names_the_ids_are_shown() -> None:
    d = run([page(), (Kind.ACKNOWLEDGED, 20, "U1", {"page_id": "p0"})])
    assert d.people == {"U1": "U1", "U2": "U2", "UFAC": "UFAC"}
    assert "U1 acknowledged page p0" in render_debrief(d, "md")


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_a_hostile_name_is_shown_literally_and_never_as_markup(name: str) -> None:
    d = run([page(), (Kind.ACKNOWLEDGED, 20, "U1", {"page_id": "p0"})], names={"U1": name})
    html = render_debrief(d, "html")
    assert "<script" not in html.lower().replace("&lt;script", "")
    shown = " ".join(name.split())
    assert f"{shown} acknowledged page p0" in " ".join(" ".join(c[2].split()) for c in visible(html).log)
    layer = json.loads(render_debrief(d, "navigator"))
    check_layer(layer)


# every key an event's data may carry, and values of any shape: a legacy or hand-edited timeline still reads
DATA_KEYS = sorted(
    {key for _, _, _, data in every_kind_of_event() for key in data}
    | {"scenario", "status", "dry_run", "reason", "line", "sbom", "versions", "affected", "calls", "roster"}
    | {"matched", "sha256", "format", "probes", "breached", "blind"}
)
WORDS = st.text(alphabet="abcdefghij klmnop0123456789.-", max_size=12)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(0, 1e4) | WORDS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORDS, inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(list(Kind)),
    st.dictionaries(st.sampled_from(DATA_KEYS), VALUES, max_size=6),
    st.sampled_from([None, "U1", "webhook:Disk", ""]),
)
def test_any_event_data_reads_without_python_values(
    kind: Kind, data: dict[str, Any], actor: str | None
) -> None:
    d = run([page()], names=NAMES)
    event = {"seq": 1, "kind": str(kind), "at": BASE + 12.7, "actor": actor, "data": data}
    (line,) = event_log(d.model_copy(update={"timeline": [event]}))
    assert line.offset == "+13s"
    for needle in ("None", "True", "False", "{", "}", "[", "]", "'"):
        assert needle not in line.text, (needle, line.text)
    assert "U1" not in line.text

"""Alerts from Alertmanager, our own webhook and Slack, and what they mean for running game days."""

from __future__ import annotations

import calendar
import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.gameday.measuring.alerts import (
    Alert,
    AlertError,
    Detection,
    Stop,
    Unmatched,
    Watch,
    alert_from_slack_message,
    classify,
    find_marker,
    marker_for,
    matches_stop_condition,
    parse_alertmanager,
    parse_simple_alert,
    stop_condition_problems,
)

FUZZ = settings(max_examples=300, deadline=None)
NOON = calendar.timegm((2026, 3, 1, 12, 0, 0, 0, 0, 0))  # 2026-03-01T12:00:00Z
GD = "gd-1a2b3c4d"
OTHER = "gd-99aa88bb"
SEV1_PROD = [{"labels": {"severity": "SEV-1", "env": "production"}}]
INCIDENTS = [{"channel": "CINC", "text": "Incident declared"}]


def alertmanager_payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    """A notification as Alertmanager 0.27 sends it (webhook format version 4)."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DNSBeacon"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "sce",
        "groupLabels": {"alertname": "DNSBeacon"},
        "commonLabels": {"alertname": "DNSBeacon"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def am_alert(**overrides: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "status": "firing",
        "labels": {"alertname": "DNSBeacon", "severity": "warning", "query": "sce-gd-1a2b3c4d.sink.example"},
        "annotations": {"summary": "DNS query to a sinkhole domain"},
        "startsAt": "2026-03-01T12:00:00.125Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=dns",
        "fingerprint": "c0ffee1234567890",
    }
    alert.update(overrides)
    return alert


def alert(text: str = "", labels: dict[str, str] | None = None, **fields: Any) -> Alert:
    return Alert(
        source=fields.pop("source", "webhook"),
        name=fields.pop("name", "Test"),
        starts_at=fields.pop("starts_at", NOON + 60),
        fingerprint=fields.pop("fingerprint", "f1"),
        labels=labels or {},
        text=text,
        **fields,
    )


# --- Alertmanager --------------------------------------------------------------------------------------


def test_an_alertmanager_notification_becomes_alerts_timed_by_startsat() -> None:
    [parsed] = parse_alertmanager(alertmanager_payload(am_alert()))
    assert parsed.source == "alertmanager"
    assert parsed.name == "DNSBeacon"
    assert parsed.status == "firing"
    assert parsed.starts_at == NOON + 0.125
    assert parsed.ends_at is None  # Go's zero time: not ended
    assert parsed.fingerprint == "c0ffee1234567890"
    assert parsed.labels["query"] == "sce-gd-1a2b3c4d.sink.example"
    assert parsed.text == "DNS query to a sinkhole domain"


@pytest.mark.parametrize(
    ("starts_at", "expected"),
    [
        ("2026-03-01T12:00:00Z", Decimal(NOON)),
        ("2026-03-01T12:00:00.5Z", Decimal(NOON) + Decimal("0.5")),
        ("2026-03-01T12:00:00.123456789Z", Decimal(NOON) + Decimal("0.123456789")),
        ("2026-03-01T14:00:00.25+02:00", Decimal(NOON) + Decimal("0.25")),
        ("2026-03-01T06:30:00-05:30", Decimal(NOON)),
        ("2026-03-01t12:00:00z", Decimal(NOON)),
        ("2026-03-01T00:00:00.75-12:00", Decimal(NOON) + Decimal("0.75")),
        ("2016-12-31T23:59:60Z", Decimal(calendar.timegm((2017, 1, 1, 0, 0, 0, 0, 0, 0)))),
    ],
)
def test_startsat_keeps_fractions_and_offsets_exactly(starts_at: str, expected: Decimal) -> None:
    [parsed] = parse_alertmanager(alertmanager_payload(am_alert(startsAt=starts_at)))
    assert parsed.starts_at == float(expected)


def test_several_alerts_keep_their_order_and_endsat() -> None:
    payload = alertmanager_payload(
        am_alert(fingerprint="a"),
        am_alert(status="resolved", fingerprint="b", endsAt="2026-03-01T12:05:00Z"),
    )
    first, second = parse_alertmanager(payload)
    assert (first.fingerprint, second.fingerprint) == ("a", "b")
    assert second.status == "resolved"
    assert second.ends_at == NOON + 300


def test_a_missing_fingerprint_is_derived_from_the_labels() -> None:
    without = am_alert()
    del without["fingerprint"]
    once, again = parse_alertmanager(alertmanager_payload(without, copy.deepcopy(without)))
    assert once.fingerprint == again.fingerprint != ""
    assert once.delivery_id == again.delivery_id


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda p: p.update(alerts="none"), "alerts must be a list"),
        (lambda p: p.pop("alerts"), "alerts must be a list"),
        (lambda p: p.update(version="3"), "version"),
        (lambda p: p.update(commonLabels=["x"]), "commonLabels must be a JSON object"),
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt is not an RFC 3339"),
        (
            lambda p: p["alerts"][0].update(startsAt="2026-02-30T00:00:00Z"),
            "alerts[0].startsAt is not a real",
        ),
        (lambda p: p["alerts"][0].update(startsAt="2026-03-01T12:00:00"), "alerts[0].startsAt is not an RFC"),
        (lambda p: p["alerts"][0].pop("startsAt"), "alerts[0].startsAt must be a string"),
        (lambda p: p["alerts"][0].update(status="pending"), "alerts[0].status must be"),
        (lambda p: p["alerts"][0]["labels"].update(port=443), "alerts[0].labels.port must be a string"),
        (lambda p: p["alerts"][0].update(annotations="x"), "alerts[0].annotations must be a JSON object"),
        (lambda p: p["alerts"].append(7), "alerts[1] must be a JSON object"),
    ],
)
def test_a_bad_alertmanager_payload_names_the_field(mutate: Any, named: str) -> None:
    payload = alertmanager_payload(am_alert())
    mutate(payload)
    with pytest.raises(AlertError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_alertmanager(payload)


def test_a_payload_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(AlertError, match="must be a JSON object, not a list"):
        parse_alertmanager([])


# --- our own small alert -------------------------------------------------------------------------------


def test_a_simple_alert_takes_its_time_from_at_or_from_receipt() -> None:
    given_at = parse_simple_alert({"name": "Beacon", "at": "2026-03-01T13:00:00.5+01:00"}, received_at=NOON)
    assert given_at.starts_at == NOON + 0.5
    assert given_at.source == "webhook"
    assert parse_simple_alert({"name": "Beacon", "at": NOON + 1.5}, received_at=NOON).starts_at == NOON + 1.5
    assert parse_simple_alert({"name": "Beacon", "at": str(NOON)}, received_at=NOON).starts_at == NOON
    assert parse_simple_alert({"name": "Beacon"}, received_at=NOON).starts_at == NOON


def test_a_simple_alert_id_makes_retries_count_once() -> None:
    payload = {"name": "Beacon", "labels": {"env": "lab"}, "text": "x", "id": "evt-42"}
    first = parse_simple_alert(payload, received_at=NOON)
    assert first.fingerprint == "evt-42"
    assert first.delivery_id == parse_simple_alert(payload, received_at=NOON).delivery_id
    assert first.labels == {"env": "lab"}


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({}, "name must be a string"),
        ({"name": "  "}, "name must be a non-empty"),
        ({"name": "x", "at": True}, "at must be an RFC 3339 time or Unix seconds"),
        ({"name": "x", "at": -1}, "at must be a finite"),
        ({"name": "x", "at": 10**400}, "at must be a finite"),
        ({"name": "x", "at": "soon"}, "at is not an RFC 3339"),
        ({"name": "x", "labels": {"a": 1}}, "labels.a must be a string"),
        ({"name": "x", "txt": "typo"}, "txt is not a field of an alert"),
        ({"name": "x", "status": "maybe"}, "status must be"),
    ],
)
def test_a_bad_simple_alert_names_the_field(payload: dict[str, Any], named: str) -> None:
    with pytest.raises(AlertError, match=named):
        parse_simple_alert(payload, received_at=NOON)


# --- markers -------------------------------------------------------------------------------------------


def test_the_marker_is_the_prefix_of_the_bots_object_names() -> None:
    assert marker_for(GD) == "sce-gd-1a2b3c4d"


@pytest.mark.parametrize(
    "haystack",
    [
        {"query": "SCE-GD-1A2B3C4D.sink.example"},  # a label value, any case
        alert(annotations={"description": "pod sce-gd-1a2b3c4d-f1-attack ran nmap"}),
        alert(text="honey-token sce-gd-1a2b3c4d used from 10.0.0.7"),
        "beacon to sce-gd-1a2b3c4d.sink.example",
    ],
)
def test_a_marker_is_found_in_labels_annotations_and_text(haystack: Any) -> None:
    assert find_marker(haystack, {marker_for(GD): GD, marker_for(OTHER): OTHER}) == GD


def test_a_marker_inside_a_longer_word_or_a_label_name_is_not_a_match() -> None:
    markers = {marker_for(GD): GD}
    assert find_marker("xsce-gd-1a2b3c4d0", markers) is None
    assert find_marker({"sce-gd-1a2b3c4d": "yes"}, markers) is None
    assert find_marker("nothing here", markers) is None


# --- stop conditions -----------------------------------------------------------------------------------


def test_a_labels_stop_condition_needs_every_label_with_any_case_of_value() -> None:
    real = alert(labels={"severity": "sev-1", "env": "Production", "team": "pay"}, name="PaymentsDown")
    reason = matches_stop_condition(real, SEV1_PROD)
    assert reason == "Stop condition met: alert PaymentsDown fired with severity=sev-1, env=Production."
    assert matches_stop_condition(alert(labels={"severity": "SEV-1", "env": "staging"}), SEV1_PROD) is None
    assert matches_stop_condition(alert(labels={"severity": "SEV-1"}), SEV1_PROD) is None


def test_a_channel_stop_condition_needs_that_channel_and_the_words() -> None:
    declared = alert_from_slack_message("CINC", "@here INCIDENT DECLARED: payments are down", "1772366400.5")
    assert declared.starts_at == 1772366400.5
    reason = matches_stop_condition(declared, INCIDENTS)
    assert reason == 'Stop condition met: a message in <#CINC> says "Incident declared".'
    elsewhere = alert_from_slack_message("CRANDOM", "incident declared", "1772366400.5")
    assert matches_stop_condition(elsewhere, INCIDENTS) is None
    chatter = alert_from_slack_message("CINC", "no incident today", "1772366400.5")
    assert matches_stop_condition(chatter, INCIDENTS) is None
    assert matches_stop_condition(alert("incident declared", channel="CINC"), INCIDENTS) is None  # not Slack


def test_stop_condition_problems_point_at_entries_that_could_never_match() -> None:
    assert stop_condition_problems(SEV1_PROD + INCIDENTS) == []
    problems = stop_condition_problems(
        [{"labels": {}}, {"channel": "C1"}, "sev1", {"channel": "", "text": "x"}]
    )
    assert [p.split(" ")[0] for p in problems] == [
        "guardrails.stop_on[0].labels",
        "guardrails.stop_on[1]",
        "guardrails.stop_on[2]",
        "guardrails.stop_on[3].channel",
    ]


# --- classify ------------------------------------------------------------------------------------------


def running() -> dict[str, Watch]:
    return {
        GD: Watch(frozenset({marker_for(GD), "sce0123456789abcdef"}), SEV1_PROD + INCIDENTS, since=NOON),
        OTHER: Watch(frozenset({marker_for(OTHER)}), [], since=NOON),
    }


def test_an_alert_with_a_marker_is_a_detection_at_the_sources_time() -> None:
    beacon = alert(labels={"query": "sce0123456789abcdef.sink.example"}, source="alertmanager", name="Beacon")
    assert classify(beacon, running()) == [Detection(GD, NOON + 60, "alertmanager", "Beacon")]


def test_an_alert_without_a_marker_is_unmatched_for_every_game_day_it_fired_during() -> None:
    noise = alert(text="disk 91% full")
    assert classify(noise, running()) == [Unmatched(GD, noise), Unmatched(OTHER, noise)]
    earlier = alert(text="disk 91% full", starts_at=NOON - 1)
    assert classify(earlier, running()) == []


def test_a_stop_condition_wins_over_a_detection() -> None:
    both = alert(f"{marker_for(GD)} exfiltrated", labels={"severity": "SEV-1", "env": "production"})
    decisions = classify(both, running())
    assert decisions == [
        Stop(GD, "Stop condition met: alert Test fired with severity=SEV-1, env=production.")
    ]


def test_a_stop_condition_applies_even_to_an_alert_that_began_before_the_game_day() -> None:
    ongoing = alert(labels={"severity": "SEV-1", "env": "production"}, starts_at=NOON - 3600)
    reason = "Stop condition met: alert Test fired with severity=SEV-1, env=production."
    assert classify(ongoing, running()) == [Stop(GD, reason)]  # and, begun earlier, no noise for OTHER


def test_a_slack_message_declaring_an_incident_stops_the_game_day() -> None:
    declared = alert_from_slack_message("CINC", "Incident declared: SEV-1", str(NOON + 30))
    assert [d for d in classify(declared, running()) if isinstance(d, Stop)] == [
        Stop(GD, 'Stop condition met: a message in <#CINC> says "Incident declared".')
    ]


def test_resolved_alerts_mean_nothing() -> None:
    resolved = alert(
        f"{marker_for(GD)}", labels={"severity": "SEV-1", "env": "production"}, status="resolved"
    )
    assert classify(resolved, running()) == []


def test_plain_tuples_work_as_watches() -> None:
    beacon = alert(marker_for(OTHER))
    assert classify(beacon, {OTHER: (frozenset({marker_for(OTHER)}), [])}) == [
        Detection(OTHER, NOON + 60, "webhook", "Test")
    ]


# --- fuzz: only AlertError escapes ---------------------------------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
JSON = st.recursive(
    SCALARS | st.sampled_from(["firing", "resolved", "2026-03-01T12:00:00.5Z", "4", "1772366400"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
TIMES = st.sampled_from(["2026-03-01T12:00:00.5Z", "2026-03-01T12:00:00+99:00", "0001-01-01T00:00:00Z"])
TEXT_MAP = st.dictionaries(st.text(max_size=8), st.text(max_size=20) | st.just(marker_for(GD)), max_size=3)
AM_ALERT = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["firing", "resolved"]) | JSON,
        "labels": TEXT_MAP | JSON,
        "annotations": TEXT_MAP | JSON,
        "startsAt": TIMES | st.text(max_size=40) | JSON,
        "endsAt": TIMES | JSON,
        "fingerprint": st.text(max_size=10) | JSON,
    },
)
VALIDISH_ALERT = st.fixed_dictionaries(
    {"status": st.sampled_from(["firing", "resolved"]), "labels": TEXT_MAP, "startsAt": TIMES},
    optional={"annotations": TEXT_MAP, "endsAt": TIMES, "fingerprint": st.text(max_size=10)},
)
AM_TOP = st.dictionaries(
    st.sampled_from(["version", "status", "groupLabels", "commonLabels", "commonAnnotations", "receiver"]),
    JSON,
)
AM_PAYLOAD = (
    AM_TOP
    | st.builds(lambda alerts, top: {**top, "alerts": alerts}, st.lists(AM_ALERT, max_size=3), AM_TOP)
    | st.builds(lambda alerts: {"version": "4", "alerts": alerts}, st.lists(VALIDISH_ALERT, max_size=3))
)
SIMPLE = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=10) | JSON,
        "at": TIMES | st.floats() | st.integers() | JSON,
        "labels": TEXT_MAP | JSON,
        "text": st.text(max_size=30) | JSON,
        "id": st.text(max_size=10) | JSON,
        "status": st.sampled_from(["firing", "resolved"]) | JSON,
        "zz": JSON,
    },
) | st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=10)},
    optional={"at": TIMES | st.floats() | st.integers(), "labels": TEXT_MAP, "text": st.text(max_size=30)},
)


@FUZZ
@given(JSON | AM_PAYLOAD)
def test_parse_alertmanager_raises_only_alert_error(payload: Any) -> None:
    try:
        alerts = parse_alertmanager(payload)
    except AlertError as exc:
        assert str(exc).endswith(".")
        return
    for parsed in alerts:
        assert isinstance(parsed.starts_at, float)
        classify(parsed, running())


@FUZZ
@given(JSON | SIMPLE, st.floats(min_value=0, max_value=4e9))
def test_parse_simple_alert_raises_only_alert_error(payload: Any, received_at: float) -> None:
    try:
        parsed = parse_simple_alert(payload, received_at)
    except AlertError as exc:
        assert str(exc).endswith(".")
        return
    assert parsed.name.strip()
    classify(parsed, running())

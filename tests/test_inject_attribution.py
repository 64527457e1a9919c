"""Per-inject attribution: each fault plants markers of its own, an alert carrying one is matched to that
inject, and the debrief shows each inject as detected in time, late or missed; alerts with no marker are
unattributed (alert fidelity).

The faults are applied by the Kubernetes driver against the test API server; the alerts come in as
Alertmanager's webhook (format 4) through the same intake `sce serve` uses. Expected markers are computed
here from their documented recipe (sha256 of "<gameday>/<fault>"), not with the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from core_harness import CoreHarness
from test_faults_kmock import NAMESPACE, KubeTestServer

from bot.debrief.render import render_debrief
from bot.faults.registry import FaultDrivers
from bot.gameday.measuring.alerts import Alert, Detection, Unmatched, Watch, classify, parse_alertmanager
from bot.gameday.measuring.markers import inject_markers
from bot.gameday.running.finishing import build_debrief_for
from bot.gameday.timeline import Kind
from bot.integrations.alert_intake import AlertIntake

SCENARIO = f"""
id: three-injects
title: Three injects, three detections to time
charter: {{objective: Time each inject's detection., hypothesis: Each inject is alerted on within 2 minutes.}}
guardrails: {{namespaces: [{NAMESPACE}], max_duration: 30m}}
expect: {{detect_within: 2m}}
steps:
  - {{at: 0s, fault: {{type: k8s.honeytoken, namespace: {NAMESPACE}, ttl: 20m}}}}
  - {{at: 1m, fault: {{type: k8s.network-deny, namespace: {NAMESPACE}, selector: {{app: web}}, ttl: 20m}}}}
  - {{at: 2m, fault: {{type: k8s.network-deny, namespace: {NAMESPACE}, selector: {{app: api}}, ttl: 20m}}}}
  - {{at: 10m, say: "time to look at what fired"}}
"""


def expected_marker(gameday: str, fault: str) -> str:
    return "sce" + hashlib.sha256(f"{gameday}/{fault}".encode()).hexdigest()[:16]


def rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def notification(name: str, starts_at: float, labels: dict[str, str], annotations: dict[str, str]) -> Any:
    return {
        "version": "4",
        "status": "firing",
        "receiver": "sce",
        "groupKey": "{}:{}",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.local",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": name, **labels},
                "annotations": annotations,
                "startsAt": rfc3339(starts_at),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": f"fp-{name}",
            }
        ],
    }


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def test_each_inject_is_timed_from_its_own_marker(kube: KubeTestServer) -> None:
    # a real-time origin: the intake ignores alerts dated more than a day from now
    h = CoreHarness(
        allowed_namespaces=frozenset({NAMESPACE}), faults=FaultDrivers(kube.cluster()), start=time.time()
    )
    outcome = h.engine.start(SCENARIO, "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    assert outcome.ok and outcome.gameday_id, outcome
    gd = outcome.gameday_id
    h.advance_to(h.clock.now() + 150)
    applied = {e.data["fault_id"]: e.at for e in h.store.events(gd) if e.kind is Kind.FAULT_APPLIED}
    assert sorted(applied) == ["f0", "f1", "f2"]

    # what the cluster holds carries each inject's marker: the honey-token's values and every label
    marks = {fault: expected_marker(gd, fault) for fault in applied}
    for plural in ("secrets", "networkpolicies"):
        for name in kube.names(plural, NAMESPACE):
            obj = kube.read(plural, NAMESPACE, name) or {}
            fault = obj["metadata"]["labels"]["sce.dev/fault"]
            assert obj["metadata"]["labels"]["sce.dev/marker"] == marks[fault], name
    secret = kube.read("secrets", NAMESPACE, kube.names("secrets", NAMESPACE)[0]) or {}
    planted = [str(v) for v in (secret.get("stringData") or {}).values()]
    planted += [base64.b64decode(str(v)).decode() for v in (secret.get("data") or {}).values()]
    assert any(marks["f0"] in value for value in planted), secret

    intake = AlertIntake(h.store, h.engine)
    # f0: seen 40 s after it was applied, by the honey-token's value in an annotation (in time)
    intake.handle(
        parse_alertmanager(
            notification(
                "HoneyTokenUsed",
                applied["f0"] + 40,
                {"severity": "high"},
                {"summary": f"token {marks['f0'].upper()} was used from 10.0.0.9"},
            )
        )[0]
    )
    # f1: 3 minutes after it, by a label kube-state-metrics copies from the object (late for 2m)
    intake.handle(
        parse_alertmanager(
            notification(
                "NetpolChanged",
                applied["f1"] + 180,
                {"label_sce_dev_marker": marks["f1"], "namespace": NAMESPACE},
                {},
            )
        )[0]
    )
    # noise: an alert with no marker fires during the game day; and one carrying only the game day's
    intake.handle(parse_alertmanager(notification("DiskFull", applied["f1"] + 10, {"node": "n1"}, {}))[0])
    intake.handle(
        parse_alertmanager(
            notification("Generic", applied["f2"] + 5, {}, {"summary": f"something in sce-{gd}"})
        )[0]
    )
    # f2: never named by any alert
    h.advance_to(h.clock.now() + 60)
    assert h.engine.end(gd, "UFAC").ok
    debrief = h.posted_debrief()

    by_id = {inject.id: inject for inject in debrief.injects}
    assert [i.id for i in debrief.injects] == ["f0", "f1", "f2"]
    assert {i.id: i.marker for i in debrief.injects} == marks
    assert by_id["f0"].status == "in_time"
    assert by_id["f0"].seconds_to_detect == pytest.approx(40, abs=0.01)
    assert by_id["f1"].status == "late"
    assert by_id["f1"].seconds_to_detect == pytest.approx(180, abs=0.01)
    assert by_id["f2"].status == "missed"  # the game day is over: no time is left for it
    assert by_id["f2"].detected_at is None
    assert debrief.alert_fidelity.matched == 3  # f0, f1 and the game day's own marker
    assert debrief.alert_fidelity.attributed == 2
    assert debrief.alert_fidelity.unmatched == 1
    assert debrief.alert_fidelity.unmatched_alerts == ["alertmanager: DiskFull"]

    markdown = render_debrief(debrief, "md")
    section = markdown.split("## Detection by inject")[1].split("## ")[0]
    rows = {line.split("|")[1].strip(): line for line in section.splitlines() if line.startswith("| f")}
    assert " late " in rows["f1"] and marks["f1"] in rows["f1"] and "3m" in rows["f1"]
    assert " in time " in rows["f0"] and " missed " in rows["f2"]
    assert "1 unattributed alert without one: alertmanager: DiskFull" in markdown
    html = render_debrief(debrief, "html")
    assert html.count('<td class="outcome outcome-late">late</td>') >= 1
    assert f"<code>{marks['f2']}</code>" in html


GD = "gd-0a1b2c3d"


def watch(*faults: str) -> dict[str, Watch]:
    injects = inject_markers(GD, list(faults))
    return {GD: Watch(frozenset({f"sce-{GD}", *injects}), [], since=0.0, injects=injects)}


def alert(
    labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None, text: str = ""
) -> Alert:
    return Alert(
        "alertmanager", "A", 100.0, "fp", labels=labels or {}, annotations=annotations or {}, text=text
    )


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        # the DNS beacon's name in a resolver log line
        (alert(text=f"query {expected_marker(GD, 'f1')}.sinkhole.example A from 10.1.2.3"), "f1"),
        # the same, upper-cased by a SIEM
        (alert(annotations={"q": f"{expected_marker(GD, 'f1')}.SINKHOLE.EXAMPLE".upper()}), "f1"),
        # the object's name (a pod the fault created), in a label value
        (alert(labels={"pod": f"sce-{GD}-f2-beacon"}), "f2"),
        # f2's name prefix is not f20's: the match stops at a word boundary
        (alert(labels={"pod": f"sce-{GD}-f20-beacon"}), None),
        # the label copied from the object by kube-state-metrics
        (alert(labels={"label_sce_dev_marker": expected_marker(GD, "f0")}), "f0"),
        # the marker inside a longer word is not the marker
        (alert(text=f"x{expected_marker(GD, 'f0')}y", labels={"gd": f"sce-{GD}"}), None),
        # only the game day's marker: matched to the game day, to no inject
        (alert(annotations={"summary": f"sce-{GD} did something"}), None),
        # two injects named: the first applied wins
        (alert(text=f"{expected_marker(GD, 'f2')} and {expected_marker(GD, 'f0')}"), "f0"),
    ],
)
def test_an_alert_is_attributed_to_the_inject_whose_own_marker_it_carries(
    found: Alert, expected: str | None
) -> None:
    decisions = classify(found, watch("f0", "f1", "f2"))
    detections = [d for d in decisions if isinstance(d, Detection)]
    if expected is None and not detections:
        assert [type(d) for d in decisions] == [Unmatched]  # not even the game day's marker
        return
    assert [d.inject for d in detections] == [expected]


def test_an_alert_naming_another_game_days_inject_is_not_attributed_here() -> None:
    other = inject_markers("gd-ffffffff", ["f0"])
    found = alert(text=f"beacon {next(iter(other))}.sinkhole.example")
    decisions = classify(found, watch("f0"))
    assert [type(d) for d in decisions] == [Unmatched]


def test_a_simulated_inject_is_not_measured_and_a_running_one_is_pending(kube: KubeTestServer) -> None:
    simulated = CoreHarness(allowed_namespaces=frozenset({NAMESPACE}), start=time.time())
    gd = simulated.engine.start(SCENARIO, "C1", "UFAC", {"primary": "U1"}).gameday_id
    assert gd is not None
    simulated.advance_to(simulated.clock.now() + 150)
    assert simulated.engine.end(gd, "UFAC").ok
    debrief = simulated.posted_debrief()
    assert [(i.id, i.status) for i in debrief.injects] == [(f, "not_measured") for f in ("f0", "f1", "f2")]
    assert all(i.comment.startswith("simulated") for i in debrief.injects)

    real = CoreHarness(
        allowed_namespaces=frozenset({NAMESPACE}), faults=FaultDrivers(kube.cluster()), start=time.time()
    )
    gd = real.engine.start(SCENARIO, "C1", "UFAC", {"primary": "U1"}).gameday_id
    assert gd is not None
    real.advance_to(real.clock.now() + 150)  # f2 applied 30 s ago, f0 150 s ago: past its 2 minutes
    record = real.store.get(gd)
    assert record is not None
    running = build_debrief_for(record, real.store.events(gd), real.clock.now())
    statuses = {i.id: i.status for i in running.injects}
    # no alert at all reached it: f0's detection was not measured rather than missed
    assert statuses == {"f0": "not_measured", "f1": "pending", "f2": "pending"}


class Waf:
    """A stand-in for a WAF in front of a service: it blocks, and logs each request's headers, as a WAF
    log a SIEM would alert on."""

    def __init__(self) -> None:
        self.logged: list[dict[str, str]] = []
        waf = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                waf.logged.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_an_http_step_carries_its_marker_header_and_the_alert_on_it_names_that_step() -> None:
    waf = Waf()
    try:
        scenario = f"""id: waf-probe
title: WAF probe
charter: {{objective: o, hypothesis: the WAF alerts on the probe within 1 minute}}
guardrails: {{max_duration: 30m, hosts: [127.0.0.1]}}
expect: {{detect_within: 1m}}
steps:
  - {{at: 0s, say: "probing the WAF"}}
  - at: 10s
    http:
      url: "{waf.url}/search?q=%27%20OR%201%3D1"
      count: 2
      expect: [403]
      headers: {{X-Sce-Marker: forged, User-Agent: sce-drill}}
  - {{at: 10m, say: "done"}}
"""
        h = CoreHarness(start=time.time())
        gd = h.engine.start(scenario, "C1", "UFAC", {"primary": "U1"}).gameday_id
        assert gd is not None
        h.advance_to(h.clock.now() + 20)
        expected = expected_marker(gd, "h1")
        assert [entry.get("x-sce-marker") for entry in waf.logged] == [expected, expected]  # never "forged"
        assert all(
            entry.get("user-agent") == "sce-drill" for entry in waf.logged
        )  # the author's headers kept
        sent = next(e for e in h.store.events(gd) if e.kind is Kind.HTTP_PROBED)
        AlertIntake(h.store, h.engine).handle(
            parse_alertmanager(
                notification(
                    "WafSqlInjection",
                    sent.at + 25,
                    {"rule": "942100"},
                    {"description": f"blocked SQLi; x-sce-marker={waf.logged[0]['x-sce-marker']}"},
                )
            )[0]
        )
        assert h.engine.end(gd, "UFAC").ok
        (inject,) = h.posted_debrief().injects
        assert (inject.id, inject.type, inject.step, inject.status) == ("h1", "http", 1, "in_time")
        assert inject.seconds_to_detect == pytest.approx(25, abs=0.01)
    finally:
        waf.server.shutdown()

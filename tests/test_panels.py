"""Panels: the scenario's ``panels:`` field, range queries to the team's Prometheus, and their capture at the
end of a game day (asked once, outside the lock, recorded on the timeline, never in the way of the debrief).

Prometheus' answers here come from a local server built from its published HTTP API (``fake_prometheus``);
``test_panels_real_prometheus`` asks Debian's real one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from bot_process import free_port
from core_harness import CoreHarness
from fake_prometheus import FakePrometheus, error, matrix
from test_limits import validate

from bot.debrief.render import FORMATS, render_debrief
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import Timer
from bot.gameday.running.panel_capture import LEAD, MAX_POINTS, MAX_SERIES
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.timeline import Kind
from bot.integrations.prometheus import Prometheus, PrometheusError

PANELS = """id: {id}
title: Panel drill
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m}}
{extra}panels:
{panels}steps:
  - {{at: 0s, fault: {{type: simulated.egress-block, ttl: 20m}}}}
  - {{at: 25m, say: done}}
"""
TWO = """  - {title: "5xx rate", promql: 'sum(rate(http_requests_total{code=~"5.."}[1m]))'}
  - {title: "latency p99", promql: 'histogram_quantile(0.99, rate(latency_bucket[1m]))'}
"""
STEADY = "steady_state:\n  - {name: error ratio, promql: 'error_ratio', expect: '< 0.5'}\n"


def panel_text(panels: str = TWO, extra: str = "", scenario_id: str = "panels") -> str:
    return PANELS.format(id=scenario_id, panels=panels, extra=extra)


@pytest.fixture
def prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()
    yield fake
    fake.close()


# --- the scenario field ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("panels", "line", "field", "said"),
    [
        ("  - {title: t, promql: '" + "x" * 2001 + "'}\n", 6, "panels[0].promql", "of 1 to 2000 characters"),
        ("  - {title: t, promql: '   '}\n", 6, "panels[0].promql", "of 1 to 2000 characters"),
        ("  - {title: '" + "t" * 81 + "', promql: up}\n", 6, "panels[0].title", "of 1 to 80 characters"),
        ("  - {title: 5, promql: up}\n", 6, "panels[0].title", "Input should be a valid string"),
        ("  - {title: [a, b], promql: up}\n", 6, "panels[0].title", "Input should be a valid string"),
        ("  - {title: t, promql: {a: 1}}\n", 6, "panels[0].promql", "Input should be a valid string"),
        ("  - {title: t, promql: up, colour: red}\n", 6, "panels[0].colour", "is not a field of scenario"),
        ("  - {title: t}\n", 6, "panels[0].promql", "is required but missing"),
        ("  - up\n", 6, "panels[0]", "valid dictionary"),
        (
            "  - {title: ok, promql: up}\n  - title: x\n    promql: up\n    url: http://evil\n",
            9,
            "panels[1].url",
            "is not a field of scenario",
        ),
        (
            "".join(f"  - {{title: t{i}, promql: up}}\n" for i in range(13)),
            18,
            "panels[12]",
            "is panel 13 of 13: a scenario has at most 12 panels",
        ),
    ],
)
def test_validate_names_a_bad_panel_in_one_sentence_at_its_line(
    tmp_path: Path, panels: str, line: int, field: str, said: str
) -> None:
    path = tmp_path / "panels.yaml"
    path.write_text(panel_text(panels))
    code, lines = validate(path)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:{line}: {field}: ") and said in lines[0], lines


def test_validate_accepts_panels_at_their_bounds(tmp_path: Path) -> None:
    twelve = "".join(f"  - {{title: '{'t' * 80}', promql: '{'u' * 2000}'}}\n" for _ in range(12))
    path = tmp_path / "panels.yaml"
    path.write_text(panel_text(twelve))
    code, lines = validate(path)
    assert code == 0, lines


# --- range queries -------------------------------------------------------------------------------------
def test_a_range_answer_becomes_series_with_their_labels_and_points(prometheus: FakePrometheus) -> None:
    web = {"__name__": "up", "job": "web"}
    prometheus.answer = lambda params: (
        200,
        matrix(
            (web, [(100.0, "1"), (115.0, "0.5"), (130.0, "NaN"), (145.0, "+Inf")]),
            ({"job": "api"}, [(100.0, "-2e3")]),
        ),
    )
    found = Prometheus(prometheus.url).query_range("up", 100.0, 145.0, 15.0)
    assert prometheus.asked == [{"query": "up", "start": "100.000", "end": "145.000", "step": "15"}]
    assert found.total == 2
    assert [(s.labels, s.points) for s in found.series] == [
        (web, [(100.0, 1.0), (115.0, 0.5), (130.0, None), (145.0, None)]),
        ({"job": "api"}, [(100.0, -2000.0)]),
    ]


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (
            400,
            error("bad_data", 'invalid parameter "query": 1:5: parse error'),
            'Prometheus refused the query: invalid parameter "query": 1:5: parse error',
        ),
        (
            422,
            error("execution", "expanding series: too many samples"),
            "Prometheus refused the query: expanding series: too many samples",
        ),
        (
            503,
            error("timeout", "query timed out in expression evaluation"),
            "Prometheus refused the query: query timed out",
        ),
        (
            502,
            b"<html><body>Bad Gateway</body></html>",
            "Prometheus answered 502 with something that is not JSON",
        ),
        (200, b"[1, 2]", "Prometheus answered 200 with JSON that is not its API's"),
        (
            200,
            {"status": "success", "data": {"resultType": "vector", "result": []}},
            "Prometheus answered the range query with a vector, not a matrix",
        ),
        (
            200,
            {"status": "success", "data": {"resultType": "matrix", "result": "x"}},
            "Prometheus answered the range query with a matrix, not a matrix",
        ),
        (
            200,
            b'{"status": "success", "data": "' + b"a" * (1024 * 1024) + b'"}',
            "Prometheus answered with more than 1 MiB: narrow the query",
        ),
    ],
)
def test_each_failure_of_a_range_query_is_one_sentence(
    prometheus: FakePrometheus, status: int, body: object, said: str
) -> None:
    prometheus.answer = lambda params: (status, body)
    with pytest.raises(PrometheusError) as raised:
        Prometheus(prometheus.url).query_range("up", 0.0, 60.0, 1.0)
    assert str(raised.value).startswith(said) and "\n" not in str(raised.value), raised.value


def test_an_unreachable_or_slow_prometheus_is_one_sentence(prometheus: FakePrometheus) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PrometheusError, match="^cannot reach Prometheus at .*: the connection was refused"):
        Prometheus(closed).query_range("up", 0.0, 60.0, 1.0)
    prometheus.delay = 1.0
    with pytest.raises(PrometheusError, match="^cannot reach Prometheus at .*: it did not answer in time$"):
        Prometheus(prometheus.url, timeout=0.2).query_range("up", 0.0, 60.0, 1.0)


def test_too_many_series_or_points_are_capped_and_counted(prometheus: FakePrometheus) -> None:
    many = [({"pod": f"web-{i}"}, [(float(t), str(t * i)) for t in range(1000)]) for i in range(25)]
    prometheus.answer = lambda params: (200, matrix(*many))
    found = Prometheus(prometheus.url).query_range("x", 0.0, 999.0, 1.0)
    assert found.total == 25 and len(found.series) == MAX_SERIES == 10
    assert [s.labels["pod"] for s in found.series] == [f"web-{i}" for i in range(10)]  # Prometheus' order
    for i, series in enumerate(found.series):
        times = [t for t, _ in series.points]
        assert len(times) == MAX_POINTS == 400 and times[0] == 0.0 and times[-1] == 999.0
        gaps = {round(b - a) for a, b in zip(times, times[1:], strict=False)}
        assert gaps <= {2, 3}  # evenly thinned: 999 / 399 apart, rounded to whole samples
        assert all(v == t * i for t, v in series.points)


def test_hostile_entries_in_a_range_answer_are_left_out_not_raised(prometheus: FakePrometheus) -> None:
    body = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                "not a series",
                {
                    "metric": "not labels",
                    "values": [[1, "1"], ["abc", "2"], [True, "3"], [2], "x", [3, None]],
                },
                {"metric": {"a": 1}, "values": {"not": "a list"}},
                {"metric": {"b": "x"}, "values": [[float("inf"), "1"], [4, "4"]]},
            ],
        },
    }
    prometheus.answer = lambda params: (200, json.dumps(body).replace("Infinity", "1e999").encode())
    found = Prometheus(prometheus.url).query_range("x", 0.0, 10.0, 1.0)
    assert [(s.labels, s.points) for s in found.series] == [
        ({}, [(1.0, 1.0), (3.0, None)]),
        ({"a": "1"}, []),
        ({"b": "x"}, [(4.0, 4.0)]),
    ]


# --- capture at the end ----------------------------------------------------------------------------------
def run_day(h: CoreHarness, text: str, minutes: float = 3) -> tuple[str, Debrief]:
    h.engine.steady.query = lambda promql: [0.0]  # the steady state holds while it runs (not the point here)
    outcome = h.engine.start(text, "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    assert outcome.ok and outcome.gameday_id, outcome.message
    h.advance_to(h.clock.now() + minutes * 60, step=5.0)
    assert h.engine.end(outcome.gameday_id, "UFAC").ok
    return outcome.gameday_id, h.posted_debrief()


def test_the_panels_and_steady_probes_are_asked_once_over_the_window_and_recorded(
    prometheus: FakePrometheus,
) -> None:
    prometheus.answer = lambda params: (
        200,
        matrix(({"q": params["query"]}, [(float(params["start"]), "1"), (float(params["end"]), "2")])),
    )
    h = CoreHarness()
    h.engine.finishing.range_query = Prometheus(prometheus.url).query_range
    begun = h.clock.now()
    gameday, debrief = run_day(h, panel_text(extra=STEADY))
    record = h.store.get(gameday)
    assert record is not None and debrief.ended_at is not None
    start, end = begun - LEAD, debrief.ended_at
    step = max(1, math.ceil((end - start) / 399))
    queries = [
        'sum(rate(http_requests_total{code=~"5.."}[1m]))',
        "histogram_quantile(0.99, rate(latency_bucket[1m]))",
    ]
    assert prometheus.asked == [
        {"query": q, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)}
        for q in [*queries, "error_ratio"]
    ]
    sampled = [e for e in h.store.events(gameday) if e.kind is Kind.PANEL_SAMPLED]
    assert [(e.data["title"], e.data["source"], e.data["expect"]) for e in sampled] == [
        ("5xx rate", "panel", None),
        ("latency p99", "panel", None),
        ("error ratio", "steady_state", "< 0.5"),
    ]
    assert [(p.title, p.problem, p.series[0].points, p.series[0].last) for p in debrief.panels] == [
        (t, None, [(start, 1.0), (end, 2.0)], 2.0) for t in ("5xx rate", "latency p99", "error ratio")
    ]
    # a replayed publish (its timer retried) finds them recorded and asks Prometheus nothing more
    asked = len(prometheus.asked)
    h.engine.finishing.publish(Timer(0, gameday, "publish-again", h.clock.now(), TimerKind.PUBLISH, {}, 2))
    assert len(prometheus.asked) == asked
    assert len([e for e in h.store.events(gameday) if e.kind is Kind.PANEL_SAMPLED]) == 3


def test_a_long_game_day_is_asked_in_steps_that_keep_400_points() -> None:
    asked: list[tuple[float, float, float]] = []

    def query(promql: str, start: float, end: float, step: float) -> object:
        asked.append((start, end, step))
        raise PrometheusError("not needed")

    h = CoreHarness()
    h.engine.finishing.range_query = query  # type: ignore[assignment]
    run_day(h, panel_text("  - {title: t, promql: up}\n"), minutes=24)
    ((start, end, step),) = asked
    assert (
        step > 1
        and step == math.ceil((end - start) / 399)
        and (end - start) / step + 1 <= 400 < (end - start) / (step - 1)
    )


def test_a_prometheus_that_is_down_leaves_the_debrief_posting_each_panel_saying_why() -> None:
    h = CoreHarness()
    closed = f"http://127.0.0.1:{free_port()}"
    h.engine.finishing.range_query = Prometheus(closed).query_range
    _, debrief = run_day(h, panel_text(extra=STEADY))
    assert len(h.announcer.debriefs) == 1  # posted
    said = f"cannot reach Prometheus at {closed}: the connection was refused or dropped"
    assert [(p.problem, p.series) for p in debrief.panels] == [(said, [])] * 3
    markdown = render_debrief(debrief, "md")
    assert f"- **5xx rate**: {said}" in markdown and f"- **steady state: error ratio**: {said}" in markdown


def test_no_prometheus_or_nothing_to_draw_asks_nothing(prometheus: FakePrometheus) -> None:
    h = CoreHarness()  # SCE_PROMETHEUS_URL not set: no range query
    _, debrief = run_day(h, panel_text())
    assert debrief.panels == [] and len(h.announcer.debriefs) == 1
    h = CoreHarness()
    h.engine.finishing.range_query = Prometheus(prometheus.url).query_range
    _, debrief = run_day(h, panel_text("  []\n"))
    assert debrief.panels == [] and prometheus.asked == []


def test_a_hostile_answer_still_gives_a_debrief_in_every_format(prometheus: FakePrometheus) -> None:
    def answer(params: dict[str, str]) -> tuple[int, object]:
        if params["query"] == "up":
            return 400, json.dumps(error("bad_data", "SURROGATE" * 400)).replace(
                "SURROGATE", "\\ud800"
            ).encode()
        labels = {"pod": "SURROGATE<b>", "k" * 500: "v" * 5000, **{f"l{i}": "x" for i in range(40)}}
        body = json.dumps(matrix((labels, [(float(params["start"]), "1")])))
        return 200, body.replace("SURROGATE", "\\udfff").encode()

    prometheus.answer = answer
    h = CoreHarness()
    h.engine.finishing.range_query = Prometheus(prometheus.url).query_range
    _, debrief = run_day(h, panel_text("  - {title: t, promql: hostile}\n  - {title: u, promql: up}\n"))
    (series,) = debrief.panels[0].series
    assert series.labels["pod"] == "?<b>" and len(series.labels) == 30
    assert series.labels["k" * 200] == "v" * 200
    problem = debrief.panels[1].problem or ""
    assert problem.startswith("Prometheus refused the query: ???") and len(problem) <= 500
    for fmt in FORMATS:
        assert render_debrief(debrief, fmt)

"""A panel drawn from a real Prometheus: Debian's ``prometheus`` scrapes a target this test controls, a game
day runs with its clock on real time (so its window is the window Prometheus recorded), and the panel captured
at its end holds the values the target served, in the order it served them, and is drawn from them.

What each point must be is worked out here from when the test changed the value: Prometheus answers a
range query at time ``t`` with the latest sample scraped at or before ``t``, so a point before the change
is the old value, and a point after Prometheus was seen returning the new value is the new one.
"""

from __future__ import annotations

import time

import numpy
from core_harness import CoreHarness
from matplotlib.patches import Rectangle
from prometheus_server import MetricsTarget, PrometheusServer, metrics, needs_prometheus

from bot.debrief import panels
from bot.gameday.running.panel_capture import LEAD
from bot.gameday.timeline import Kind
from bot.integrations.prometheus import Prometheus

__all__ = ["metrics"]  # the module's Prometheus fixture

DRILL = """id: real-panel
title: Real panel
charter: {objective: o, hypothesis: h}
guardrails: {max_duration: 30m}
steady_state:
  - {name: drill requests, promql: 'panel_drill_requests{job="target"}', expect: "< 10"}
panels:
  - {title: "Drill requests", promql: 'panel_drill_requests{job="target"}'}
  - {title: "Twice the requests", promql: '2 * panel_drill_requests{job="target"}'}
steps:
  - {at: 0s, fault: {type: simulated.egress-block, ttl: 20m}}
  - {at: 25m, say: done}
"""
BEFORE, AFTER = 3.0, 8.0


def wait_until(server: PrometheusServer, promql: str) -> float:
    """When Prometheus first answered ``promql`` with data."""
    server.wait_for(promql)
    return time.time()


def follow_real_time(h: CoreHarness) -> None:
    """The virtual clock moved on to the wall clock's now, firing what came due."""
    h.advance_to(time.time(), step=0.5)


@needs_prometheus
def test_a_panel_shows_what_the_target_served_over_the_game_days_window(
    metrics: tuple[PrometheusServer, MetricsTarget],
) -> None:
    server, target = metrics
    target.values['panel_drill_requests{path="/"}'] = BEFORE
    wait_until(server, f"panel_drill_requests == {BEFORE}")
    server.wait_for("count_over_time(panel_drill_requests[1m]) >= 3")  # a few samples of the old value

    h = CoreHarness(start=time.time())
    h.engine.finishing.range_query = Prometheus(server.url).query_range
    h.engine.steady.query = Prometheus(server.url).query
    outcome = h.engine.start(DRILL, "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    gameday = outcome.gameday_id
    assert gameday, outcome.message
    started = h.clock.now()
    follow_real_time(h)  # the fault goes in
    changed = time.time()
    target.values['panel_drill_requests{path="/"}'] = AFTER
    seen = wait_until(server, f"panel_drill_requests == {AFTER}")
    while time.time() < seen + 2.2:  # two steps of the new value in the window
        time.sleep(0.1)
    follow_real_time(h)
    assert h.engine.end(gameday, "UFAC").ok
    debrief = h.posted_debrief()

    assert [(p.title, p.source, p.problem) for p in debrief.panels] == [
        ("Drill requests", "panel", None),
        ("Twice the requests", "panel", None),
        ("drill requests", "steady_state", None),
    ]
    ended = debrief.ended_at
    assert ended is not None
    for panel, factor in zip(debrief.panels, (1, 2, 1), strict=True):
        assert (panel.start, panel.end, panel.step) == (started - LEAD, ended, 1.0)
        assert panel.series_total == 1 and len(panel.series) == 1
        series = panel.series[0]
        if factor == 1:  # a selector keeps the series' name and labels; arithmetic drops the name
            assert series.labels == {
                "__name__": "panel_drill_requests",
                "job": "target",
                "instance": target.address,
                "path": "/",
            }
        times = [t for t, _ in series.points]
        assert times == sorted(times) and all(panel.start <= t <= panel.end for t in times)
        assert all(round(t - panel.start, 3) % panel.step == 0 for t in times)  # Prometheus' steps
        before = [v for t, v in series.points if t < changed]
        after = [v for t, v in series.points if t >= seen]
        assert len(before) >= 2 and set(before) == {BEFORE * factor}
        assert len(after) >= 2 and set(after) == {AFTER * factor}
        values = [v for _, v in series.points if v is not None]
        assert len(values) == len(times) and values == sorted(values)  # old values, then new ones
        assert (series.min, series.max, series.last) == (BEFORE * factor, AFTER * factor, AFTER * factor)

    recorded = [e for e in h.store.events(gameday) if e.kind is Kind.PANEL_SAMPLED]
    assert [e.data["series"][0]["points"] for e in recorded][0] == [
        list(p) for p in debrief.panels[0].series[0].points
    ]

    # and the chart is drawn from those values: its line is the series, its band the fault
    figure = panels.figure(debrief, debrief.panels[0])
    (axes,) = figure.axes
    (line,) = [line for line in axes.lines if not (line.get_gid() or "").startswith(("page", "fault"))]
    origin = debrief.time_origin or 0.0
    assert numpy.asarray(line.get_xdata()).tolist() == [t - origin for t in times]
    assert numpy.asarray(line.get_ydata()).tolist() == [v for _, v in debrief.panels[0].series[0].points]
    (band,) = [p for p in axes.patches if p.get_gid() == "fault-1"]
    assert isinstance(band, Rectangle)
    fault = debrief.controls.faults[0]
    assert band.get_x() == fault.applied_at - origin
    assert band.get_x() + band.get_width() == (fault.reverted_at or ended) - origin
    svg = panels.panel_charts(debrief)[0].svg
    assert svg.startswith("<svg ") and 'id="panel-1-fault-1"' in svg

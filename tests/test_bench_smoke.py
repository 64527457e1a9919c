"""The benchmark harness runs end to end in quick mode and writes a well-formed table.

Structure only: quick mode's counts are too small for its figures to mean anything, so no timing is
asserted. PostgreSQL is left out (the harness reports SQLite only) to keep this fast. Marked `bench`: it
runs in `make test-bench` (a step of .ci/run of its own), not in `make test`.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADER = "| Benchmark | Measure | sce | Baseline | Ratio | Target | Met |"
BENCHMARKS = {
    "Acknowledgement latency",
    "Event ingest",
    "Timer precision",
    "Outbox",
    "Debrief rendering",
    "SBOM lookup",
    "Steady-state probes",
    "Live logs",
    "Abort",
    "Memory",
    "Slack calls",
    "Growth with history",
    "Growth with running game days",
    "Programme report",
}
CURVES = (
    "debrief-by-timeline",
    "reply-by-timeline",
    "history-by-past-gamedays",
    "ack-p99-by-gamedays",
    "ack-p50-by-gamedays",
    "answer-p99-by-gamedays",
    "rss-by-gamedays",
    "slack-calls-by-gamedays",
    "timer-lateness-by-gamedays",
    "ingest-by-gamedays",
)


@pytest.mark.bench
@pytest.mark.timeout(720)
def test_quick_run_writes_a_well_formed_benchmarks_table(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    env = {k: v for k, v in os.environ.items() if k != "SCE_BENCH_POSTGRES_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=700,  # about 150 s on an idle 2-core machine; a loaded one takes several times that
    )
    assert result.returncode == 0, result.stderr[-4000:]
    text = out.read_text()
    head, _, rest = text.partition("## Results")
    table, _, notes = rest.partition("## Notes")
    assert head.startswith("# Benchmarks\n")
    assert "- Command: `python -m bench --quick" in head
    assert "- CPU: " in head and "- Python " in head and "- Database: PostgreSQL not measured" in head
    lines = [line for line in table.splitlines() if line.startswith("|")]
    assert lines[0] == HEADER and lines[1] == "|---|---|---|---|---|---|---|"
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert all(len(row) == 7 for row in rows), rows
    assert {row[0] for row in rows} == BENCHMARKS
    for benchmark, measure, value, _baseline, ratio, _target, met in rows:
        assert measure and value != "n/a", (benchmark, measure)
        assert met in ("yes", "**no**", "–"), met
        assert ratio == "–" or ratio.endswith("×"), ratio
    assert "FAILED" not in notes
    assert all(f"### {name}" in notes for name in BENCHMARKS)
    assert notes.count("CPU steal ") == len(BENCHMARKS)  # each section says how much CPU the host took
    for name in CURVES:  # each curve: its chart beside the file, linked from it, a PNG a reader opens
        chart = tmp_path / "BENCHMARKS-charts" / f"{name}.png"
        assert f"](BENCHMARKS-charts/{name}.png)" in notes
        image = matplotlib_image().imread(chart, format="png")
        assert image.shape[0] > 100 and image.shape[1] > 100, image.shape
    assert notes.count("Growth of ") == len(CURVES)
    assert notes.count(". Why: ") == len(CURVES)  # each curve says why it grows as it does


def matplotlib_image() -> Any:
    import matplotlib.image

    return matplotlib.image


def test_a_curves_growth_line_names_each_of_sces_series_and_no_baseline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.results import Curve

    curve = Curve(
        "c",
        "C",
        "size",
        "ms",
        [1, 10, 100],
        {"ours (A)": [1.0, 1.0, 1.0], "ours (B)": [1.0, 10.0, 100.0], "bare": [1.0, 1.0, 1.0]},
        why="because.",
        baselines=frozenset({"bare"}),
    )
    line = curve.growth_line()
    assert line.startswith("Growth of ours (A) constant") and "; ours (B) linear" in line, line
    assert "bare" not in line and line.endswith(". Why: because."), line


@pytest.mark.parametrize(
    ("xs", "ys", "shape"),
    [
        ([1, 10, 100], [3.0, 3.1, 2.9], "constant"),
        ([100, 1000, 10000], [5.0, 50.0, 500.0], "linear"),
        ([10, 100, 1000], [1.0, 100.0, 10000.0], "worse than linear"),
        ([10, 100, 1000], [1.0, 3.0, 10.0], "sublinear"),
        ([10, 100], [None, 4.0], "too few points"),
    ],
)
def test_growth_is_named_from_the_slope_of_cost_against_size_on_log_scales(
    xs: list[int], ys: list[float | None], shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.results import growth

    said = growth(xs, ys)
    assert said.startswith(shape), said
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if y]
    if len(points) >= 2:  # the slope said is close to the one of the end points, computed here
        (x0, y0), (x1, y1) = points[0], points[-1]
        slope = math.log(y1 / y0) / math.log(x1 / x0)
        assert abs(slope - float(said.split("^")[1].rstrip(")"))) < 0.15, said


@pytest.mark.parametrize(
    ("before", "after", "share"),
    [
        ((1000, 10), (2000, 310), 0.3),
        ((1000, 10), (1500, 10), 0.0),
        (None, (2000, 5), None),
        ((9, 1), (9, 1), None),
    ],
)
def test_cpu_steal_is_the_share_of_ticks_the_host_took_between_two_readings(
    before: tuple[int, int] | None,
    after: tuple[int, int] | None,
    share: float | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))  # the harness is not an installed package
    from bench.machine import cpu_ticks, steal_share

    assert steal_share(before, after) == (pytest.approx(share) if share is not None else None)
    ticks = cpu_ticks()  # this machine's own /proc/stat
    assert ticks is None or 0 <= ticks[1] <= ticks[0]

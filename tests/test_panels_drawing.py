"""The panels drawn: one chart per panel with each fault a shaded band and pages, acknowledgements,
detections and containments as lines, as SVG in the HTML debrief (opened in headless Chromium) and the
evidence bundle, and as PNG uploaded to the game day's thread; hostile titles and labels stay text.

Expected positions are worked out here from the chart's own plot area and the debrief's times: a point
``t`` seconds from T0 sits at ``left + (t - xmin) / (xmax - xmin) * width`` of the plot area.
"""

from __future__ import annotations

import base64
import io
import re
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from core_harness import ROOT, CoreHarness
from defusedxml.ElementTree import fromstring
from fake_prometheus import FakePrometheus, matrix
from slack_harness import SlackGameDays
from test_debrief_browser import CHROMIUM, chromium, near, parse, png_pixels

from bot.debrief import panels
from bot.debrief.bundle import bundle_files
from bot.debrief.render import render_debrief
from bot.gameday.measuring.report_models import Debrief, PanelReport
from bot.gameday.timeline import Kind
from bot.integrations.prometheus import Prometheus
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE_TITLE = "</svg><script>alert(1)</script> $\\frac{1}{0}$ \x07 ]]><!--"
HOSTILE_LABEL = '"><script>alert(2)</script><svg onload=alert(3)>'
DRILL = """id: drawn
title: Drawn drill
charter: {{objective: o, hypothesis: h}}
guardrails: {{max_duration: 30m}}
steady_state:
  - {{name: error ratio, promql: 'error_ratio', expect: '< 0.5'}}
panels:
{panels}steps:
  - {{at: 0s, fault: {{type: simulated.egress-block, ttl: 1m}}}}
  - {{at: 30s, page: {{to: "@primary", severity: high, summary: s}}}}
  - {{at: 90s, fault: {{type: simulated.dns-exfil, ttl: 20m}}}}
  - {{at: 25m, say: done}}
"""
TITLES = ["5xx rate", HOSTILE_TITLE]


def drill(titles: list[str]) -> str:
    quoted = [t.replace("\\", "\\\\").replace('"', '\\"').replace("\x07", "\\a") for t in titles]
    return DRILL.format(panels="".join(f'  - {{title: "{t}", promql: q{i}}}\n' for i, t in enumerate(quoted)))


@pytest.fixture(scope="module")
def prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()

    def answer(params: dict[str, str]) -> tuple[int, object]:
        start, end, step = (float(params[k]) for k in ("start", "end", "step"))
        times = [start + i * step for i in range(int((end - start) / step) + 1)]
        return 200, matrix(
            ({"__name__": "x", "pod": HOSTILE_LABEL}, [(t, str(i % 7)) for i, t in enumerate(times)]),
            ({"pod": "web-2"}, [(t, "0.25") for t in times]),
        )

    fake.answer = answer
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def debrief(prometheus: FakePrometheus) -> Debrief:
    """Two faults (the first reverted at its ttl, the second at the end), a page acknowledged, a detection
    and a containment, and the panels asked of the local Prometheus."""
    h = CoreHarness()
    h.engine.finishing.range_query = Prometheus(prometheus.url).query_range
    h.engine.steady.query = lambda promql: [0.0]
    outcome = h.engine.start(drill(TITLES), "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    gameday = outcome.gameday_id
    assert gameday
    start = h.clock.now()
    h.advance_to(start + 45)
    assert h.engine.acknowledge(gameday, "U1", start + 40, h.delivery()).ok
    h.advance_to(start + 100)
    assert h.engine.mark(gameday, Kind.DETECTED, "U1", start + 100, h.delivery()).ok
    h.advance_to(start + 150)
    assert h.engine.mark(gameday, Kind.CONTAINED, "U1", start + 150, h.delivery()).ok
    h.advance_to(start + 180)
    assert h.engine.end(gameday, "UFAC").ok
    return h.posted_debrief()


def plot_area(root: object) -> tuple[float, float]:
    """The left and right edge of the chart's plot area, in SVG units."""
    xs = path_xs(element(root, "plot-area"))
    return min(xs), max(xs)


def element(root: object, gid: str) -> object:
    found = [e for e in root.iter() if (e.get("id") or "").endswith(gid)]  # type: ignore[attr-defined]
    assert len(found) == 1, (gid, len(found))
    return found[0]


def path_xs(group: object) -> list[float]:
    """The x of every point of the paths under ``group`` (matplotlib writes ``M x y L x y ... z``)."""
    xs = []
    for path in group.iter(f"{SVG}path"):  # type: ignore[attr-defined]
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", path.get("d", ""))]
        xs += numbers[0::2]
    return xs


def expected_x(debrief: Debrief, panel: PanelReport, at: float, left: float, right: float) -> float:
    origin = debrief.time_origin or 0.0
    xmin, xmax = panel.start - origin, panel.end - origin
    return left + (at - origin - xmin) / (xmax - xmin) * (right - left)


def test_each_fault_is_a_band_and_each_moment_a_line_where_its_time_says(debrief: Debrief) -> None:
    faults = debrief.controls.faults
    assert len(faults) == 2 and faults[0].reverted_at is not None
    assert faults[0].reverted_at - faults[0].applied_at == pytest.approx(60, abs=1)  # its ttl
    marks = {
        "page-1": debrief.pages[0].paged_at,
        "acknowledged-1": debrief.pages[0].acknowledged_at,
        "detected-1": debrief.detections[0].at,
        "contained-1": debrief.containments[0].at,
    }
    svgs = panels.panel_svgs(debrief)
    assert sorted(svgs) == ["panel-1.svg", "panel-2.svg", "panel-3.svg"]  # two panels, one steady probe
    for number, panel in enumerate(debrief.panels, start=1):
        root = fromstring(svgs[f"panel-{number}.svg"])
        left, right = plot_area(root)
        for index, fault in enumerate(faults, start=1):
            reverted = fault.reverted_at if fault.reverted_at is not None else panel.end
            band = path_xs(element(root, f"fault-{index}"))
            assert min(band) == pytest.approx(
                expected_x(debrief, panel, fault.applied_at, left, right), abs=0.5
            )
            assert max(band) == pytest.approx(expected_x(debrief, panel, reverted, left, right), abs=0.5)
        for gid, at in marks.items():
            assert at is not None
            xs = path_xs(element(root, gid))  # a vertical line: both ends at the same x
            assert (
                len(xs) == 2
                and xs == [pytest.approx(expected_x(debrief, panel, at, left, right), abs=0.5)] * 2
            )
        legend = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
        for kind in ("fault (applied to reverted)", "page", "acknowledged", "detected", "contained"):
            assert kind in legend
    steady = fromstring(svgs["panel-3.svg"])
    assert element(steady, "tolerance") is not None
    assert "tolerance < 0.5" in " ".join(t.text or "" for t in steady.iter(f"{SVG}text"))


def test_the_svg_is_the_same_bytes_each_time_and_carries_no_date(debrief: Debrief) -> None:
    first = panels.panel_svgs(debrief)
    panels._CACHE.clear()  # drawn again from scratch
    again = panels.panel_svgs(debrief)
    assert first == again
    assert not re.search(rb"\d{4}-\d\d-\d\dT\d\d:\d\d", b"".join(first.values()))


def test_the_png_is_a_png_of_the_charts_size_with_its_bands_and_lines(debrief: Debrief) -> None:
    import matplotlib.image

    pngs = panels.panel_pngs(debrief)
    assert [name for name, _, _ in pngs] == ["panel-1.png", "panel-2.png", "panel-3.png"]
    data = pngs[0][1]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (900, 360)
    pixels = (matplotlib.image.imread(io.BytesIO(data), format="png")[:, :, :3] * 255).round()
    assert pixels.shape == (360, 900, 3)
    colors = {(int(p[0]), int(p[1]), int(p[2])) for row in pixels for p in row}
    for name, color in (("fault band", "#fae3e3"), ("page line", "#2563eb"), ("first series", "#1f77b4")):
        assert any(near(c, color, 12) for c in colors), f"no {name} in the PNG"


def test_hostile_titles_and_labels_stay_text_in_the_inline_svg(debrief: Debrief) -> None:
    charts = panels.panel_charts(debrief)
    assert [c.title for c in charts] == [
        "5xx rate",
        panels.printable(HOSTILE_TITLE),
        "steady state: error ratio",
    ]
    for chart in charts:
        assert chart.svg.startswith("<svg ") and "<script" not in chart.svg
        root = fromstring(chart.svg)
        assert all(e.tag.rsplit("}", 1)[-1] != "script" for e in root.iter())
        assert not any(k.lower().startswith("on") for e in root.iter() for k in e.attrib)
        texts = [t.text or "" for t in root.iter(f"{SVG}text")]
        assert any(HOSTILE_LABEL in t for t in texts)  # the label, shown as it is
    assert any(
        panels.printable(HOSTILE_TITLE) == t.text for t in fromstring(charts[1].svg).iter(f"{SVG}text")
    )


@pytest.mark.parametrize(
    "injected",
    [
        "<script>alert(1)</script>",
        '<g onload="alert(1)"/>',
        '<use href="https://evil.example/x.svg#a"/>',
        '<path style="fill: url(https://evil.example/x)" d="M 0 0"/>',
        "<foreignObject><div>x</div></foreignObject>",
        '<image href="data:image/png;base64,AA=="/>',
    ],
)
def test_an_svg_outside_the_allow_list_is_not_inlined(injected: str) -> None:
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><g id="a">{injected}</g></svg>'
    assert panels._inline(svg, 1) == ""
    assert panels._inline(svg.replace(injected, '<path d="M 0 0 L 1 1"/>'), 1).startswith("<svg ")


@pytest.mark.parametrize(
    "odd",
    [
        {"series": [{"labels": {}, "points": [[0.0, 1e308], [1.0, -1e308]]}]},  # the float's extremes
        {"series": [{"labels": {"__name__": "_hidden"}, "points": [[5.0, 1.0]]}]},  # one point
        {"series": [{"labels": {"a": "b"}, "points": [[5.0, None], [6.0, None]]}]},  # no value at all
        {"series": [], "start": 10.0, "end": 10.0, "problem": "x\x00" * 500},  # an empty window
        {"series": [{"labels": {"k" * 300: "\ud800 \u202e \x1b[31m" * 50}, "points": [[1.0, 2.0]]}]},
    ],
)
def test_odd_data_still_draws_a_chart_or_says_it_could_not(debrief: Debrief, odd: dict[str, object]) -> None:
    panel = PanelReport.model_validate(
        {"title": "odd", "promql": "x", "start": 0.0, "end": 60.0, "step": 1.0} | odd
    )
    shown = debrief.model_copy(update={"panels": [panel], "time_origin": 0.0})
    (chart,) = panels.panel_charts(shown)
    assert chart.svg.startswith("<svg ") and fromstring(chart.svg) is not None
    ((name, png, _),) = panels.panel_pngs(shown)
    assert name == "panel-1.png" and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "\x00" not in chart.svg and "\ud800" not in chart.svg


def test_a_debrief_without_panels_never_imports_matplotlib(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from core_harness import CoreHarness, scenario_text\n"
        "from bot.debrief.bundle import bundle_files\n"
        "from bot.debrief.render import FORMATS, render_debrief\n"
        "import bot.slack.announcer, bot.runtime.service\n"
        "h = CoreHarness()\n"
        "roster = {'primary': 'U1', 'secondary': 'U2'}\n"
        "gd = h.engine.start(scenario_text(), 'C1', 'UFAC', roster).gameday_id\n"
        "h.advance_to(h.clock.now() + 60)\n"
        "h.engine.end(gd, 'UFAC')\n"
        "d = h.posted_debrief()\n"
        "[render_debrief(d, f) for f in FORMATS]\n"
        "bundle_files(d, scenario_text())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT / "tests",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"


def test_the_bundle_holds_each_panels_svg_in_its_manifest(debrief: Debrief) -> None:
    files = bundle_files(debrief, drill(TITLES))
    assert {"panel-1.svg", "panel-2.svg", "panel-3.svg"} <= set(files)
    manifest = files["manifest.json"].decode()
    assert all(f'"panel-{n}.svg"' in manifest for n in (1, 2, 3))
    assert files["panel-1.svg"] == panels.panel_svgs(debrief)["panel-1.svg"]


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)"
)
def test_the_html_debrief_shows_the_charts_in_chromium_and_runs_no_hostile_script(
    debrief: Debrief, tmp_path: Path
) -> None:
    html = render_debrief(debrief, "html")
    page_file = tmp_path / "debrief.html"
    page_file.write_text(html, encoding="utf-8")
    shown = parse(chromium("--dump-dom", page_file.as_uri(), profile=tmp_path / "p1").stdout)
    assert shown.scripts == 0
    text = " ".join("".join(shown.body).split())
    assert "</svg><script>alert(1)</script>" in text and "alert(2)</script>" in text  # shown, as text
    probe = tmp_path / "probe.html"  # where Chromium lays the first chart out
    probe.write_text(
        html.replace(
            "</body>",
            "<script>const r = document.getElementById('panel-chart-1').getBoundingClientRect();"
            "document.documentElement.dataset.chartRect = [r.left, r.top, r.width, r.height].join(',');"
            "</script></body>",
        ),
        encoding="utf-8",
    )
    rect = parse(chromium("--dump-dom", probe.as_uri(), profile=tmp_path / "p2").stdout).chart_rect
    assert rect, "the chart has no layout box"
    left, top, width, height = (int(float(v)) for v in rect.split(","))
    assert width > 800 and 250 < height < 500, rect
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,4000", page_file.as_uri(), profile=tmp_path / "p3")
    _, rows, bpp = png_pixels(shot.read_bytes(), top + height)
    colors = {
        (rows[y][x * bpp], rows[y][x * bpp + 1], rows[y][x * bpp + 2])
        for y in range(top + 2, top + height - 2)
        for x in range(left + 2, left + width - 2)
    }
    for name, color in (("fault band", "#fae3e3"), ("page line", "#2563eb"), ("first series", "#1f77b4")):
        assert any(near(c, color, 16) for c in colors), f"no {name} drawn in the page"


def test_the_pngs_are_uploaded_to_the_thread_with_the_debrief(
    workspace: LocalWorkspace, prometheus: FakePrometheus
) -> None:
    days = SlackGameDays(workspace)
    days.engine.finishing.range_query = Prometheus(prometheus.url).query_range
    days.engine.steady.query = lambda promql: [0.0]
    titles = [f"panel {i}" for i in range(9)]  # 9 panels and the steady probe: 12 files, two messages
    gameday = days.start(drill(titles))
    days.run_to_end(gameday, 120)
    record = days.store.get(gameday)
    assert record is not None and record.thread_ts
    files = WorkspaceClient(workspace.base_url).files("C1")
    pngs = sorted(
        (f for f in files if f["name"].endswith(".png")), key=lambda f: int(f["name"][:-4].split("-")[-1])
    )
    assert [f["name"] for f in pngs] == [f"{gameday}-panel-{n}.png" for n in range(1, 11)]
    assert [f["title"] for f in pngs][:2] == [
        f"[GAME DAY] {gameday}: panel 0 (PNG)",
        f"[GAME DAY] {gameday}: panel 1 (PNG)",
    ]
    assert pngs[-1]["title"] == f"[GAME DAY] {gameday}: steady state: error ratio (PNG)"
    for f in pngs:
        data = base64.b64decode(f["content_base64"])
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (900, 360)
        assert f["thread_ts"] == record.thread_ts
    assert {f["name"] for f in files} >= {f"debrief-{gameday}.html", f"debrief-{gameday}.md"}
    shared = [m for m in days.messages(gameday) if m.get("files")]
    assert sorted(len(m["files"]) for m in shared) == [2, 10]  # at most ten files a message

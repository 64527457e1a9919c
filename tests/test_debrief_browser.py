"""The HTML debrief as a person sees it: rendered by headless Chromium from a game day the real engine ran.

The screenshot is kept as artifacts/debrief-browser.png (gitignored) for a human to look at.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from core_harness import ROOT, CoreHarness, scenario_text

from bot.debrief.render import render_debrief
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.running.engine import build_debrief_for
from bot.gameday.scenario.durations import format_duration
from bot.gameday.state import fold
from bot.gameday.timeline import Kind

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),  # CI installs it (.ci/run), so there it must run
    reason="headless Chromium is not installed (apt-get install -y chromium)",
)
ARTIFACTS = ROOT / "artifacts"
WINDOW = (1280, 2000)
HOSTILE = "the runbook says <script>alert(1)</script>; ping <!channel> and <@U123>"


def realistic_debrief() -> Debrief:
    """pager-stress: p0 acknowledged, p2 escalated and left unacknowledged, a handoff, notes, roles."""
    h = CoreHarness()
    outcome = h.engine.start(scenario_text(), "C1", "UFAC", {"primary": "U1", "secondary": "U2"})
    assert outcome.gameday_id
    gd = outcome.gameday_id
    start = h.clock.now()
    h.advance_to(start + 1)
    p0 = h.page_ts(gd, "p0")
    with h.store.transaction(gd) as tx:  # the role command is not wired yet: record what it will record
        tx.append(Kind.ROLE_ASSIGNED, p0 + 40, "UFAC", {"role": "commander", "user": "U1"})
        tx.append(Kind.ROLE_ASSIGNED, p0 + 200, "UFAC", {"role": "comms", "user": "U3"})
    h.advance_to(p0 + 80)
    assert h.engine.acknowledge(gd, "U1", p0 + 80, h.delivery()).ok
    h.engine.add_note(gd, "update", "investigating the login from 203.0.113.77", "U1", p0 + 140, h.delivery())
    h.engine.mark(gd, Kind.DETECTED, "U1", p0 + 170, h.delivery(), page_id="p0")
    h.engine.add_note(gd, "gap", HOSTILE, "U1", p0 + 200, h.delivery())
    h.advance_to(start + 8 * 60 + 1)  # p2 is paged at 4m, nobody answers, it is escalated at 7m
    handoff = fold(h.store.events(gd)).handoffs[0]
    h.engine.add_note(gd, "decision", "disable legacy auth for the account", "U1", p0 + 500, h.delivery())
    h.advance_to(handoff.requested_at + 95)
    h.engine.acknowledge(gd, "U2", handoff.requested_at + 95, h.delivery(), target_id=handoff.handoff_id)
    h.engine.add_note(gd, "action", "add a token revocation step", "U2", p0 + 640, h.delivery())
    h.engine.mark(gd, Kind.CONTAINED, "U2", p0 + 11 * 60, h.delivery())
    h.advance_to(start + 13 * 60)
    h.engine.end(gd, "UFAC")
    record = h.store.get(gd)
    assert record is not None
    return build_debrief_for(record, h.store.events(gd))


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--user-data-dir={profile}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


class Page(HTMLParser):
    """What the dumped DOM shows: text per element id, chart rows, script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.rows: list[str] = []
        self.scripts = 0
        self.in_chart = False
        self.chart_rect: str | None = None
        self._open: list[tuple[str, str | None]] = []
        self.body: list[str] = []
        self.page_times: dict[str, str] = {}
        self._page_time: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "td" and "page-time" in (a.get("class") or "").split():
            self._page_time = a.get("data-page")
        self.scripts += tag == "script"
        self.chart_rect = self.chart_rect or a.get("data-chart-rect")
        if tag == "svg" and a.get("id") == "timeline-chart":
            self.in_chart = True
        if self.in_chart and tag == "g" and a.get("class") == "row":
            self.rows.append(a.get("data-page") or "")
        self._open.append((tag, a.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._page_time = None
        if tag == "svg":
            self.in_chart = False
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.body.append(data)
        if self._page_time is not None:
            self.page_times[self._page_time] = self.page_times.get(self._page_time, "") + data
        for _, element_id in self._open:
            if element_id:
                self.text[element_id] = self.text.get(element_id, "") + data


def parse(dom: str) -> Page:
    page = Page()
    page.feed(dom)
    return page


def png_pixels(data: bytes, rows: int) -> tuple[int, list[bytearray], int]:
    """Decode the first ``rows`` rows of an 8-bit RGB/RGBA PNG (stdlib only): width, rows, bytes per pixel."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, bytearray()
    width = height = 0
    color = 6
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and color in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += chunk
    bpp = 3 if color == 2 else 4
    stride = width * bpp
    raw = zlib.decompressobj().decompress(bytes(idat), (stride + 1) * min(rows, height))
    out: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(min(rows, height)):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        out.append(line)
        prev = line
    return width, out, bpp


def near(pixel: tuple[int, int, int], color: str, tolerance: int = 40) -> bool:
    target = (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, target, strict=True))


def test_a_person_sees_the_verdict_mtta_and_a_chart_row_per_page(tmp_path: Path) -> None:
    debrief = realistic_debrief()
    assert debrief.verdict == "falsified" and debrief.metrics.unacknowledged_pages == ["p2"]
    html = render_debrief(debrief, "html")
    ARTIFACTS.mkdir(exist_ok=True)
    page_file = ARTIFACTS / "debrief-browser.html"
    page_file.write_text(html, encoding="utf-8")

    shown = parse(chromium("--dump-dom", page_file.as_uri(), profile=tmp_path / "p1").stdout)
    assert shown.text["verdict"].strip() == "falsified"
    assert shown.text["mtta"].strip() == format_duration(debrief.metrics.mtta_seconds) != "-"
    assert shown.rows == [p.id for p in debrief.pages] == ["p0", "p2"]
    text = " ".join("".join(shown.body).split())
    assert "Pager rotation stress" in text and "acknowledge_within" in text
    assert HOSTILE in text  # user text shows literally ...
    assert shown.scripts == 0  # ... and never becomes markup

    probe = tmp_path / "probe.html"  # the same page, plus a script that reports where the chart is drawn
    probe.write_text(
        html.replace(
            "</body>",
            "<script>const r = document.getElementById('timeline-chart').getBoundingClientRect();"
            "document.documentElement.dataset.chartRect = [r.left, r.top, r.width, r.height].join(',');"
            "</script></body>",
        ),
        encoding="utf-8",
    )
    rect = parse(chromium("--dump-dom", probe.as_uri(), profile=tmp_path / "p2").stdout).chart_rect
    assert rect, "the chart has no layout box"
    left, top, width, height = (int(float(v)) for v in rect.split(","))
    assert width > 800 and height > 80 and top + height < WINDOW[1], rect

    shot = ARTIFACTS / "debrief-browser.png"
    shot.unlink(missing_ok=True)
    chromium(f"--screenshot={shot}", page_file.as_uri(), profile=tmp_path / "p3")
    png_width, rows, bpp = png_pixels(shot.read_bytes(), top + height)
    assert png_width == WINDOW[0]
    colors: set[tuple[int, int, int]] = set()
    inked = 0
    for y in range(top + 2, top + height - 2):
        for x in range(left + 2, left + width - 2):
            pixel = (rows[y][x * bpp], rows[y][x * bpp + 1], rows[y][x * bpp + 2])
            if min(pixel) < 235:
                inked += 1
                colors.add(pixel)
    assert inked > 2000, "the chart area is (nearly) blank"
    for name, color in (("page", "#2563eb"), ("acknowledged", "#16a34a"), ("escalated", "#ea580c")):
        assert any(near(c, color) for c in colors), f"no {name} mark drawn in the chart"


def test_the_page_times_a_person_sees_are_the_markdowns(tmp_path: Path) -> None:
    """The Markdown and the HTML debrief give each page the same time, from the same T0."""
    debrief = realistic_debrief()
    page_file = tmp_path / "debrief.html"
    page_file.write_text(render_debrief(debrief, "html"), encoding="utf-8")
    shown = parse(chromium("--dump-dom", page_file.as_uri(), profile=tmp_path / "p1").stdout)
    markdown = render_debrief(debrief, "md").split("## Pages\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split(" | ") for line in markdown.splitlines() if line.startswith("| p")]
    in_markdown = {cells[0].strip(): cells[3].strip() for cells in rows}
    assert {k: v.strip() for k, v in shown.page_times.items()} == in_markdown
    # and both are whole seconds from T0, the first page, worked out here from the JSON's own times
    origin = debrief.time_origin
    assert origin is not None and origin == min(p.paged_at for p in debrief.pages)
    for p in debrief.pages:
        minutes, seconds = divmod(round(p.paged_at - origin), 60)
        assert in_markdown[p.id] == "+" + (f"{minutes}m" if minutes else "") + (
            f"{seconds}s" if seconds or not minutes else ""
        )

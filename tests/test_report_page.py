"""`GET /report`: the programme report served by `sce serve`, reached over real HTTP.

Off (404) without SCE_REPORT_TOKEN; with it, the token is asked for as the calendar feed asks for its own
(401 for a wrong, missing, overlong or doubled one); a window that is not one is 400 with its sentence;
the page is the HTML report of real game days (run by the engine on the bot's SQLite store), with the
debrief pages' headers, kept for 60 s. Headless Chromium loads the served page: no console message (a
blocked script or asset would be one), no script, the heat map drawn. With SCE_UPDATE_SCREENSHOTS=1 the
screenshot is copied to docs/img/programme-report.png (the README shows it).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from core_harness import ROOT, CoreHarness, scenario_text
from test_debrief_browser import CHROMIUM, chromium, parse, png_pixels

from bot.config import Settings
from bot.gameday.clock import VirtualClock
from bot.gameday.findings.model import FindingDraft, FindingKind
from bot.gameday.timeline import Kind
from bot.runtime.report_page import CACHE_SECONDS, ReportPage, services_report
from bot.runtime.server import HttpServer
from bot.runtime.service import Services, build_services
from storage.finding_store import FindingStore

TOKEN = "report-token-0123456789abcdef0123456789abcdef"
HOSTILE_TITLE = "<script>document.title='owned'</script><img src=x onerror=alert(1)> & co"
HOSTILE = (
    f'id: hostile\ntitle: "{HOSTILE_TITLE}"\nattack: [T1046]\n'
    "charter: {objective: o, hypothesis: 'the scan is seen within 5 minutes'}\n"
    "steps:\n  - {at: 0s, say: hello}\n"
)
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
D = 86400.0
SCREENSHOT = ROOT / "docs" / "img" / "programme-report.png"


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


NOW = at("2026-11-15T09:00:00")


def pager_stress(services: Services, start: float, n: int, alert: bool) -> str:
    """A finished pager-stress game day (T1078): p0 acknowledged after a minute, then detected (by an
    alert when ``alert``: the technique verified), contained and ended."""
    h = CoreHarness(store=services.store, start=start)
    h._delivery = 1000 * n
    gd = h.engine.start(scenario_text(), "C1", "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    assert gd
    h.advance_to(start + 1)
    p0 = h.page_ts(gd, "p0")
    h.advance_to(p0 + 60)
    assert h.engine.acknowledge(gd, "U1", p0 + 60, h.delivery()).ok
    source, actor = ("alertmanager", "alertmanager:ImpossibleTravel") if alert else ("command", "U1")
    h.engine.mark(gd, Kind.DETECTED, actor, p0 + 90, h.delivery(), source=source, page_id="p0")
    h.engine.mark(gd, Kind.CONTAINED, "U1", p0 + 120, h.delivery())
    h.advance_to(p0 + 130)
    h.engine.end(gd, "UFAC")
    return gd


def hostile_run(services: Services, start: float) -> str:
    h = CoreHarness(store=services.store, start=start)
    h._delivery = 9000
    gd = h.engine.start(HOSTILE, "C1", "UFAC", {"primary": "U1", "secondary": "U2"}).gameday_id
    assert gd
    h.advance_to(start + 5)
    h.engine.end(gd, "UFAC")
    return gd


@dataclass
class Served:
    services: Services
    url: str
    gamedays: list[str]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    folder = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios", folder)
    (folder / "hostile.yaml").write_text(HOSTILE)
    settings = Settings(
        slack_bot_token="xoxb-local",
        slack_signing_secret="s",
        slack_api_url="http://127.0.0.1:9/api/",
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        scenarios_dir=folder,
        rotations_dir=tmp_path / "none",
        report_token=TOKEN,
    )
    services = build_services(settings, VirtualClock(NOW))
    gamedays = [
        pager_stress(services, at("2026-05-12T10:00:00"), 1, alert=False),
        pager_stress(services, at("2026-08-25T10:00:00"), 2, alert=True),
        pager_stress(services, at("2026-10-28T10:00:00"), 3, alert=True),
        hostile_run(services, at("2026-06-02T10:00:00")),  # 166 days before: overdue, its title shown
    ]
    findings = FindingStore(services.store.engine)
    for n, (gd, days_ago) in enumerate([(gamedays[1], 80), (gamedays[2], 18), (gamedays[3], 5)]):
        scenario = "hostile" if n == 2 else "pager-stress"
        draft = FindingDraft(gameday=gd, key=f"gap:{n}", kind=FindingKind.GAP, scenario=scenario, text="gap")
        findings.record([draft], "C1", NOW - days_ago * D)
    server = HttpServer(None, "127.0.0.1", 0, report=services_report(services))  # as in Socket Mode
    server.start()
    try:
        yield Served(services, f"http://127.0.0.1:{server.port}/report", gamedays)
    finally:
        server.stop()
        services.stop()


def started(status: str, headers: list[tuple[str, str]], *_: object) -> Callable[[bytes], object]:
    """A WSGI server's start_response that keeps nothing."""
    return lambda _: None


def get(url: str, headers: dict[str, str] | None = None, **params: str | list[str]) -> requests.Response:
    return requests.get(url, headers=headers or {}, params=params, timeout=30)


def test_the_page_answers_only_to_its_token(served: Served) -> None:
    refused: list[tuple[dict[str, str], dict[str, str | list[str]]]] = [
        ({}, {}),
        ({"Authorization": "Bearer wrong"}, {}),
        ({"Authorization": f"Bearer {TOKEN[:-1]}"}, {}),
        ({"Authorization": f"Basic {TOKEN}"}, {}),
        ({"Authorization": f"Bearer {TOKEN}x"}, {}),
        ({"Authorization": "Bearer "}, {"token": TOKEN}),  # an empty header is not saved by the query
        ({}, {"token": "wrong"}),
        ({}, {"token": ["wrong", TOKEN]}),  # two tokens: neither is taken
        ({}, {"token": [TOKEN, TOKEN]}),
        ({"Authorization": "Bearer wrong"}, {"token": TOKEN}),
        ({}, {"token": TOKEN * 100}),  # overlong: never compared
        ({"Authorization": f"Bearer {TOKEN * 100}"}, {}),
        ({}, {"token": TOKEN.upper()}),
    ]
    for headers, params in refused:
        answer = get(served.url, headers, **params)
        assert answer.status_code == 401, (headers, params)
        assert "Programme report" not in answer.text and "pager-stress" not in answer.text
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="sce report"'
    accepted: list[tuple[dict[str, str], dict[str, str | list[str]]]] = [
        ({"Authorization": f"Bearer {TOKEN}"}, {}),
        ({}, {"token": TOKEN}),
    ]
    for headers, params in accepted:
        answer = get(served.url, headers, **params)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
        assert answer.headers["Content-Security-Policy"] == CSP
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        # the 90-day window from 2026-08-17 09:00: the game days of 08-25 and 10-28
        assert "2 finished game day(s) from 2026-08-17 to 2026-11-15 (90 days)." in answer.text
    posted = requests.post(served.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert posted.status_code == 405 and posted.headers["Allow"] == "GET"


def test_the_page_is_off_without_a_token(served: Served) -> None:
    off = replace(served.services, settings=replace(served.services.settings, report_token=None))
    server = HttpServer(None, "127.0.0.1", 0, report=services_report(off))
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/report"
        for headers, params in [({}, {}), ({"Authorization": "Bearer "}, {}), ({}, {"token": ""})]:
            answer = get(url, headers, **params)
            assert answer.status_code == 404 and "Programme" not in answer.text
    finally:
        server.stop()
    assert Settings.from_env({"SCE_REPORT_TOKEN": ""}).report_token is None
    assert Settings.from_env({"SCE_REPORT_TOKEN": "t"}).report_token == "t"
    assert "secret-token-xyz" not in repr(Settings(report_token="secret-token-xyz"))


@pytest.mark.parametrize(
    "since",
    [
        "soon",
        "0d",
        "-5d",
        "1e9d",
        "90d; rm -rf /",
        "<script>alert(1)</script>",
        "123456d",
        "９０d",
        "9\x00d",
        "90d" * 400,
        ["90d", "30d"],
    ],
)
def test_a_window_that_is_not_one_is_400_with_its_sentence(served: Served, since: str | list[str]) -> None:
    answer = get(served.url, {"Authorization": f"Bearer {TOKEN}"}, since=since)
    assert answer.status_code == 400, answer.text[:200]
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.text.count("\n") == 0 and len(answer.text) < 200  # one sentence
    assert (
        answer.text
        == "?since= is not a window; write one, like 90d, 365d or 12w (at most 99999 days or weeks)."
    )
    assert "Traceback" not in answer.text and "<script>" not in answer.text and "\x00" not in answer.text


def test_a_window_chooses_the_game_days_and_a_hostile_title_stays_text(served: Served) -> None:
    page = get(served.url, {"Authorization": f"Bearer {TOKEN}"}, since="365d").text
    # a year back from 2026-11-15: every game day, in Q2 (2), Q3 (1) and Q4 (1), the hostile one in Q2
    assert "4 finished game day(s) from 2025-11-15 to 2026-11-15 (365 days)." in page
    assert "<tr><td>2026-Q2</td><td>2</td>" in page and "<tr><td>2026-Q4</td><td>1</td>" in page
    assert (
        "&lt;script&gt;document.title=" in page
        and "onerror=alert(1)&gt; &amp; co <code>hostile</code>" in page
    )
    assert "<script>" not in page and "<img src=x" not in page
    weeks = get(served.url, {"Authorization": f"Bearer {TOKEN}"}, since="3w").text
    assert "1 finished game day(s) from 2026-10-25 to 2026-11-15 (21 days)." in weeks


def test_the_page_is_kept_a_minute_and_a_reload_storm_builds_it_once(served: Served) -> None:
    clock = served.services.clock
    assert isinstance(clock, VirtualClock)
    page = get(served.url, {}, token=TOKEN).text
    pager_stress(served.services, NOW - 2 * D, 7, alert=True)  # one more game day, finished meanwhile
    assert get(served.url, {}, token=TOKEN).text == page  # still the page kept
    clock.advance(CACHE_SECONDS + 1)
    assert "3 finished game day(s)" in get(served.url, {}, token=TOKEN).text

    builds: list[float] = []

    def build(now: float, since_days: float) -> bytes:
        builds.append(since_days)
        return b"<p>report</p>"

    storm = ReportPage(TOKEN, build, clock.now)
    environ = {"REQUEST_METHOD": "GET", "QUERY_STRING": f"token={TOKEN}&since=30d"}
    answers: list[list[bytes]] = []

    def reload() -> None:
        answers.append(list(storm(dict(environ), started)))

    threads = [threading.Thread(target=reload) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(answers) == 20 and all(a == [b"<p>report</p>"] for a in answers)
    assert builds == [30.0]  # one build for the storm
    for n in range(20):  # a caller cycling through windows keeps at most a few pages
        storm.page(float(n + 1))
    assert len(storm._pages) <= 8


def test_a_failed_build_is_503_and_no_traceback(served: Served) -> None:
    def broken(now: float, since_days: float) -> bytes:
        raise RuntimeError("database away at /secret/path")

    page = ReportPage(TOKEN, broken, lambda: NOW)
    said: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], *_: object) -> Callable[[bytes], object]:
        said.append(status)
        return lambda _: None

    body = page({"REQUEST_METHOD": "GET", "QUERY_STRING": f"token={TOKEN}"}, start_response)
    assert said == ["503 Service Unavailable"] and b"".join(body) == b"report unavailable"


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="headless Chromium is not installed"
)
def test_chromium_shows_the_served_page_with_its_heat_map_and_no_console_message(
    served: Served, tmp_path: Path
) -> None:
    url = f"{served.url}?token={TOKEN}&since=365d"
    logged = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", url, profile=tmp_path / "p1")
    assert ":CONSOLE" not in logged.stderr, logged.stderr[-2000:]  # no error, no blocked script or asset
    shown = parse(logged.stdout)
    assert shown.scripts == 0
    assert "owned" not in logged.stdout.split("<body")[0]  # the hostile title did not become the title
    assert logged.stdout.count('data-state="verified"') == 1  # T1078, detected in time on 10-28
    assert 'data-technique="T1046" data-state="untested"' in logged.stdout  # the hostile scenario's

    shot = tmp_path / "programme-report.png"
    chromium(f"--screenshot={shot}", url, profile=tmp_path / "p2")
    width, rows, bpp = png_pixels(shot.read_bytes(), 2000)
    colours = {(r[x * bpp], r[x * bpp + 1], r[x * bpp + 2]) for r in rows for x in range(0, width, 4)}
    for state, rgb in (("verified", (0x31, 0xA3, 0x54)), ("untested", (0xDE, 0x2D, 0x26))):
        assert rgb in colours, f"no {state} cell drawn"
    if os.environ.get("SCE_UPDATE_SCREENSHOTS"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)

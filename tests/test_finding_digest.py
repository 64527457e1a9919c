"""The weekly digest of overdue findings: SCE_DIGEST read strictly, the overdue rules, and the posts, on a
virtual clock, by two "replicas" sharing one store (SQLite; PostgreSQL with SCE_TEST_POSTGRES_URL) and the
local Slack-compatible workspace: once per channel and ISO week, nothing where nothing is overdue, at most
20 listed, people's text escaped, and a post Slack refuses (or whose answer is lost) sent once after all.
Expected weeks and times are computed here with datetime, not with the code under test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from databases import POSTGRES_URL, database_url, fresh_postgres_url
from sqlalchemy import Engine
from test_findings_store import finished_gameday

from bot.config import SettingError, Settings
from bot.gameday.findings.digest import DigestError, DigestSlot, overdue, parse_slot, week_of
from bot.gameday.findings.model import Finding, FindingDraft, FindingKind, FindingState
from bot.gameday.findings.recording import FindingFilter
from bot.runtime.service import slack_client
from bot.slack.finding_digest import FindingDigest
from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace
from storage.database import make_engine, migrate
from storage.digest_store import DigestStore
from storage.finding_store import FindingStore

pytestmark = pytest.mark.postgres
KINDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])
DAY = 86400.0


def at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("typed", "slot"),
    [(None, DigestSlot(0, 9, 0)), ("", DigestSlot(0, 9, 0)), ("mon 09:00", DigestSlot(0, 9, 0)),
     ("FRI 16:30", DigestSlot(4, 16, 30)), ("  sun   23:59 ", DigestSlot(6, 23, 59)), ("off", None),
     ("OFF", None)],
)  # fmt: skip
def test_sce_digest_is_read_strictly(typed: str | None, slot: DigestSlot | None) -> None:
    assert parse_slot(typed) == slot


@pytest.mark.parametrize(
    "typed",
    ["monday 09:00", "mon 9:00", "mon 24:00", "mon 09:60", "xyz 09:00", "mon 09:00; rm -rf", "09:00",
     "mon", "mon 09:00 UTC", "mon\x0009:00", "never", "mon 09:00:00"],
)  # fmt: skip
def test_a_bad_sce_digest_is_one_sentence(typed: str) -> None:
    with pytest.raises(DigestError) as caught:
        parse_slot(typed)
    assert str(caught.value).startswith("SCE_DIGEST: ") and "'mon 09:00'" in str(caught.value)
    assert "\x00" not in str(caught.value)
    with pytest.raises(SettingError):
        Settings.from_env({"SCE_DIGEST": typed})


def test_weeks_and_the_overdue_rules() -> None:
    monday = at("2026-03-02 09:00")
    assert week_of(monday) == "2026-W10" and week_of(at("2026-03-08 23:59")) == "2026-W10"
    assert week_of(at("2026-01-01 12:00")) == "2026-W01" and week_of(at("2027-01-01 12:00")) == "2026-W53"

    def finding(**changes: object) -> Finding:
        base = {"number": 1, "gameday": "g", "key": "k", "kind": FindingKind.GAP, "scenario": "s"}
        return Finding(**base, channel="C1", text="t", created_at=monday - 10 * DAY, **changes)  # type: ignore[arg-type]

    assert overdue(finding(due=monday - 1), monday)
    assert not overdue(finding(due=monday + 1), monday)
    assert not overdue(finding(), monday)  # no due date, found 10 days ago
    assert overdue(finding(), monday + 20 * DAY)  # ... and 30 days ago
    assert overdue(finding(state=FindingState.FIXING, due=monday - 1), monday)
    assert not overdue(finding(state=FindingState.FIXED, due=monday - 1), monday)
    assert not overdue(finding(state=FindingState.VERIFIED, due=monday - 1), monday)
    accepted = finding(state=FindingState.ACCEPTED_RISK, accepted_until=monday + DAY, accepted_reason="r")
    assert not overdue(accepted, monday) and overdue(accepted, monday + 2 * DAY)


@pytest.fixture(params=KINDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    url = (
        fresh_postgres_url(migrated=True) if request.param == "postgres" else database_url("sqlite", tmp_path)
    )
    made = make_engine(url)
    migrate(made)
    return made


class Now:
    def __init__(self, value: float):
        self.value = value

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def workspace() -> Iterator[tuple[LocalWorkspace, Now]]:
    now = Now(0.0)
    ws = LocalWorkspace(signing_secret="s", clock=now, channels={"C1": "drills", "C2": "red-team"}).start()
    yield ws, now
    ws.stop()


def replicas(engine: Engine, ws: LocalWorkspace) -> list[FindingDigest]:
    settings = Settings(slack_bot_token="xoxb-local", slack_api_url=ws.api_url, slack_timeout=1.0)
    return [
        FindingDigest(FindingStore(engine), DigestStore(engine), slack_client(settings), DigestSlot(0, 9, 0))
        for _ in range(2)
    ]


def digests(ws: LocalWorkspace, channel: str) -> list[str]:
    people = WorkspaceClient(ws.base_url)
    try:
        return [
            str(m.get("text")) for m in people.messages(channel) if "Overdue findings" in str(m.get("text"))
        ]
    finally:
        people.close()


def overdue_setup(engine: Engine) -> tuple[list[Finding], float]:
    """C1: a finished game day's five findings, one due long ago, one fixed, 18 more with hostile text;
    C2: a game day whose findings are not due yet. The first Monday 09:00 after they are 30 days old."""
    h, gd = finished_gameday(engine, "C1")
    store = FindingStore(engine)
    found = store.list(FindingFilter(channels=["C1"]), h.clock.now())
    hostile = [
        FindingDraft(gameday=gd, key=f"extra-{n}", kind=FindingKind.GAP, scenario="pager-stress",
                     text=f"<!channel> <https://evil.example|click> &amp; #{n}", due=found[0].created_at)
        for n in range(18)
    ]  # fmt: skip
    store.record(hostile, "C1", found[0].created_at)
    fixed = found[1].model_copy(update={"state": FindingState.FIXED, "fixed_at": h.clock.now(), "version": 2})
    assert store.replace(found[1], fixed)
    _, other = finished_gameday(engine, "C2")
    for finding in store.list(FindingFilter(channels=["C2"]), h.clock.now()):
        later = finding.model_copy(update={"due": h.clock.now() + 400 * DAY, "version": finding.version + 1})
        assert store.replace(finding, later)
    start = datetime.fromtimestamp(found[0].created_at + 31 * DAY, UTC)
    monday = (start + timedelta(days=7 - start.weekday())).replace(hour=9, minute=0, second=0, microsecond=0)
    return store.list(FindingFilter(channels=["C1"]), h.clock.now()), monday.timestamp()


def test_one_digest_per_channel_and_week_across_two_replicas(
    engine: Engine, workspace: tuple[LocalWorkspace, Now]
) -> None:
    ws, now = workspace
    c1, monday = overdue_setup(engine)
    a, b = replicas(engine, ws)
    now.value = monday - 60
    assert a.send_due(monday - 60) == [] and digests(ws, "C1") == []  # not yet
    now.value = monday + 5
    assert a.send_due(monday + 5) == ["C1"]
    assert (
        b.send_due(monday + 5) == [] and b.send_due(monday + 3600) == [] and a.send_due(monday + 7200) == []
    )
    posted = digests(ws, "C1")
    assert len(posted) == 1 and digests(ws, "C2") == []
    text = posted[0]
    overdue_ids = [f.id for f in c1 if f.state is not FindingState.FIXED]
    assert len(overdue_ids) == 22
    assert "(22)" in text and "+2 more" in text
    assert all(f"`{i}`" in text for i in overdue_ids[:20]) and f"`{overdue_ids[20]}`" not in text
    assert f"`{c1[1].id}`" not in text  # the fixed one
    assert "<!channel>" not in text and "<https://evil" not in text and "&lt;!channel&gt;" in text
    assert "&amp;amp;" in text  # people's "&amp;" shows as typed
    assert DigestStore(engine).sent(week_of(monday)) == {"C1"}
    # the next week: again, once
    now.value = monday + 7 * DAY + 1
    assert b.send_due(monday + 7 * DAY + 1) == ["C1"] and a.send_due(monday + 7 * DAY + 2) == []
    assert len(digests(ws, "C1")) == 2
    # a replica down all Monday sends nothing late (the grace is one day)
    assert a.send_due(monday + 14 * DAY + 1.5 * DAY) == []


def test_a_refused_post_is_sent_once_after_all(engine: Engine, workspace: tuple[LocalWorkspace, Now]) -> None:
    ws, now = workspace
    _, monday = overdue_setup(engine)
    a, b = replicas(engine, ws)
    now.value = monday + 5
    ws.web_api.faults.add("chat.postMessage", 500)
    assert a.send_due(monday + 5) == [] and digests(ws, "C1") == []
    assert DigestStore(engine).sent(week_of(monday)) == set()  # given back
    assert a.send_due(monday + 6) == []  # waits for its retry
    assert b.send_due(monday + 6) == ["C1"]  # another replica takes it
    assert len(digests(ws, "C1")) == 1


def test_a_post_whose_answer_was_lost_is_not_posted_twice(
    engine: Engine, workspace: tuple[LocalWorkspace, Now]
) -> None:
    ws, now = workspace
    _, monday = overdue_setup(engine)
    a, _ = replicas(engine, ws)
    now.value = monday + 5
    ws.web_api.faults.add("chat.postMessage", 0, delay=1.6)  # Slack posts it, its answer comes too late
    assert a.send_due(monday + 5) == []
    assert len(digests(ws, "C1")) == 1
    assert a.send_due(monday + 600) == ["C1"]  # found in the channel, not posted again
    assert len(digests(ws, "C1")) == 1
    assert DigestStore(engine).sent(week_of(monday)) == {"C1"}


def test_off_means_no_digest_in_serve() -> None:
    assert Settings.from_env({"SCE_DIGEST": "off"}).digest is None
    assert Settings.from_env({}).digest == DigestSlot(0, 9, 0)

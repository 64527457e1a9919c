"""Shared fixtures: a local workspace on the real clock and the bot, in its own process or in this one."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bot_process import ROOT, SIGNING_SECRET, BotProcess, LiveBot
from inprocess_bot import bot_on

from bot.workspace.client import WorkspaceClient
from bot.workspace.server import LocalWorkspace

RUN_DATA_HOME = tempfile.mkdtemp(prefix="sce-test-data-")
# The longest files (10-40 s each in `make test`), longest first: under `pytest -n 6 --dist loadfile
# --no-loadscope-reorder` (`make test`) each worker takes the next file when it is free, so with these
# started first the workers end close together instead of one waiting on a long file picked up last.
# (Without --no-loadscope-reorder xdist starts with the files of the most tests, whatever their length.)
LONG_FILES = (
    "test_crash_points.py",
    "test_unattended_run.py",
    "test_dependencies_failing.py",
    "test_starter_pack.py",
    "test_replicas.py",
    "test_demo_isolation.py",
    "test_demo.py",
    "test_ticket_webhooks.py",
    "test_grafana_annotations.py",
    "test_e2e_http.py",
    "test_report_page.py",
    "test_faults_e2e.py",
    "test_security_authz.py",
    "test_security_entry.py",
    "test_fuzz_parsers.py",
    "test_panels_drawing.py",
    "test_delivery_failures.py",
    "test_redelivery.py",
    "test_outbound_secrets.py",
    "test_panels_real_prometheus.py",
    "test_e2e_restart.py",
    "test_steady_state_preflight.py",
    "test_regression_runs.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """Never the real home: sce's data folder (the default database, every demo's) is the run's own."""
    os.environ["XDG_DATA_HOME"] = RUN_DATA_HOME


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long files first, in LONG_FILES order; the rest as collected (a stable sort)."""
    rank = {name: index for index, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(RUN_DATA_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """sce's data folder for one test (``XDG_DATA_HOME``/sce): each test starts with none."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    return tmp_path / "data-home" / "sce"


@pytest.fixture
def workspace() -> Iterator[LocalWorkspace]:
    ws = LocalWorkspace(
        signing_secret=SIGNING_SECRET,
        users={"U1": "alice", "U2": "bob", "UFAC": "carol"},
        channels={"C1": "gameday"},
    ).start()
    yield ws
    ws.stop()


@pytest.fixture
def people(workspace: LocalWorkspace) -> Iterator[WorkspaceClient]:
    client = WorkspaceClient(workspace.base_url)
    yield client
    client.close()


@pytest.fixture
def scenarios_dir(tmp_path: Path) -> Path:
    """A scenarios folder of the test's own, starting with the shipped scenarios."""
    folder = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios", folder)
    return folder


@pytest.fixture
def start_bot(
    workspace: LocalWorkspace, scenarios_dir: Path, tmp_path: Path
) -> Iterator[Callable[..., BotProcess]]:
    bots: list[BotProcess] = []
    database_url = f"sqlite:///{tmp_path / 'sce.db'}"

    def start(
        socket_mode: bool = False, database: str | None = None, extra_env: dict[str, str] | None = None
    ) -> BotProcess:
        bot = BotProcess(
            workspace.api_url,
            database or database_url,
            scenarios_dir,
            tmp_path / f"bot{len(bots)}.log",
            socket_mode=socket_mode,
            extra_env=extra_env,
        )
        bots.append(bot)
        bot.start()
        if not socket_mode:
            workspace.request_url = bot.url
        return bot

    yield start
    for bot in bots:
        bot.stop()


@pytest.fixture(params=["http", "socket"])
def live_bot(
    request: pytest.FixtureRequest,
    workspace: LocalWorkspace,
    scenarios_dir: Path,
    tmp_path: Path,
) -> Iterator[LiveBot]:
    """The bot over signed HTTP or over Socket Mode: the same tests must pass over both. It runs in this
    process (its Bolt app behind the same HTTP door, or on the same Socket Mode handler, as `sce serve`'s);
    the process itself is what test_e2e_socket_mode, test_e2e_restart, test_crash_points and start_bot's
    tests are about."""
    with bot_on(
        workspace, tmp_path, scenarios_dir=scenarios_dir, socket_mode=request.param == "socket"
    ) as running:
        yield running

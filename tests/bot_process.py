"""The bot as it runs in production: `sce serve` in its own process, pointed at a local workspace."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol

import requests
from typer.testing import CliRunner

from bot.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SIGNING_SECRET = "test-signing-secret"
SCE = str(Path(sys.executable).with_name("sce"))


TEST_POSTS_PER_SECOND = "1000"
# The status message updated at most every 0.2 s, not 2 s: the tests wait for what it shows (the
# coalescing itself is test_status_line's)
TEST_STATUS_INTERVAL = "0.2s"
TEST_STATUS_PER_MINUTE = "60000"  # the workspace's budget is test_status_line's, not every test's


class LiveBot(Protocol):
    """What the end-to-end tests use of a running bot, in its own process or in this one."""

    @property
    def url(self) -> str: ...

    def sce(self, *args: str) -> subprocess.CompletedProcess[str]: ...

    def debrief_json(self, gameday: str = "latest") -> dict[str, Any]: ...


PORTS_PER_WORKER = 1500
_handed_out = itertools.count()


def free_port() -> int:
    """A free port below Linux's ephemeral range (32768-60999): an outgoing connection of another test
    cannot take it between this look and `sce serve`'s bind, as one did a port the kernel had picked
    (port 0) in a loaded run. Each pytest-xdist worker has a block of its own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    base = 20000 + (int(worker) % 8 if worker.isdigit() else 0) * PORTS_PER_WORKER
    for _ in range(PORTS_PER_WORKER):
        port = base + (os.getpid() + next(_handed_out)) % PORTS_PER_WORKER
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {base}-{base + PORTS_PER_WORKER - 1}")


class BotProcess:
    def __init__(
        self,
        api_url: str,
        database_url: str,
        scenarios_dir: Path,
        log_path: Path,
        socket_mode: bool = False,
        extra_env: dict[str, str] | None = None,
    ):
        self.port = free_port()
        self.log_path = log_path
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-local",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": database_url,
            "SCE_SCENARIOS_DIR": str(scenarios_dir),
            "SCE_ROTATIONS_DIR": str(scenarios_dir.parent / "rotations"),
            "PORT": str(self.port),
            # Slack's pace (1 post a second per channel) is Slack's, not the local workspace's: a test
            # thread of 30 posts would wait 25 s for it. The pacer itself is tested in test_slack_etiquette.
            "SCE_SLACK_POSTS_PER_SECOND": TEST_POSTS_PER_SECOND,
            "SCE_STATUS_INTERVAL": TEST_STATUS_INTERVAL,
            "SCE_STATUS_UPDATES_PER_MINUTE": TEST_STATUS_PER_MINUTE,
            **(extra_env or {}),
        }
        if socket_mode:
            self.env["SLACK_APP_TOKEN"] = "xapp-local"
        else:
            self.env.pop("SLACK_APP_TOKEN", None)
        self.socket_mode = socket_mode
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start(self) -> BotProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child process keeps writing to it
        self.proc = subprocess.Popen(
            [SCE, "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        # In Socket Mode too: the HTTP server (health, hooks) listens before the socket connects, so a
        # process that could not start says why here, and its port is taken before the next one is picked.
        self._wait_healthy()
        return self

    def alive(self) -> bool:
        """True while the process runs; raises with its log once it has exited."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"sce serve exited ({self.proc.returncode}):\n{self.log_tail()}")
        return True

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"sce serve exited early:\n{self.log_path.read_text()}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"sce serve did not become healthy:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last words, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def sce(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run another `sce` command against the same database and scenarios."""
        return subprocess.run(
            [SCE, *args], env=self.env, capture_output=True, text=True, cwd=ROOT, timeout=60
        )

    def debrief_json(self, gameday: str = "latest") -> dict[str, Any]:
        """`sce debrief ID --format json` with this bot's environment, run in this process: the
        command's own code, without the two seconds an interpreter takes to start (tests call it often)."""
        result = CliRunner().invoke(cli, ["debrief", gameday, "--format", "json"], env=self.env)
        assert result.exit_code == 0, (result.stderr, result.exception)
        data: dict[str, Any] = json.loads(result.stdout)
        return data

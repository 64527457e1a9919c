"""The processes a benchmark runs: `sce serve` as in production, the bare Bolt app, and the workspace.

Each runs in its own process on 127.0.0.1, so the load generator (this process) never shares a GIL
with what it measures. Logs go to files in the run folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-local"
SERVE: list[str] | None = None
"""What runs as `sce serve`; None: the installed `sce serve` (``--proposed`` sets bench.proposed_serve)."""
SCRUBBED = ("SLACK_APP_TOKEN", "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "DATABASE_URL", "PORT")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(extra)
    return env


@dataclass
class Proc:
    """A child process, its port (if it serves HTTP) and its log."""

    popen: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def status_kib(self, field: str) -> int:
        """A ``/proc/<pid>/status`` field in KiB (VmRSS: resident now, VmHWM: resident peak)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def rss_mb(self) -> float:
        return self.status_kib("VmRSS") / 1024

    def peak_mb(self) -> float:
        return self.status_kib("VmHWM") / 1024

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def wait_healthy(proc: Proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.log.name}: exited early\n{proc.tail()}")
        try:
            if requests.get(f"http://127.0.0.1:{proc.port}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{proc.log.name}: not healthy within {timeout:g}s\n{proc.tail()}")


def scenarios_dir(run_dir: Path) -> Path:
    """The run's own scenarios: the shipped ones, plus whatever a benchmark writes there."""
    folder = run_dir / "scenarios"
    if not folder.exists():
        shutil.copytree(ROOT / "scenarios", folder)
    return folder


def start_workspace(run_dir: Path, name: str, channels: int, request_urls: list[str]) -> tuple[Proc, str]:
    """The local workspace in its own process; returns it and its base URL."""
    url_file = run_dir / f"{name}.url"
    url_file.unlink(missing_ok=True)
    args = [
        sys.executable,
        "-m",
        "bench.workspace_main",
        "--channels",
        str(channels),
        "--url-file",
        str(url_file),
    ]
    for url in request_urls:
        args += ["--request-url", url]
    proc = Proc(_spawn(args, base_env(), run_dir / f"{name}.log"), run_dir / f"{name}.log")
    deadline = time.monotonic() + 30
    while not url_file.exists():
        if proc.popen.poll() is not None or time.monotonic() > deadline:
            proc.stop()
            raise RuntimeError(f"the workspace did not start\n{proc.tail()}")
        time.sleep(0.05)
    return proc, url_file.read_text().strip()


def start_sce(
    run_dir: Path,
    name: str,
    api_url: str,
    database_url: str,
    port: int | None = None,
    extra_env: dict[str, str] | None = None,
    command: list[str] | None = None,
) -> Proc:
    """`sce serve` in HTTP mode, exactly as the Procfile runs it, against the workspace."""
    port = port or free_port()
    env = base_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=api_url,
        DATABASE_URL=database_url,
        SCE_SCENARIOS_DIR=str(scenarios_dir(run_dir)),
        SCE_ROTATIONS_DIR=str(ROOT / "rotations"),
        PORT=str(port),
        **(extra_env or {}),
    )
    sce = str(Path(sys.executable).with_name("sce"))
    log = run_dir / f"{name}.log"
    proc = Proc(_spawn(command or SERVE or [sce, "serve"], env, log), log, port)
    wait_healthy(proc)
    return proc


def start_bare(run_dir: Path, name: str, api_url: str, port: int | None = None) -> Proc:
    """The floor: a Bolt app that only acknowledges, behind the same waitress server."""
    port = port or free_port()
    env = base_env(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api_url, PORT=str(port)
    )
    log = run_dir / f"{name}.log"
    proc = Proc(_spawn([sys.executable, "-m", "bench.bare_app"], env, log), log, port)
    wait_healthy(proc)
    return proc

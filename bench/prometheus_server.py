"""A real Prometheus (Debian's ``prometheus``, installed by .ci/run) scraping a target the caller controls,
for the tests and `make bench`.

``MetricsTarget`` serves ``/metrics`` in Prometheus' text format from values the caller sets; the
Prometheus scrapes it every 0.5 s into a throw-away folder, on a free port of its own.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

PROMETHEUS = shutil.which("prometheus")


class MetricsTarget:
    """``/metrics`` with gauges the test sets: ``target.values["http_error_ratio"] = 0.002``, labels in the
    key if any (``target.values['beacon{host="web-1"}'] = 1``)."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        target = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                names = sorted({k.split("{", 1)[0] for k in target.values})
                body = "".join(f"# TYPE {n} gauge\n" for n in names)
                body += "".join(f"{k} {v!r}\n" for k, v in sorted(target.values.items()))
                raw = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusServer:
    def __init__(
        self, folder: Path, target: MetricsTarget, rules: str = "", alertmanager: str | None = None
    ) -> None:
        """``rules``: an alerting rule file's text, evaluated every 0.5 s; ``alertmanager``: its address."""
        if PROMETHEUS is None:
            raise RuntimeError(
                "prometheus is not installed (Debian's prometheus package; .ci/run installs it)"
            )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = folder / "prometheus.yml"
        text = (
            "global: {scrape_interval: 500ms, evaluation_interval: 500ms}\n"
            "scrape_configs:\n"
            f"  - job_name: target\n    static_configs: [{{targets: ['{target.address}']}}]\n"
        )
        if rules:
            (folder / "rules.yml").write_text(rules)
            text += f"rule_files: ['{folder / 'rules.yml'}']\n"
        if alertmanager:
            text += f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['{alertmanager}']}}]}}]}}\n"
        config.write_text(text)
        self.log = open(folder / "prometheus.log", "wb")  # noqa: SIM115 - the process writes to it
        self.proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def query(self, promql: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5).json()
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def wait_for(self, promql: str, timeout: float = 30.0) -> None:
        """Until ``promql`` returns data (the target scraped, the value in)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log.name}")
            try:
                if self.query(promql):
                    return
            except (requests.RequestException, KeyError, ValueError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"prometheus had no data for {promql}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class AlertmanagerServer:
    """Debian's Alertmanager, routing every alert at once to one webhook (with a bearer token), alone
    (no cluster), on a free port."""

    def __init__(self, folder: Path, webhook_url: str, token: str) -> None:
        if ALERTMANAGER is None:
            raise RuntimeError(
                "alertmanager is not installed (Debian's prometheus-alertmanager; .ci/run has it)"
            )
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        config = folder / "alertmanager.yml"
        config.write_text(
            "route: {receiver: sce, group_by: ['...'], group_wait: 0s, group_interval: 1s,"
            " repeat_interval: 1h}\n"
            "receivers:\n"
            "  - name: sce\n"
            f"    webhook_configs: [{{url: '{webhook_url}', send_resolved: false,"
            f" http_config: {{authorization: {{credentials: '{token}'}}}}}}]\n"
        )
        self.log = open(folder / "alertmanager.log", "wb")  # noqa: SIM115 - the process writes to it
        self.proc = subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={config}",
                f"--storage.path={folder / 'alertmanager'}",
                f"--web.listen-address={self.address}",
                "--cluster.listen-address=",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"alertmanager exited: {self.log.name}")
            try:
                if requests.get(f"http://{self.address}/-/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError("alertmanager did not become ready")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

"""The probe containers as rendered, run by this machine's own sh and curl where they can be (loopback
only), and the reading of a probe's result from its log and pod status."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator

import pytest
from probe_container import driver, fault, rendered, run_container

from bot.faults.attack_pod import SCRIPTS, read_result
from bot.gameday.ports import Observation

needs_shell = pytest.mark.skipif(
    not (shutil.which("sh") and shutil.which("curl")), reason="needs sh and curl"
)


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts and then says nothing, like a database waiting for a client."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for conn in held:
        conn.close()


def run(probe: str, env: dict[str, str] | None = None, **keys: str) -> str:
    """The probe's pod as the driver renders it, its container command run here."""
    _, pod = rendered(driver(), fault(probe=probe, **keys))
    return run_container(pod, env={"TOKEN_DIR": "/nonexistent", **(env or {})}).stdout


@needs_shell
def test_tcp_connect_reports_allowed_when_the_handshake_succeeds(silent_listener: int) -> None:
    answer = run("tcp-connect", target=f"127.0.0.1:{silent_listener}")
    assert answer == f"SCE-PROBE-RESULT allowed connected to 127.0.0.1:{silent_listener}\n"


@needs_shell
def test_tcp_connect_reports_blocked_when_nothing_answers() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]  # bound, never listening: connections are refused
    answer = run("tcp-connect", target=f"127.0.0.1:{port}")
    assert answer == f"SCE-PROBE-RESULT blocked no TCP connection to 127.0.0.1:{port}\n"
    closed.close()


@needs_shell
@pytest.mark.parametrize("probe", ["sa-token", "credential-read"])
def test_token_probes_report_blocked_when_no_token_is_mounted(probe: str) -> None:
    assert run(probe, secret="db") == "SCE-PROBE-RESULT blocked no service-account token is mounted\n"


def test_every_probe_script_can_report_either_outcome() -> None:
    for script in SCRIPTS.values():
        assert "say allowed" in script and "say blocked" in script


def test_the_last_result_line_wins_and_anything_else_is_ignored() -> None:
    log = "SCE-PROBE-RESULT maybe\nnoise\nSCE-PROBE-RESULT allowed the metadata service answered HTTP 200\n"
    assert read_result({}, log) == Observation("allowed", "the metadata service answered HTTP 200")
    assert read_result({"status": {"phase": "Running"}}, "noise\n") is None
    ended = read_result({"status": {"phase": "Succeeded"}}, "")
    assert ended is not None and ended.outcome == "inconclusive"


@needs_shell
def test_metadata_reports_any_http_answer_as_allowed_and_silence_as_blocked() -> None:
    """The pod as rendered, with its METADATA_URL pointing at a local HTTP server."""
    import http.server

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    answered = run("metadata", env={"METADATA_URL": f"http://127.0.0.1:{server.server_address[1]}/"})
    server.shutdown()
    assert answered == "SCE-PROBE-RESULT allowed the metadata service answered HTTP 501\n"
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    silent = run("metadata", env={"METADATA_URL": f"http://127.0.0.1:{closed.getsockname()[1]}/"})
    closed.close()
    assert silent == "SCE-PROBE-RESULT blocked the metadata service did not answer\n"

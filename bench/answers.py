"""Where the bench's slash commands say `response_url`: a small HTTP server noting when each reply
arrives, so a command answered after an empty ack is timed to its answer too."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Answers:
    """``url(n)`` is command n's response_url; ``arrived[n]`` the perf_counter of its first reply."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        lock = threading.Lock()
        arrived = self.arrived

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                at = time.perf_counter()
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    arrived.setdefault(self.path.rsplit("/", 1)[-1], at)
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (its name)
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="answers", daemon=True)

    def url(self, key: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/answer/{key}"

    def wait_for(self, keys: list[str], seconds: float) -> None:
        """Until every key's reply has arrived, or ``seconds`` passed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and any(k not in self.arrived for k in keys):
            time.sleep(0.05)

    def __enter__(self) -> Answers:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

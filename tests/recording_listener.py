"""A real HTTP listener on a loopback address that records every request it gets (method, path,
headers, body) and answers by path: ``/redirect?to=<url>`` with a 302 to that URL, ``/loop`` with a
302 to itself, anything else with ``status``."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class RecordingListener:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, status: int = 200) -> None:
        self.hits: list[Hit] = []
        self.status = status
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                listener.hits.append(Hit(self.command, self.path, dict(self.headers.items()), body))
                query = parse_qs(urlsplit(self.path).query)
                if urlsplit(self.path).path == "/loop":
                    self.send_response(302)
                    self.send_header("Location", "/loop")
                elif urlsplit(self.path).path == "/redirect" and "to" in query:
                    self.send_response(302)
                    self.send_header("Location", query["to"][0])
                else:
                    self.send_response(listener.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _answer

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET
            daemon_threads = True

        self.server = Server((host, port), Handler)
        self.host = host
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""The local workspace (bot/workspace) in a process of its own, as Slack is to the bot: it serves the
Web API, delivers the bot's own messages back as events, and takes driver calls over HTTP.

With several ``--request-url`` deliveries alternate between them, as a load balancer in front of
replicas would. It writes its base URL to ``--url-file`` once listening; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from bench.procs import SIGNING_SECRET
from bot.workspace.server import LocalWorkspace

USERS = {"U1": "alice", "U2": "bob", "UFAC": "carol"}


def round_robin(workspace: LocalWorkspace, urls: list[str]) -> None:
    """Spread HTTP deliveries over several replicas (the Deliverer itself knows one request_url)."""
    deliverer = workspace.deliverer
    send_http = deliverer._send_http
    turn = itertools.cycle(urls)

    async def alternate(url: str, delivery: Any, retry_num: int) -> Any:
        return await send_http(next(turn), delivery, retry_num)

    setattr(deliverer, "_send_http", alternate)  # noqa: B010 - bench-only wiring, never in the bot


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--request-url", action="append", default=[])
    parser.add_argument("--url-file", type=Path, required=True)
    args = parser.parse_args(argv)
    channels = {f"C{i}": f"gameday-{i}" for i in range(1, args.channels + 1)}
    workspace = LocalWorkspace(
        signing_secret=SIGNING_SECRET, users=USERS, channels=channels, delivery_timeout=10.0
    ).start()
    if args.request_url:
        workspace.request_url = args.request_url[0]
    if len(args.request_url) > 1:
        round_robin(workspace, args.request_url)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    tmp = args.url_file.with_suffix(".tmp")
    tmp.write_text(workspace.base_url)
    tmp.replace(args.url_file)
    while not done.wait(0.5):
        pass
    workspace.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()

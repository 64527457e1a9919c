"""Load on the app: a steady trickle of thread replies, and a bounded burst sent as fast as it goes."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.slack_http import SignedClient, thread_reply

SLACK_EVENTS_PER_SECOND = 30_000 / 3600
"""Slack delivers at most 30,000 events per workspace per hour."""
CHATTER = ("update: checking the IdP logs", "looking at the firewall now", "note: legacy auth still on", "+1")


class Trickle:
    """Thread replies at a fixed rate to the given threads, from a thread of its own, until stopped."""

    def __init__(
        self, client: SignedClient, threads: dict[str, str], per_second: float = SLACK_EVENTS_PER_SECOND
    ):
        self.client = client
        self.threads = list(threads.items())
        self.interval = 1.0 / per_second
        self.sent = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trickle", daemon=True)

    def __enter__(self) -> Trickle:
        if self.threads:
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self.client.close()

    def _run(self) -> None:
        targets = itertools.cycle(self.threads)
        texts = itertools.cycle(CHATTER)
        next_at = time.monotonic()
        while not self._stop.is_set():
            channel, thread_ts = next(targets)
            try:
                status, _ = self.client.send(
                    "events_api", thread_reply(channel, thread_ts, "U1", next(texts))
                )
                self.sent += 1
                self.failed += status != 200
            except OSError:
                self.failed += 1
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))


@dataclass(frozen=True)
class Burst:
    sent: int
    failed: int
    send_seconds: float
    processed: int
    processed_seconds: float

    @property
    def processed_per_second(self) -> float:
        return self.processed / self.processed_seconds if self.processed_seconds else 0.0


def burst(
    client: SignedClient,
    threads: dict[str, str],
    count: int,
    processed: Callable[[], int],
    senders: int = 8,
    timeout: float = 120.0,
    text: str = "note: bench reply {i}",
) -> Burst:
    """Send ``count`` thread replies with ``senders`` connections at once, then wait until
    ``processed()`` reaches ``count`` (or ``timeout``). Times are from the first send."""
    targets = list(threads.items())
    bodies = [thread_reply(*targets[i % len(targets)], "U1", text.format(i=i)) for i in range(count)]
    failed = 0
    lock = threading.Lock()

    def send_slice(start: int) -> None:
        nonlocal failed
        for body in bodies[start::senders]:
            try:
                status, _ = client.send("events_api", body)
                bad = status != 200
            except OSError:
                bad = True
            if bad:
                with lock:
                    failed += 1

    before = processed()
    began = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(send_slice, range(senders)))
    sent_at = time.perf_counter() - began
    deadline = began + timeout
    done = processed() - before
    while done < count and time.perf_counter() < deadline:
        time.sleep(0.01)
        done = processed() - before
    return Burst(count, failed, sent_at, done, time.perf_counter() - began)

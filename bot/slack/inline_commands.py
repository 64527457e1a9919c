"""Slash commands answered in the request's own thread, so an ack goes out the moment it is made.

Bolt (``process_before_response`` off) runs a listener on its executor and looks for the listener's ack
every 10 ms. A `/sce` acked in 1 ms still waited for that look: most acks took 10-11 ms, and one whose
look came late on a busy interpreter took 20. `/sce` acks within ``ANSWER_IN_ACK`` and hands everything
slow to threads of its own (``listeners/commands``), so it can run where the request is: Bolt's
executor here runs a slash command's listener at once, in the calling thread, and Bolt finds the ack
already made. Events and actions still go to the pool and are acked first, as before.

Which request is a command is marked by a global middleware, in the same thread, before Bolt runs the
listener; every request passes through it, so the mark is never a previous request's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_bolt.request.payload_utils import is_slash_command

POOL_THREADS = 5  # Bolt's own default for its listener executor


class _Marks(threading.local):
    command = False


class CommandsInline(Executor):
    """Runs what Bolt hands it for a slash command at once, in the calling thread; the rest on a pool."""

    def __init__(self, pool: Executor | None = None):
        self.pool = pool or ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="bolt-listener")
        self.marks = _Marks()
        self.inline = 0  # commands run in the request's thread

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if not self.marks.command:
            return self.pool.submit(fn, *args, **kwargs)
        self.inline += 1
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # Bolt's own wrapper catches a listener's errors; this is the rest
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait, cancel_futures=cancel_futures)


class MarkCommands(Middleware):
    """Marks, for the executor, whether the request in this thread is a slash command."""

    def __init__(self, executor: CommandsInline):
        self.marks = executor.marks

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        self.marks.command = is_slash_command(req.body)
        return next()


def answer_commands_inline(app: App, executor: CommandsInline) -> None:
    """Install the mark on ``app``, whose listener executor is ``executor``."""
    app.use(MarkCommands(executor))

"""The bot changes this harness proposes, applied as patches so their effect can be measured before they
are made (`python -m bench --proposed`). Bench-only and opt-in: `make bench` never applies them, and
once the bot carries a change, its patch here is to be deleted (they patch private names and break as the
bot moves). None changes what the bot records, only when and how often it does the work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
STATUS_EVERY = 2.0  # seconds: at most one status-message update per game day this often


def _patch(owner: object, name: str, value: object) -> None:
    setattr(owner, name, value)


class StatusRefresher:
    """chat.update of the status message after the transaction, at most every STATUS_EVERY seconds per
    game day, newest state winning; a final (over) status goes out at once."""

    def __init__(self, send: Callable[..., None]):
        self.send = send
        self.pending: dict[str, tuple[Any, ...]] = {}
        self.sent_at: dict[str, float] = {}
        self.cond = threading.Condition()
        threading.Thread(target=self._run, name="status-refresher", daemon=True).start()

    def refresh(self, announcer: Any, record: Any, scenario: Any, state: Any, now: float) -> None:
        key = str(record.thread_ts)
        if state.status.is_over:
            with self.cond:
                self.pending.pop(key, None)
            self.send(announcer, record, scenario, state, now)
            return
        with self.cond:
            self.pending[key] = (announcer, record, scenario, state, now)
            self.cond.notify()

    def _next(self) -> tuple[Any, ...]:
        with self.cond:
            while True:
                now = time.monotonic()
                ready = [k for k in self.pending if self.sent_at.get(k, -1e9) + STATUS_EVERY <= now]
                if ready:
                    self.sent_at[ready[0]] = now
                    return self.pending.pop(ready[0])
                self.cond.wait(0.2 if self.pending else None)

    def _run(self) -> None:
        while True:
            item = self._next()
            try:
                self.send(*item)
            except Exception:
                log.warning("status refresh failed", exc_info=True)


def coalesced_status() -> None:
    from bot.slack.announcer import SlackAnnouncer

    refresher = StatusRefresher(SlackAnnouncer.refresh_status)

    def refresh_status(self: SlackAnnouncer, record: Any, scenario: Any, state: Any, now: float) -> None:
        refresher.refresh(self, record, scenario, state, now)

    _patch(SlackAnnouncer, "refresh_status", refresh_status)


def batched_replies(workers: int = 4) -> None:
    """Thread-reply notes of one game day are queued and written by a worker in one locked transaction
    per batch (each delivery id still recorded with its note), instead of one transaction per reply."""
    import queue

    from bot.gameday.outcome import Outcome
    from bot.gameday.responses import ResponderInput
    from bot.gameday.timeline import Kind

    original = ResponderInput.add_note
    inbox: dict[str, list[tuple[str, str, str, float, str]]] = {}
    ready: queue.Queue[tuple[Any, str]] = queue.Queue()
    lock = threading.Lock()

    def add_note(
        self: Any, gameday_id: str, kind: str, text: str, user: str, at: float, delivery_id: str
    ) -> Any:
        if not delivery_id.startswith("event:"):  # slash commands answer with the outcome: unchanged
            return original(self, gameday_id, kind, text, user, at, delivery_id)
        with lock:
            items = inbox.setdefault(gameday_id, [])
            items.append((kind, text, user, at, delivery_id))
            first = len(items) == 1
        if first:
            ready.put((self, gameday_id))
        return Outcome(True, "queued", gameday_id)

    def work() -> None:
        while True:
            engine, gameday_id = ready.get()
            with lock:
                items = inbox.pop(gameday_id, [])

            def act(
                tx: Any,
                scenario: Any,
                state: Any,
                items: list[tuple[str, str, str, float, str]] = items,
                engine: Any = engine,
            ) -> Any:
                for kind, text, user, at, delivery in items:
                    if not engine._duplicate(tx, delivery):
                        tx.append(Kind.NOTE, at, user, {"kind": kind, "text": text, "step": state.last_step})
                return Outcome(True, f"{len(items)} notes")

            try:
                engine._operate(gameday_id, None, act)
            except Exception:
                log.exception("batch of %d notes for %s failed", len(items), gameday_id)

    for _ in range(workers):
        threading.Thread(target=work, name="reply-batches", daemon=True).start()
    _patch(ResponderInput, "add_note", add_note)


def publish_after_commit() -> None:
    """The end of a game day posts its debrief and uploads two files (six Slack calls, two renders) after
    its commit but still on the timer thread, holding up every other timer; a publisher thread does it."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.slack.announcer import SlackAnnouncer

    publisher = ThreadPoolExecutor(1, thread_name_prefix="publish")
    original = SlackAnnouncer.finished

    def finished(self: SlackAnnouncer, record: Any, debrief: Any, key: str) -> None:
        publisher.submit(original, self, record, debrief, key)

    _patch(SlackAnnouncer, "finished", finished)


def concurrent_timers(workers: int = 4) -> None:
    """On PostgreSQL (row locks per game day) fire the claimed timers of different game days at once,
    each game day's in due order; SQLite has one writer, so it keeps firing one at a time."""
    from collections import defaultdict
    from concurrent.futures import ThreadPoolExecutor

    import bot.timer_service as timer_service
    from bot.gameday.poller import RETRY_AFTER_SECONDS

    original = timer_service.fire_due_timers
    pool = ThreadPoolExecutor(workers, thread_name_prefix="timers")

    def fire_due_timers(store: Any, engine: Any, now: float, limit: int = 50, **kwargs: Any) -> int:
        if (
            getattr(getattr(store, "engine", None), "dialect", None) is None
            or store.engine.dialect.name != "postgresql"
        ):
            return int(original(store, engine, now, limit, **kwargs))
        on_fire = kwargs.get("on_fire")
        groups: dict[str, list[Any]] = defaultdict(list)
        for timer in store.claim_due_timers(now, limit):
            groups[timer.gameday_id].append(timer)

        def run(group: list[Any]) -> int:
            done = 0
            for timer in group:
                if on_fire is not None:
                    on_fire(timer, now)
                try:
                    engine.fire(timer)
                    done += 1
                except Exception:
                    log.exception("timer %s failed", timer.key)
                    store.release_timer(timer.id, now + RETRY_AFTER_SECONDS)
            return done

        return sum(pool.map(run, groups.values()))

    _patch(timer_service, "fire_due_timers", fire_due_timers)


ALL: dict[str, Callable[[], None]] = {
    "status": coalesced_status,
    "reply-batches": batched_replies,
    "publish": publish_after_commit,
    "concurrent-timers": concurrent_timers,
}


def apply(names: list[str] | None = None) -> list[str]:
    chosen = names or list(ALL)
    for name in chosen:
        ALL[name]()
    return chosen

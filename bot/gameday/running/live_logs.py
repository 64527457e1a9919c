"""A live logs step while it runs: a ``LOG_BATCH`` timer every ``every`` seconds reads what the step's
source brought (outside every lock: Loki is asked, Kubernetes re-lists its pods), then, under the game
day's lock, posts one message with the lines that matched (through the outbox, after the commit) and
schedules the next look, until the step's ``for`` has elapsed, the source fails for good, or the game
day ends (``Finishing.after_end``), whichever comes first. A paused game day's logs keep flowing: a pause
holds the steps, not what the systems are doing.

The followings are this process's (threads reading pod logs, a Loki cursor); the timer carries the
step's running totals, so a restarted process opens the source again and goes on counting. A source
that fails is said in the thread in one sentence and recorded, never raised into the engine. Reading
logs changes nothing, so a dry run follows them too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.gameday.live_logs.batching import Batch, Batcher, batch_text
from bot.gameday.live_logs.sources import Following, LogSources, SourceFailed
from bot.gameday.ports import GameDayRecord, GameDayStore, GameDayTx, Timer
from bot.gameday.running.finishing import Finishing
from bot.gameday.running.injects import Injector
from bot.gameday.running.outbox import Payload, PostKind, over
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.scenario.durations import format_duration
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.scenario.model import Scenario
from bot.gameday.scenario.steps import LogsSpec
from bot.gameday.state import GameDayState, Status, fold
from bot.gameday.timeline import Kind

log = logging.getLogger(__name__)
LOG_BATCH = TimerKind.LOG_BATCH
TOTALS = ("seen", "matched", "posted", "dropped")  # dropped: matched, but past the lines a message shows


@dataclass
class _Followed:
    following: Following
    batcher: Batcher
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTALS, 0))


def source_name(spec: LogsSpec) -> str:
    """``kubernetes web app=web`` or ``loki {app="web"}``: what a person recognises."""
    if spec.source == "kubernetes":
        selector = ",".join(f"{key}={value}" for key, value in spec.selector.items())
        container = f" container {spec.container}" if spec.container else ""
        return f"kubernetes {spec.namespace} {selector}{container}"
    return f"loki {spec.query}"


class LiveLogs:
    def __init__(
        self,
        store: GameDayStore,
        sources: LogSources | None,
        clock: Callable[[], float],
        injects: Injector,
        finishing: Finishing,
    ):
        self.store = store
        self.sources = sources
        self.now = clock
        self.injects = injects
        self._open: dict[tuple[str, int], _Followed] = {}
        self._lock = threading.Lock()
        finishing.after_end.append(self._game_day_ended)
        injects.outbox.register("log_batch", PostKind(self._send_batch, None, over))

    def _send_batch(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, payload: Payload, key: str
    ) -> str:
        return self.injects.outbox.announcer.say(record, str(payload["text"]), key)

    # -- the timer ------------------------------------------------------------------------------
    def tick(self, timer: Timer) -> None:
        """Read the source (outside the lock), then record, post and schedule the next look (under it)."""
        gameday_id, index = timer.gameday_id, int(timer.payload["step"])
        record = self.store.get(gameday_id)
        spec = _spec(record, index) if record is not None else None
        followed, failed, opened = None, None, False
        if record is not None and spec is not None and not Status(record.status).is_over:
            followed = self._followed(gameday_id, index)
            if followed is None:
                followed, failed = self._open_source(gameday_id, index, spec, timer.payload)
                opened = followed is not None
            else:
                _poll(followed.following)
        batch = followed.batcher.take() if followed is not None else Batch()
        with self.store.transaction(gameday_id) as tx:
            scenario = cached_scenario(tx.record.scenario_text)
            state = fold(tx.events)
            spec = scenario.steps[index].logs
            if spec is None or state.status.is_over or _stopped(tx, index):
                self._forget(tx, gameday_id, index)  # the end's hook has recorded the stop
            elif failed is not None:
                self._cannot_follow(tx, index, spec, failed)
            elif followed is not None:
                self._record(tx, index, spec, followed, batch, opened, timer.payload)
            tx.complete_timer(timer.id)

    def _open_source(
        self, gameday_id: str, index: int, spec: LogsSpec, payload: dict[str, Any]
    ) -> tuple[_Followed | None, str | None]:
        if self.sources is None:
            return None, "no log sources are configured in this deployment"
        batcher = Batcher(spec.match)
        try:
            following = self.sources.open(gameday_id, spec, batcher)
        except SourceFailed as exc:
            return None, str(exc)
        except Exception as exc:  # an edge that raised what it should have said: said, never raised
            log.exception("opening the log source of %s step %s failed", gameday_id, index)
            return None, f"the log source failed ({type(exc).__name__})"
        followed = _Followed(following, batcher, {name: int(payload.get(name, 0)) for name in TOTALS})
        with self._lock:
            earlier = self._open.pop((gameday_id, index), None)
            self._open[(gameday_id, index)] = followed
        if earlier is not None:  # two looks raced to open it: keep one
            earlier.following.close()
        return followed, None

    def _followed(self, gameday_id: str, index: int) -> _Followed | None:
        with self._lock:
            return self._open.get((gameday_id, index))

    def _record(
        self,
        tx: GameDayTx,
        index: int,
        spec: LogsSpec,
        followed: _Followed,
        batch: Batch,
        opened: bool,
        payload: dict[str, Any],
    ) -> None:
        now, source = self.now(), source_name(spec)
        started_at = float(payload.get("started_at", now))
        if opened:
            again = any(e.kind is Kind.LOGS_FOLLOWING and e.data.get("step") == index for e in tx.events)
            streams = followed.following.streams
            data = {"step": index, "source": spec.source, "streams": streams, "match": spec.match}
            tx.append(Kind.LOGS_FOLLOWING, now, None, data | {"again": again})
            if not again:
                self.injects.say(tx, f"logs:{index}:following", _following_sentence(spec, source, streams))
        for problem in batch.problems:
            tx.append(Kind.LOGS_TROUBLE, now, None, {"step": index, "problem": problem})
            self.injects.say(tx, f"logs:{index}:trouble:{len(tx.events)}", f"Logs from {source}: {problem}")
        totals = followed.totals
        totals["seen"] += batch.seen
        totals["matched"] += batch.matched
        totals["dropped"] += batch.not_shown
        n = int(payload.get("n", 0)) + 1
        if batch.lines:
            text = batch_text(source, batch, spec.match)
            self.injects.outbox.post(tx, f"logs:{index}:batch:{n}", "log_batch", {"text": text})
            totals["posted"] += len(batch.lines)
        deadline = started_at + spec.for_ if spec.for_ is not None else None
        if batch.fatal is not None:
            self._stop(tx, index, spec, batch.fatal, said=batch.fatal in batch.problems)
        elif deadline is not None and now >= deadline:
            self._stop(tx, index, spec, f"its `for:` of {format_duration(spec.for_ or 0)} is over")
        else:
            due = now + spec.every if deadline is None else min(now + spec.every, deadline)
            body = {"step": index, "started_at": started_at, "n": n, **totals}
            self.injects.schedule(tx, f"logs:{index}:{n}", due, LOG_BATCH, body)

    def _cannot_follow(self, tx: GameDayTx, index: int, spec: LogsSpec, problem: str) -> None:
        now = self.now()
        tx.append(Kind.LOGS_TROUBLE, now, None, {"step": index, "problem": problem})
        data = {"step": index, "why": problem, **dict.fromkeys(TOTALS, 0)}
        tx.append(Kind.LOGS_STOPPED, now, None, data)
        said = f"Cannot follow logs from {source_name(spec)}: {problem.rstrip('.')}."
        self.injects.say(tx, f"logs:{index}:stopped", said)

    def _stop(self, tx: GameDayTx, index: int, spec: LogsSpec, why: str, said: bool = False) -> None:
        """Record the end of following (its totals) and say it, then close the source after the commit."""
        followed = self._forget(tx, tx.record.id, index)
        totals = followed.totals if followed is not None else dict.fromkeys(TOTALS, 0)
        tx.append(Kind.LOGS_STOPPED, self.now(), None, {"step": index, "why": why, **totals})
        counts = f"{totals['seen']} lines read, {totals['matched']} matched, {totals['posted']} posted" + (
            f", {totals['dropped']} not shown" if totals["dropped"] else ""
        )
        reason = "the source failed" if said else why.rstrip(".")
        self.injects.say(
            tx,
            f"logs:{index}:stopped",
            f"Stopped following logs from {source_name(spec)}: {reason} ({counts}).",
        )

    def _forget(self, tx: GameDayTx, gameday_id: str, index: int) -> _Followed | None:
        with self._lock:
            followed = self._open.pop((gameday_id, index), None)
        if followed is not None:
            tx.after_commit(followed.following.close)  # connections close after the lock is let go
        return followed

    # -- the end --------------------------------------------------------------------------------
    def _game_day_ended(self, tx: GameDayTx, scenario: Scenario, ended_at: float) -> None:
        """Every live logs step still followed stops with its game day (recorded, not said: the debrief
        comes next)."""
        status = fold(tx.events).status
        why = "the game day was aborted" if status is Status.ABORTED else "the game day ended"
        following = {
            int(e.data["step"]) for e in tx.events if e.kind is Kind.LOGS_FOLLOWING and "step" in e.data
        }
        with self._lock:
            following |= {index for (gameday_id, index) in self._open if gameday_id == tx.record.id}
        for index in sorted(following):
            if _stopped(tx, index):
                continue
            followed = self._forget(tx, tx.record.id, index)
            totals = followed.totals if followed is not None else dict.fromkeys(TOTALS, 0)
            if followed is not None:  # what came in since the last look is counted, not posted
                last = followed.batcher.take()
                totals = {
                    **totals,
                    "seen": totals["seen"] + last.seen,
                    "matched": totals["matched"] + last.matched,
                    "dropped": totals["dropped"] + len(last.lines) + last.not_shown,
                }
            data = {"step": index, "why": why, **totals}
            tx.append(Kind.LOGS_STOPPED, ended_at, None, data)

    def close(self) -> None:
        """Process shutdown: close every following (its threads end, its connections close)."""
        with self._lock:
            followed, self._open = list(self._open.values()), {}
        for each in followed:
            each.following.close()

    def seen(self, gameday_id: str, index: int) -> int:
        """Lines this process has read for a step so far, the interval not yet posted included."""
        with self._lock:
            followed = self._open.get((gameday_id, index))
        return followed.totals["seen"] + followed.batcher.seen() if followed is not None else 0

    @property
    def following_count(self) -> int:
        with self._lock:
            return len(self._open)


def _spec(record: GameDayRecord, index: int) -> LogsSpec | None:
    steps = cached_scenario(record.scenario_text).steps
    return steps[index].logs if 0 <= index < len(steps) else None


def _stopped(tx: GameDayTx, index: int) -> bool:
    return any(e.kind is Kind.LOGS_STOPPED and e.data.get("step") == index for e in tx.events)


def _poll(following: Following) -> None:
    try:
        following.poll()
    except Exception:  # a poll says its own trouble; one that raised anyway is logged, not raised
        log.exception("polling a log source failed")


def _following_sentence(spec: LogsSpec, source: str, streams: list[str]) -> str:
    if spec.source == "kubernetes":
        shown = ", ".join(streams[:10]) + (f" and {len(streams) - 10} more" if len(streams) > 10 else "")
        what = f"{len(streams)} pod{'s' if len(streams) != 1 else ''}" + (f" ({shown})" if streams else "")
    else:
        what = "the query"
    matching = " lines matching `" + spec.match.replace("`", "'") + "`," if spec.match else ""
    until = f" for {format_duration(spec.for_)}" if spec.for_ is not None else " until the game day ends"
    return (
        f"Following logs from {source}: {what},{matching} one message every "
        f"{format_duration(spec.every)}{until}."
    )

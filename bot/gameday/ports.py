"""What the core needs from the edges: a store, an announcer (Slack) and a fault driver.

The core only sees these protocols; storage/, bot/slack/ and bot/faults/ implement them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.gameday.measuring.report_models import Debrief
from bot.gameday.running.timer_types import DeliveryDelay, TimerKind
from bot.gameday.scenario.model import FaultSpec, PageSpec, Scenario
from bot.gameday.state import GameDayState, HandoffState, PageState
from bot.gameday.timeline import Event, Kind

log = logging.getLogger(__name__)


class StoreUnavailable(RuntimeError):
    """The database did not answer (restarting, network); the operation may be tried again."""


@dataclass
class GameDayRecord:
    """The row behind a game day: what it runs and where; its state lives in the timeline."""

    id: str
    scenario_id: str
    scenario_text: str
    scenario_hash: str
    channel: str
    started_by: str
    roster: dict[str, str]
    created_at: float
    status: str = "running"
    thread_ts: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class Timer:
    id: int
    gameday_id: str
    key: str
    due_at: float
    kind: TimerKind
    payload: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1


class GameDayTx(Protocol):
    """One locked unit of work on one game day; everything in it commits together or not at all."""

    record: GameDayRecord

    @property
    def events(self) -> list[Event]: ...

    def append(
        self, kind: Kind, at: float, actor: str | None = None, data: dict[str, Any] | None = None
    ) -> Event: ...

    def schedule(
        self, key: str, due_at: float, kind: TimerKind, payload: dict[str, Any] | None = None
    ) -> bool:
        """Create a durable timer; a key that exists already is left as it is (returns False)."""
        ...

    def schedule_claimed(
        self, key: str, due_at: float, kind: TimerKind, payload: dict[str, Any] | None = None
    ) -> Timer | None:
        """Create a durable timer already claimed, as the poller would claim it, by the thread that
        commits this transaction: it runs it right after the commit, and no poller races it for it. A
        claim left by a process that dies is taken back like any other (reset_stale_timers). None when
        the key exists already."""
        ...

    def earlier_post_due(self, timer_id: int) -> float | None:
        """As the store's, for this game day, read in this transaction: under its lock no older post
        can be completed before the commit, so None means none will be owed then either."""
        ...

    def complete_timer(self, timer_id: int) -> None: ...

    def cancel_pending_timers(self) -> None: ...

    def hold_pending_timers(self, kinds: frozenset[TimerKind]) -> None:
        """Pause: pending timers of these kinds stop being due until released."""
        ...

    def release_held_timers(self, shift: float) -> list[float]:
        """Resume: held timers become pending again, ``shift`` seconds later; returns their new due times."""
        ...

    def seen_delivery(self, delivery_id: str) -> bool: ...

    def seen_deliveries(self, delivery_ids: Sequence[str]) -> set[str]:
        """Which of these deliveries were recorded already (one look for a whole batch)."""
        ...

    def record_delivery(self, delivery_id: str) -> None: ...

    def index_message(self, target_id: str, channel: str, message_ts: str) -> None:
        """Remember which page or handoff a Slack message stands for (reactions and buttons)."""
        ...

    def after_commit(self, call: Callable[[], None]) -> None:
        """Run ``call`` once this transaction has committed; never if it rolls back. A call that fails
        is logged: what committed stays committed."""
        ...


def run_after_commit(calls: list[Callable[[], None]]) -> None:
    """The stores' end of ``GameDayTx.after_commit``: each call in order, a failure logged, never raised."""
    for call in calls:
        try:
            call()
        except Exception:
            log.warning("a call after commit failed", exc_info=True)


class GameDayStore(Protocol):
    def create(self, record: GameDayRecord) -> None: ...

    def transaction(self, gameday_id: str) -> AbstractContextManager[GameDayTx]: ...

    def transactions(self, gameday_ids: Sequence[str]) -> AbstractContextManager[Mapping[str, GameDayTx]]:
        """Several game days locked (in one order for every process) and committed together: the
        inbox's batches across game days pay for one commit."""
        ...

    def get(self, gameday_id: str) -> GameDayRecord | None: ...

    def events(self, gameday_id: str) -> list[Event]: ...

    def peek(self, gameday_id: str) -> tuple[GameDayRecord, list[Event]] | None:
        """The game day as this process last committed it, without asking the database (None when it
        has not): it may be behind other threads' and replicas' commits. For work a locked
        transaction checks again (the outbox's sender, ``bot/gameday/running/outbox``)."""
        ...

    def find_by_thread(self, channel: str, thread_ts: str) -> str | None: ...

    def known_thread(self, channel: str, thread_ts: str) -> str | None:
        """The game day of a thread already looked up in this process, without asking the database."""
        ...

    def find_target(self, channel: str, message_ts: str) -> tuple[str, str] | None:
        """(game day id, page or handoff id) of an indexed message."""
        ...

    def active_in_channel(self, channel: str) -> list[GameDayRecord]: ...

    def active(self) -> list[GameDayRecord]:
        """Every game day not over yet (awaiting approval, running, paused), oldest first."""
        ...

    def latest(self) -> GameDayRecord | None: ...

    def all(self) -> list[GameDayRecord]:
        """Every game day, oldest first."""
        ...

    def run_summaries(
        self, scenario_id: str | None, channel: str | None = None
    ) -> list[tuple[str, dict[str, Any] | None]]:
        """(id, stored summary) of every finished run of a scenario (of every scenario: None); None for
        a summary missing, computed from a shorter timeline than the game day has now, or kept before
        it had the programme report's ``detected`` and ``dry_run``. A summary names its ``scenario``
        and the game day's ``created_at``."""
        ...

    def save_run_summaries(self, summaries: Mapping[str, tuple[int, dict[str, Any]]]) -> None:
        """Keep summaries: id -> (the timeline length it was computed from, the summary). Best effort:
        a store that cannot write them now computes them again next time."""
        ...

    def claim_due_timers(self, now: float, limit: int = 50) -> list[Timer]: ...

    def release_timer(self, timer_id: int, retry_at: float) -> None: ...

    def defer_timer(self, timer_id: int, due_at: float) -> None:
        """Put a claimed timer back, due at ``due_at``, as if it had not been tried (its turn is not
        yet: an earlier post of its game day is still owed)."""
        ...

    def earlier_post_due(self, gameday_id: str, timer_id: int) -> float | None:
        """When the earliest of this game day's posts older than ``timer_id`` still owed (pending or
        being sent) is due; None when every older post is out."""
        ...

    def next_due_at(self) -> float | None: ...

    def renew_claims(self, timer_ids: list[int]) -> None:
        """These claimed timers are still this process's (waiting their turn or running): their claims
        are not stale, however old."""
        ...

    def reset_stale_timers(self, min_age: float = 10.0) -> int:
        """Timers left 'firing' by a crashed process go back to 'pending'; returns how many."""
        ...


class Announcer(Protocol):
    """Everything a person sees of a game day; returns Slack ts of what it posts.

    Posts that stand for a step carry ``key``; ``find_posted`` finds such a post again, so a step
    replayed after a crash reuses its message instead of posting twice.
    """

    def find_posted(self, record: GameDayRecord, key: str) -> str | None: ...

    def kickoff(self, record: GameDayRecord, scenario: Scenario) -> str: ...

    def refresh_status(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, now: float, version: int
    ) -> None:
        """Show this state on the status message. ``version``: how many events it folds; a state
        older than one already shown or waiting is dropped, whatever order the calls come in."""
        ...

    def page(self, record: GameDayRecord, page_id: str, spec: PageSpec, responder: str, key: str) -> str: ...

    def page_outbound(self, record: GameDayRecord, page_id: str, spec: PageSpec) -> list[dict[str, object]]:
        """What a page sends beyond Slack (a PagerDuty event), as a dry run shows it: method, url,
        headers, body, secrets as references. Empty when a page goes to Slack only."""
        ...

    def escalation(self, record: GameDayRecord, page: PageState, to: str, key: str) -> str: ...

    def say(self, record: GameDayRecord, text: str, key: str) -> str: ...

    def delivery_delayed(self, record: GameDayRecord, delays: Sequence[DeliveryDelay], key: str) -> str:
        """Tell the facilitator, in the thread, which posts Slack kept failing, after how many attempts,
        and whether each went out at last or is still retried."""
        ...

    def role(self, record: GameDayRecord, role: str, user: str, key: str) -> str:
        """``user`` (a Slack user id) now holds ``role``: said with a real mention."""
        ...

    def handoff(
        self, record: GameDayRecord, handoff_id: str, from_user: str | None, to_user: str, key: str
    ) -> str: ...

    def acknowledged(self, record: GameDayRecord, who: str, what: str, seconds: float | None) -> None: ...

    def page_taken(self, record: GameDayRecord, page: PageState, by: str, seconds: float) -> None:
        """Show on the page's own messages (the page, its escalation) who acknowledged it and after how
        long, without the buttons that no longer apply."""
        ...

    def handoff_taken(self, record: GameDayRecord, handoff: HandoffState, by: str, seconds: float) -> None:
        """Show on the handoff's message who took it over and after how long, without its button."""
        ...

    def noted(self, record: GameDayRecord, message_ts: str, kind: str) -> None:
        """Mark a message recorded for the debrief (a ``gap:`` or ``note:`` reply) with a reaction."""
        ...

    def fault(
        self, record: GameDayRecord, spec: FaultSpec, verb: str, detail: str, key: str | None = None
    ) -> str: ...

    def finished(self, record: GameDayRecord, debrief: Debrief, key: str) -> None:
        """Post the debrief (its message tagged with ``key``, so a replay can find it) and its files."""
        ...


class FaultRejected(ValueError):
    """A driver refused a fault before changing anything (not allowed there, or a bad spec).

    Retrying cannot help: the engine announces the sentence and moves on.
    """


@dataclass(frozen=True)
class Observation:
    """What a probe saw: whether the control under test blocked it, in one sentence of detail.

    ``inconclusive`` means the probe ended without reporting (crashed, evicted, timed out).
    """

    outcome: Literal["blocked", "allowed", "inconclusive"]
    detail: str


class FaultDriver(Protocol):
    """Turns a fault spec into changes to a system, and undoes them.

    Every change carries the game day, the fault and an expiry, so ``revert`` and the reaper find it
    again from the system itself, without any memory of the process that made it.
    """

    name: str
    probes: bool  # whether ``observe`` can ever read an outcome (a probe pod): if not, nobody polls it

    def plan(
        self, gameday_id: str, fault_id: str, spec: FaultSpec, expires_at: float
    ) -> list[dict[str, Any]]:
        """The API calls ``apply`` would make, manifests included, for dry runs; changes nothing."""
        ...

    def apply(self, gameday_id: str, fault_id: str, spec: FaultSpec, expires_at: float) -> str:
        """Apply the fault and return a sentence describing what was done."""
        ...

    def observe(self, gameday_id: str, fault_id: str) -> Observation | None:
        """A probe's outcome once it has one; None when the fault has no probe or it has not reported."""
        ...

    def revert(self, gameday_id: str, fault_id: str) -> str:
        """Undo the fault; idempotent (reverting twice, or something already gone, is not an error)."""
        ...


class FaultRouter(Protocol):
    """Which driver runs a fault type, and which one a recorded fault belongs to."""

    def driver_for(self, spec_type: str) -> FaultDriver:
        """Raises FaultRejected for a type no driver knows."""
        ...

    def named(self, name: str) -> FaultDriver: ...


class SingleDriver:
    """A router with one driver for everything (the simulated driver in core tests)."""

    def __init__(self, driver: FaultDriver):
        self.driver = driver

    def driver_for(self, spec_type: str) -> FaultDriver:
        return self.driver

    def named(self, name: str) -> FaultDriver:
        return self.driver

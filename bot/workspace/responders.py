"""Scripted people for the local workspace: they answer the bot's messages at chosen Slack times.

A cue's action carries the exact ts it was scripted for (reference message ts + delay), so the
debrief's TTA equals the scripted delay however busy the machine is.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import BaseModel, ConfigDict

from bot.gameday.clock import Clock
from bot.gameday.scenario.durations import parse_duration
from bot.workspace.client import WorkspaceClient, WorkspaceClientError

log = logging.getLogger(__name__)
SCRIPTS = Path(__file__).resolve().parent / "scripts"
SAME_TS_TRIES = 20  # a reply's ts moved on by a microsecond at a time while the bot's posts hold it
COMMAND_RETRY = 15.0  # seconds (the bot's clock) before a refused `/sce next` is typed again


class Cue(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    who: str
    when: str  # page:<id>, escalation:<id>, handoff:<id>, or start (the kickoff message)
    from_: str | None = None
    after: float
    reply: str | None = None
    click: str | None = None
    react: str | None = None
    command: str | None = None  # a slash command such as "next" (tabletop): on the bot's clock, no ts

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Cue:
        data = dict(raw)
        if "from" in data:
            data["from_"] = data.pop("from")
        data["after"] = parse_duration(data["after"])
        return cls.model_validate(data)


@dataclass(frozen=True)
class Script:
    people: dict[str, str]
    cues: list[Cue]


def load_script(scenario_id: str) -> Script | None:
    """The hand-written script of a scenario in ``scripts/``, or None (see ``default_script``)."""
    path = SCRIPTS / f"{scenario_id}.yaml"
    if not path.exists():
        return None
    raw = yaml.safe_load(path.read_text())
    return Script(dict(raw.get("people", {})), [Cue.parse(c) for c in raw.get("cues", [])])


@dataclass
class Performed:
    who: str
    what: str
    at: float
    cue: Cue


class Responders:
    """Plays a script against one game-day thread, from its own thread."""

    def __init__(
        self,
        workspace: WorkspaceClient,
        clock: Clock,
        channel: str,
        thread_ts: str,
        script: Script,
        users: dict[str, str],
    ):
        self.ws = workspace
        self.clock = clock
        self.channel = channel
        self.thread_ts = thread_ts
        self.script = script
        self.users = users  # role -> user id
        self.performed: list[Performed] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending = list(script.cues)
        self._retry_at: dict[int, float] = {}  # a `/sce next` refused while a log streams is typed again
        self._thread = threading.Thread(target=self._run, name="responders", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _markers(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {"start": {"ts": self.thread_ts}}  # the kickoff message
        for message in self.ws.messages(self.channel, thread_ts=self.thread_ts):
            for block in message.get("blocks") or []:
                block_id = block.get("block_id") or ""
                if block.get("type") in ("actions", "section") and ":" in block_id:  # a taken handoff
                    found.setdefault(block_id, message)
        return found

    def _due(self, markers: dict[str, dict[str, Any]]) -> list[tuple[Cue, float]]:
        """The pending cues whose messages are there, each with the time it acts at."""
        due = []
        for cue in self._pending:
            trigger = markers.get(cue.when)
            reference = markers.get(cue.from_ or cue.when)
            if trigger is not None and reference is not None:
                due.append((cue, max(float(reference["ts"]) + cue.after, self._retry_at.get(id(cue), 0.0))))
        return due

    def next_due_at(self) -> float | None:
        """When the next cue whose message is there acts (the demo's fast clock jumps to it)."""
        with self._lock:
            times = [at for _, at in self._due(self._markers())]
        return min(times, default=None)

    def _run(self) -> None:
        while self._pending and not self._stop.is_set():
            with self._lock:  # a cue due now stays in _pending until performed: next_due_at sees it
                markers = self._markers()
                now = self.clock.now()
                for cue, at in self._due(markers):
                    if now < at:
                        continue
                    trigger = markers[cue.when]
                    if self._perform(cue, _target(cue, trigger, markers[cue.from_ or cue.when]), at):
                        self._pending.remove(cue)
                    else:
                        self._retry_at[id(cue)] = now + COMMAND_RETRY
            time.sleep(0.02)

    def _perform(self, cue: Cue, message: dict[str, Any], at: float) -> bool:
        """Act out one cue; False when it is to be tried again (a step still streaming its log)."""
        user = self.users[cue.who]
        ts = f"{at:.6f}"
        if cue.command is not None:
            answer = self.ws.slash(user, "/sce", cue.command, channel=self.channel)
            if "still streaming" in str(answer.get("text") or ""):
                return False
            what = f"types /sce {cue.command}"
        elif cue.reply is not None:
            self._reply(user, cue.reply, at)
            what = f"replies {cue.reply!r}"
        elif cue.click is not None:
            self.ws.click(
                user,
                self.channel,
                message["ts"],
                cue.click,
                value=_button_value(message, cue.click),
                action_ts=ts,
            )
            what = f"clicks {cue.click}"
        else:
            self.ws.react(user, self.channel, message["ts"], cue.react or "eyes", event_ts=ts)
            what = f"reacts :{cue.react}:"
        self.performed.append(Performed(user, what, at, cue))
        return True

    def _reply(self, user: str, text: str, at: float) -> None:
        """Post at the scripted ts, or a microsecond or so later when a message of the bot's holds that ts
        (on the demo's fast clock both come due at the same instant)."""
        micros = round(at * 1_000_000)
        for later in range(SAME_TS_TRIES):
            try:
                ts = f"{(micros + later) / 1_000_000:.6f}"
                self.ws.post(user, self.channel, text, thread_ts=self.thread_ts, ts=ts)
                return
            except WorkspaceClientError as exc:
                if exc.status != 409 or later == SAME_TS_TRIES - 1:
                    raise


def _target(cue: Cue, trigger: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """The message a click lands on: the reference message when it has that button, else the trigger."""
    if cue.click and _button_value(reference, cue.click) is not None:
        return reference
    return trigger


def _button_value(message: dict[str, Any], action_id: str) -> str | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return cast("str | None", element.get("value"))  # Block Kit button values are strings
    return None

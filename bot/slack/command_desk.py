"""What each `/sce` command does: look up the game day, call one engine function, word the reply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.debrief.history import render_history
from bot.gameday.findings.loop import learning_loop
from bot.gameday.findings.recording import FindingFilter
from bot.gameday.measuring.redaction import redact
from bot.gameday.measuring.trends import finished_summaries
from bot.gameday.measuring.trends import history as history_rows
from bot.gameday.people.mentions import literal, user_id_from
from bot.gameday.people.roster import RosterError
from bot.gameday.people.rotation import RotationError, on_call, parse_rotation
from bot.gameday.people.visibility import unseen_gameday
from bot.gameday.ports import GameDayRecord
from bot.gameday.preflight import passed, veto
from bot.gameday.running.commands import USAGE, Command, typed_id
from bot.gameday.running.recurrence import Recurrence
from bot.gameday.running.schedule import (
    COMMS_REMIND_KEY,
    ScheduleError,
    Slot,
    clashing,
    next_event_at,
    parse_schedule,
    reminder_offsets,
)
from bot.gameday.scenario.catalog import UnknownScenario
from bot.gameday.scenario.durations import format_duration
from bot.gameday.scenario.guardrails import facilitator_refusal
from bot.gameday.scenario.loading import ScenarioError
from bot.gameday.scenario.model import Guardrails
from bot.gameday.scenario.window import window_refusal
from bot.gameday.state import Status, fold
from bot.gameday.timeline import Kind
from bot.runtime.service import Services
from bot.slack.comms import announcement
from bot.slack.debrief_pages import current_debrief
from bot.slack.findings_desk import FindingsDesk
from bot.slack.halt_desk import HaltDesk
from bot.slack.oncall_lookup import roster_for
from bot.slack.render import render
from bot.slack.standing_desk import StandingDesk
from storage.finding_store import FindingStore
from storage.schedule_store import Schedule


@dataclass(frozen=True)
class Invocation:
    command: Command
    user: str
    channel: str
    trigger_id: str


@dataclass(frozen=True)
class PreparedStart:
    """A start that passed every check and only waits for the ack to be sent."""

    run: Callable[[], str]


@dataclass(frozen=True)
class AnswerThen:
    """An answer for the ack, and slow work that follows it (a chart to upload)."""

    text: str
    then: Callable[[], None]


class CommandDesk:
    def __init__(self, services: Services):
        self.s = services

    def handle(self, inv: Invocation) -> str | PreparedStart | AnswerThen:
        name = inv.command.name
        refusal = facilitator_refusal(name, inv.user, self.s.settings.facilitators)
        if refusal:
            return refusal
        if name == "help":
            return render("help", usages=list(USAGE.values()))
        if name == "list":
            return self.list_scenarios()
        if name == "oncall":
            return self.oncall(inv)
        if name == "schedule":
            return self.schedule(inv)
        if name == "history":
            return self.history(inv)
        if name == "start":
            return self.prepare_start(inv)
        if name == "debrief":
            return self.debrief_command(inv)
        if name == "findings":
            return FindingsDesk(self.s).findings(inv.command, inv.user, inv.channel)
        if name == "fixed":
            return FindingsDesk(self.s).fixed(inv.command, inv.user, inv.channel)
        if name == "ticket":
            return FindingsDesk(self.s).ticket(inv.command, inv.user, inv.channel)
        if name == "halt":
            return HaltDesk(self.s).halt(inv.user, inv.command.rest)
        if name == "unhalt":
            return HaltDesk(self.s).unhalt(inv.user)
        if name == "approve-standing":
            return StandingDesk(self.s).approve(inv.command, inv.user, inv.channel)
        if name == "revoke-standing":
            return StandingDesk(self.s).revoke(inv.command, inv.user, inv.channel)
        record = self._current(inv.channel)
        answer = (
            "No game day is running in this channel. Start one with `/sce start <scenario>`."
            if record is None
            else self._on_gameday(inv, record)
        )
        halted = HaltDesk(self.s).status_line() if name == "status" else None
        return f"{halted}\n{answer}" if halted else answer

    def _on_gameday(self, inv: Invocation, record: GameDayRecord) -> str:
        engine, now, name = self.s.engine, self.s.clock.now(), inv.command.name
        delivery = f"command:{inv.trigger_id}"
        if name == "status":  # the folded timeline says it all: no debrief to build
            state = fold(self.s.store.events(record.id))
            return (
                f"`{record.id}` ({record.scenario_id}): {state.status}, {len(state.pages)} page(s), "
                f"{len(state.open_pages())} unacknowledged."
            )
        if name == "end":
            return engine.end(record.id, inv.user).message
        if name == "abort":
            return engine.abort(record.id, inv.user, inv.command.rest).message
        if name in ("note", "gap"):
            text = inv.command.rest.strip()  # already the words after the subcommand
            return engine.add_note(record.id, name, text, inv.user, now, delivery).message
        if name == "detected":
            return engine.mark(record.id, Kind.DETECTED, inv.user, now, delivery, source="command").message
        if name == "contain":
            return engine.mark(record.id, Kind.CONTAINED, inv.user, now, delivery, source="command").message
        if name == "pause":
            return engine.pause(record.id, inv.user).message
        if name == "resume":
            return engine.resume(record.id, inv.user).message
        if name == "next":
            return engine.next_step(record.id, inv.user).message
        if name == "role":
            role, who = inv.command.args[0].lower(), user_id_from(inv.command.args[1])
            if who is None:
                return f"`{literal(inv.command.args[1])}` is not a Slack user; type @ and pick the person."
            return engine.assign_role(record.id, role, who, inv.user, now, delivery).message
        return f"`/sce {name}` is not available yet. Try `/sce help`."

    def list_scenarios(self) -> str:
        loaded, errors = self.s.catalog.load_all()
        return render("list", scenarios=[item.scenario for item in loaded], errors=[str(e) for e in errors])

    def prepare_start(self, inv: Invocation) -> str | PreparedStart:
        scenario_id = inv.command.args[0]
        halted = HaltDesk(self.s).status_line()
        if halted:  # asked at once; the engine asks again as it starts (a halt pulled in between)
            return halted
        running = self._current(inv.channel)
        if running is not None:
            return (
                f"Game day `{running.id}` ({running.scenario_id}) is still {running.status} in this channel; "
                "`/sce end` or `/sce abort` it first, or start the new one in another channel."
            )
        try:
            loaded = self.s.catalog.load_file(scenario_id)  # its attachments are read after the ack
            options = inv.command.options
            roster = roster_for(
                self.s.client,
                self.s.rotations,
                loaded.scenario,
                options,
                self.s.clock.now(),
                self.s.pagerduty_schedule,
            )
        except UnknownScenario as exc:
            return str(exc)  # its sentence shows the id typed literally already
        except (RosterError, ScenarioError, RotationError) as exc:  # they may quote the scenario's text
            return literal(redact(str(exc)))
        dry_run = "dry-run" in inv.command.flags
        rehearsal = dry_run or loaded.scenario.guardrails.dry_run  # changes nothing: no window holds it
        outside = None if rehearsal else window_refusal(loaded.scenario.window, self.s.clock.now())
        if outside:  # an answer at once; the engine asks again as it starts
            return outside

        def run() -> str:
            try:
                complete = self.s.catalog.attach(loaded)
            except ScenarioError as exc:  # it may quote the scenario's text
                return literal(redact(str(exc)))
            checks = self.s.start_checks(complete.scenario, inv.channel, dry_run)
            if not passed(checks):  # nothing is started, so nothing needs undoing
                return literal(redact(veto(checks)))
            outcome = self.s.engine.start(complete.text, inv.channel, inv.user, roster, dry_run=dry_run)
            return outcome.message

        return PreparedStart(run)

    def schedule(self, inv: Invocation) -> str | AnswerThen:
        """`/sce schedule <scenario> <date> <time> ...`, `/sce schedule list`, `/sce schedule cancel <id>`.

        List and cancel see this channel's bookings (admins: every channel's); a booking goes only into
        a channel both the person and the bot are in, and never beside another of that channel.
        """
        args = inv.command.args
        sub = args[0].lower() if args else "list"
        if sub in ("list", "cancel"):
            where = None if self.s.members.is_admin(inv.user) else inv.channel
            if sub == "list":
                return render("schedules", schedules=self.s.schedules.active(where))
            if len(args) < 2:
                return "Which one? `/sce schedule cancel <id>` (ids are in `/sce schedule list`)."
            if self.s.schedules.cancel(typed_id(args[1]), where):
                return f"Schedule `{typed_id(args[1])}` cancelled."
            return f"No active schedule `{literal(args[1])}` here; `/sce schedule list` shows this channel's."
        now = self.s.clock.now()
        try:
            request = parse_schedule(args, inv.command.options, now)
        except ScheduleError as exc:
            return str(exc)
        channel = request.channel or inv.channel
        refusal = self.s.members.booking_refusal(channel, inv.user)
        if refusal:
            return refusal
        try:
            loaded = self.s.catalog.load_file(request.scenario_id)  # attachments are read when it starts
        except (UnknownScenario, ScenarioError) as exc:
            return str(exc)
        outside = window_refusal(loaded.scenario.window, request.first_at)
        if outside:  # refused when booked, not when it comes due
            return outside
        duration = loaded.scenario.guardrails.max_duration
        booked_there = [(b.id, self._slot(b)) for b in self.s.schedules.active(channel)]
        asked = Slot(request.first_at, request.every_seconds, duration, request.recurrence)
        clash = clashing(asked, booked_there, now)
        if clash is not None:
            other, at = clash
            return (
                f"One game day at a time per channel: this booking would run beside `{other}` in "
                f"<#{channel}> (<!date^{int(at)}^{{date_short_pretty}} {{time}}|{int(at)}>); "
                "pick a time after it ends."
            )
        comms = loaded.scenario.comms
        if comms is not None and comms.announce:  # its own reminder, kept with the booking
            request = replace(
                request, options={**request.options, COMMS_REMIND_KEY: str(comms.remind_before)}
            )
        booked = self.s.schedules.create(request, channel, inv.user, now)
        self.s.timers.wake_at(
            next_event_at(booked.next_at, booked.reminders_sent, reminder_offsets(booked.options))
        )
        said = render("schedules", schedules=[booked]) + "\nReminders go to the channel 24 h and 1 h before."
        if comms is None or not comms.announce or self.s.comms is None:
            return said
        poster, scenario = self.s.comms, loaded.scenario

        def announce() -> None:  # after the answer: up to ten channels, each looked up and posted
            text = announcement("booked", scenario, channel, at=booked.next_at)
            missed = poster.announce(comms.announce, f"{booked.id}:booked", now - 60, text)
            for exc in missed:  # told to the person who booked, once, where they booked it
                warning = render("announce_unreachable", shown=exc.ref, why=exc.why)
                self.s.client.chat_postEphemeral(channel=inv.channel, user=inv.user, text=warning)

        ahead = format_duration(comms.remind_before)
        return AnswerThen(
            f"{said} Announced to {', '.join(comms.announce)}, reminded {ahead} before.", announce
        )

    def _slot(self, booked: Schedule) -> Slot:
        """When a booking runs; a scenario that no longer loads counts with the default time box."""
        try:
            duration = self.s.catalog.load_file(booked.scenario_id).scenario.guardrails.max_duration
        except (UnknownScenario, ScenarioError):
            duration = Guardrails().max_duration
        return Slot(booked.next_at, booked.every_seconds, duration, Recurrence.from_options(booked.options))

    def history(self, inv: Invocation) -> str | AnswerThen:
        """This channel's trend as text for the person asking, then the chart uploaded to the channel."""
        if not inv.command.args:
            return "Which scenario? `/sce history <scenario>` (`/sce list` shows them)."
        scenario = inv.command.args[0]
        rows = history_rows(finished_summaries(self.s.store, scenario, channel=inv.channel))
        if not rows:  # only this channel's runs: the chart goes up here, for everyone in it to see
            return f"No finished game day of `{literal(scenario)}` in this channel yet."

        def upload_chart() -> None:
            self.s.announcer.upload(
                inv.channel,
                None,
                f"history-{scenario}.svg",
                render_history(scenario, rows, "svg"),
                f"[GAME DAY] {scenario}: MTTA, TTD and TTC per run",
            )

        of_channel = FindingFilter(scenario=scenario, channels=[inv.channel])  # only this channel's
        findings = FindingStore(self.s.store.engine).list(of_channel, self.s.clock.now())
        loop = learning_loop(scenario, inv.channel, findings)
        return AnswerThen(render_history(scenario, rows, "text", learning_loop=loop), upload_chart)

    def oncall(self, inv: Invocation) -> str:
        rotation_id = inv.command.args[0] if inv.command.args else None
        try:
            text = self.s.rotations.text_for(rotation_id)
            if text is None:
                return "No rotation chosen: add files to rotations/ and name one, e.g. `/sce oncall secops`."
            rotation = parse_rotation(text)
        except (UnknownScenario, RotationError) as exc:
            return str(exc)
        return render("oncall", rotation=rotation, now=on_call(rotation, self.s.clock.now()))

    def debrief_command(self, inv: Invocation) -> str:
        """`/sce debrief`: the game day running in this channel, else its latest finished one;
        `/sce debrief latest`: this channel's latest; `/sce debrief <id>`: that one, if the person may
        see it. The summary, with a link to the whole debrief made for the person asking."""
        typed = inv.command.args[0] if inv.command.args else None
        if typed is not None and typed_id(typed) != "latest":
            return self.debrief_by_id(inv, typed)
        ran_here = [r for r in self.s.store.all() if r.channel == inv.channel]
        if typed is None:
            record = self._current(inv.channel) or next((r for r in reversed(ran_here) if _over(r)), None)
        else:
            record = ran_here[-1] if ran_here else None
        if record is None:
            return "No game day has run in this channel yet. Start one with `/sce start <scenario>`."
        return self.debrief(record, inv.user)

    def debrief_by_id(self, inv: Invocation, typed: str) -> str:
        """Asked in the game day's channel, by a member of it, or by an admin; otherwise the same
        sentence as for an id that does not exist."""
        record = self.s.store.get(typed_id(typed))
        if record is None or not self.s.members.may_see(record.channel, inv.user, asked_in=inv.channel):
            return unseen_gameday(typed)
        return self.debrief(record, inv.user)

    def debrief(self, record: GameDayRecord, user: str) -> str:
        link = self.s.links.url(record.id, user)
        return render("debrief", d=current_debrief(self.s, record), link=link, ttl=self.s.links.ttl)

    def _current(self, channel: str) -> GameDayRecord | None:
        active = self.s.store.active_in_channel(channel)
        return active[-1] if active else None


def _over(record: GameDayRecord) -> bool:
    return Status(record.status).is_over

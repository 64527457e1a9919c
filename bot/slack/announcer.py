"""The Announcer on Slack: posts into the game day's thread and keeps the kickoff message current."""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.debrief.panels import chart_title, panel_pngs
from bot.debrief.render import redacted, render_redacted
from bot.gameday.measuring import evidence, metrics
from bot.gameday.measuring.report import with_names
from bot.gameday.measuring.report_models import Debrief
from bot.gameday.ports import GameDayRecord
from bot.gameday.running.outbound import OutboundRequest, sends
from bot.gameday.running.timer_types import DeliveryDelay
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.scenario.model import FaultSpec, PageSpec, Scenario
from bot.gameday.state import GameDayState, HandoffState, PageState, Status
from bot.integrations.pagerduty import PagerDuty, PagerDutyError
from bot.runtime.observability import count_page, count_skipped_call, observe_ack
from bot.slack import blocks
from bot.slack.budget import Budget
from bot.slack.follow_ups import FollowUps
from bot.slack.pacing import ChannelPacer
from bot.slack.people import SlackNames
from bot.slack.render import render
from bot.slack.status_line import StatusLine

POST_EVENT = "sce_post"
SHOWN_REMEMBERED = 10_000  # status messages whose shown status is remembered (the newest)
FILES_PER_MESSAGE = 10  # files shared in one message (a debrief with many panels takes a few)


@dataclass(frozen=True)
class Taken:
    """Who took a page or handoff and after how long (Slack's timestamps), shown on its message."""

    by: str
    seconds: float


NOTE_REACTIONS = {"gap": "warning", "note": "memo", "action": "pushpin", "decision": "memo", "update": "memo"}
"""The reaction a reply recorded for the debrief gets, by kind: a gap stands out, the rest are noted."""


@dataclass(frozen=True)
class UploadFile:
    name: str
    content: str | bytes
    title: str


log = logging.getLogger(__name__)


class SlackAnnouncer:
    def __init__(
        self,
        client: WebClient,
        pacer: ChannelPacer | None = None,
        pagerduty: PagerDuty | None = None,
        status_line: StatusLine | None = None,
        follow_ups: FollowUps | None = None,
        reactions: Budget | None = None,
    ):
        """``reactions``: the workspace's budget of reactions on notes (None: every note gets one)."""
        self.client = client
        self.reactions = reactions or Budget(None)
        # reactions, acknowledgement lines, pages shown as taken: off the thread that committed them
        self.follow_ups = follow_ups or FollowUps()
        self.pacer = pacer or ChannelPacer()
        self.pagerduty = pagerduty  # real paging next to the Slack mention, when configured
        self.status_line = status_line or StatusLine()
        self.names = SlackNames(client)  # people by name in the debrief (users.info, cached)
        # what each status message shows now (the status line's one thread updates it)
        self._shown: OrderedDict[tuple[str, str], tuple[object, ...]] = OrderedDict()

    def _post(
        self,
        record: GameDayRecord,
        text: str,
        payload: list[blocks.Block] | None = None,
        key: str | None = None,
    ) -> str:
        metadata = {"event_type": POST_EVENT, "event_payload": {"key": key}} if key else None
        self.pacer.wait(record.channel)
        response = self.client.chat_postMessage(
            channel=record.channel,
            thread_ts=record.thread_ts,
            text=blocks.fallback(text),
            blocks=payload or blocks.sections(text),
            unfurl_links=False,
            metadata=metadata,
        )
        return str(response["ts"])

    def thread_post(self, record: GameDayRecord, text: str, payload: list[blocks.Block], key: str) -> str:
        """A message of blocks built elsewhere (the findings and their buttons) into the game day's
        thread, tagged with ``key`` as every outbox post is; its ts."""
        return self._post(record, text, payload, key)

    def find_posted(self, record: GameDayRecord, key: str) -> str | None:
        """The ts of the thread message tagged with ``key`` (message metadata), if there is one."""
        if record.thread_ts is None:
            return None
        cursor = None
        while True:
            response = self.client.conversations_replies(
                channel=record.channel,
                ts=record.thread_ts,
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                if (
                    metadata.get("event_type") == POST_EVENT
                    and (metadata.get("event_payload") or {}).get("key") == key
                ):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def kickoff(self, record: GameDayRecord, scenario: Scenario) -> str:
        """The thread's first message, with the status the game day has once started: the status line's
        first look at it then finds nothing to change (one chat.update fewer per game day)."""
        state = GameDayState(status=Status(record.status), started_at=record.created_at)
        header, payload, shown = self._status(record, scenario, state, record.created_at)
        self.pacer.wait(record.channel)
        response = self.client.chat_postMessage(
            channel=record.channel, text=header, blocks=payload, unfurl_links=False
        )
        ts = str(response["ts"])
        self._remember_shown((record.channel, ts), shown)
        return ts

    def refresh_status(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, now: float, version: int
    ) -> None:
        """Queue the status for the status line (coalesced per game day; a final one goes at once)."""
        if record.thread_ts is None:
            return
        record = replace(record)  # the caller's record may change before the status line sends it
        self.status_line.submit(
            record.id,
            lambda: self.update_status(record, scenario, state, now),
            final=state.status.is_over,
            version=version,
        )

    def update_status(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, now: float
    ) -> None:
        """chat.update of the kickoff message with this status, now."""
        if record.thread_ts is None:
            return
        header, payload, shown = self._status(record, scenario, state, now)
        message = (record.channel, record.thread_ts)
        if self._shown.get(message) == shown:
            return  # nothing a reader sees has changed: no chat.update
        self.client.chat_update(channel=record.channel, ts=record.thread_ts, text=header, blocks=payload)
        self._remember_shown(message, shown)

    def _status(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, now: float
    ) -> tuple[str, list[blocks.Block], tuple[object, ...]]:
        """The kickoff message's header and blocks with this status, and what a reader sees of them."""
        results = metrics.expectation_results(state, scenario.expect, now=now, final=state.status.is_over)
        over = state.started_at is not None and state.ended_at is not None
        header = render("kickoff", record=record, scenario=scenario)
        status = render(
            "status",
            state=state,
            started=state.started_at,  # shown by Slack as "… ago", current without an update
            lasted=(state.ended_at or 0.0) - (state.started_at or 0.0) if over else None,
            open_pages=len(state.open_pages()),
            pages=len(state.pages),
            results=results,
            unmeasured=evidence.simulated_expectations(scenario, state, dry_run=not sends(record)),
        )
        payload = blocks.kickoff_blocks(header, status, record.id, str(state.status), scenario.mode)
        # a pause and its resume show the same text as before them: the pause's instants tell them
        # apart, so what another replica showed in between is never left standing
        shown = (header, json.dumps(payload, sort_keys=True), state.paused_at, state.paused_seconds)
        return header, payload, shown

    def _remember_shown(self, message: tuple[str, str], shown: tuple[object, ...]) -> None:
        self._shown[message] = shown
        self._shown.move_to_end(message)
        while len(self._shown) > SHOWN_REMEMBERED:
            self._shown.popitem(last=False)

    def page(self, record: GameDayRecord, page_id: str, spec: PageSpec, responder: str, key: str) -> str:
        text = render("page", spec=spec, responder=responder, dry_run=not sends(record), taken=None)
        ts = self._post(record, text, blocks.page_blocks(text, page_id), key)
        count_page(spec.severity)
        if self.pagerduty is not None:
            links = [("Runbook", spec.runbook)] if spec.runbook else []
            if not sends(record):
                request = self._would_trigger(record, page_id, spec)
                self._post(record, render("would_send", to="PagerDuty", request=request.sentence()))
                return ts
            try:
                self.pagerduty.trigger(
                    page_id,
                    record.id,
                    spec.summary,
                    spec.severity,
                    f"sce/{record.scenario_id}",
                    links=links,
                    at=float(ts),
                )
            except PagerDutyError:
                log.exception("PagerDuty did not take page %s of %s; Slack has it", page_id, record.id)
        return ts

    def page_outbound(self, record: GameDayRecord, page_id: str, spec: PageSpec) -> list[dict[str, object]]:
        if self.pagerduty is None:
            return []
        return [self._would_trigger(record, page_id, spec).shown()]

    def _would_trigger(self, record: GameDayRecord, page_id: str, spec: PageSpec) -> OutboundRequest:
        assert self.pagerduty is not None
        links = [("Runbook", spec.runbook)] if spec.runbook else []
        return self.pagerduty.would_trigger(
            page_id, record.id, spec.summary, spec.severity, f"sce/{record.scenario_id}", links=links
        )

    def escalation(self, record: GameDayRecord, page: PageState, to: str, key: str) -> str:
        count_page(page.severity)
        text = render("escalation", page=page, to=to, taken=None)
        return self._post(record, text, blocks.page_blocks(text, page.page_id, role="escalation"), key)

    def say(self, record: GameDayRecord, text: str, key: str) -> str:
        return self._post(record, render("say", text=text), key=key)

    def dashboards(
        self, record: GameDayRecord, links: list[tuple[str, str]], start: str, end: str, key: str
    ) -> str:
        """The team's Grafana dashboards over the game day's time range (``links``: title, URL)."""
        return self._post(record, render("dashboards", links=links, start=start, end=end), key=key)

    def delivery_delayed(self, record: GameDayRecord, delays: Sequence[DeliveryDelay], key: str) -> str:
        text = render("delivery_delayed", facilitator=record.started_by, delays=delays)
        return self._post(record, text, key=key)

    def role(self, record: GameDayRecord, role: str, user: str, key: str) -> str:
        return self._post(record, render("role", role=role, user=user), key=key)

    def handoff(
        self, record: GameDayRecord, handoff_id: str, from_user: str | None, to_user: str, key: str
    ) -> str:
        text = render("handoff", from_user=from_user, to_user=to_user, taken=None)
        return self._post(record, text, blocks.handoff_blocks(text, handoff_id), key)

    def page_taken(self, record: GameDayRecord, page: PageState, by: str, seconds: float) -> None:
        """chat.update of the page (and of its escalation): who acknowledged it and when; its Acknowledge
        and Escalate buttons go, Mark detected, Mark contained and Hand off stay (they still apply).
        Sent by the follow-ups, as are the handoff's, the acknowledgement's line and a note's reaction."""
        self.follow_ups.put(record.id, lambda: self._page_taken(record, page, by, seconds), "a page")

    def _page_taken(self, record: GameDayRecord, page: PageState, by: str, seconds: float) -> None:
        taken = Taken(by, seconds)
        spec = cached_scenario(record.scenario_text).steps[page.step].page
        if spec is not None:
            text = render("page", spec=spec, responder=page.responder, dry_run=not sends(record), taken=taken)
            self._replace(record, page.message_ts, text, blocks.taken_page_blocks(text, page.page_id))
        if page.escalation_ts is not None and page.escalated_to is not None:
            text = render("escalation", page=page, to=page.escalated_to, taken=taken)
            payload = blocks.taken_page_blocks(text, page.page_id, role="escalation")
            self._replace(record, page.escalation_ts, text, payload)

    def handoff_taken(self, record: GameDayRecord, handoff: HandoffState, by: str, seconds: float) -> None:
        """chat.update of the handoff message: who took over and when, no button."""
        self.follow_ups.put(record.id, lambda: self._handoff_taken(record, handoff, by, seconds), "a handoff")

    def _handoff_taken(self, record: GameDayRecord, handoff: HandoffState, by: str, seconds: float) -> None:
        if handoff.message_ts is None:
            return
        text = render(
            "handoff", from_user=handoff.from_user, to_user=handoff.to_user, taken=Taken(by, seconds)
        )
        self._replace(record, handoff.message_ts, text, blocks.taken_handoff_blocks(text, handoff.handoff_id))

    def _replace(
        self, record: GameDayRecord, message_ts: str, text: str, payload: list[blocks.Block]
    ) -> None:
        self.client.chat_update(channel=record.channel, ts=message_ts, text=text, blocks=payload)

    def noted(self, record: GameDayRecord, message_ts: str, kind: str) -> None:
        """A reaction on the reply recorded for the debrief; one there already is as good. Beyond the
        workspace's budget none is added: the note counts all the same."""
        if not self.reactions.take():
            count_skipped_call("reactions.add")
            return
        self.follow_ups.put(record.id, lambda: self._noted(record, message_ts, kind), "a note's reaction")

    def _noted(self, record: GameDayRecord, message_ts: str, kind: str) -> None:
        try:
            self.client.reactions_add(
                channel=record.channel, timestamp=message_ts, name=NOTE_REACTIONS.get(kind, "memo")
            )
        except SlackApiError as exc:
            if exc.response.get("error") != "already_reacted":
                raise

    def acknowledged(self, record: GameDayRecord, who: str, what: str, seconds: float | None) -> None:
        if what.startswith("page ") and seconds is not None:
            observe_ack(seconds)
        text = render("acknowledged", who=who, what=what, seconds=seconds)
        self.follow_ups.put(record.id, lambda: self._post(record, text), "an acknowledgement")

    def fault(
        self, record: GameDayRecord, spec: FaultSpec, verb: str, detail: str, key: str | None = None
    ) -> str:
        return self._post(record, render("fault", spec=spec, verb=verb, detail=detail), key=key)

    def finished(self, record: GameDayRecord, debrief: Debrief, key: str) -> None:
        debrief = with_names(debrief, self.names.names(debrief.people))
        if self.pagerduty is not None and sends(record):
            try:
                self.pagerduty.resolve_pages(record.id, [p.id for p in debrief.pages])
            except PagerDutyError:
                log.exception("PagerDuty did not resolve the pages of %s", record.id)
        self._post(record, render("debrief", d=debrief), key=key)
        try:  # the full debrief as files in the thread, in one message: HTML to read and print, Markdown
            shown = redacted(debrief)  # once for both files
            files = [
                UploadFile(
                    f"debrief-{record.id}.{fmt}",
                    render_redacted(shown, fmt),
                    f"[GAME DAY] Debrief {record.id} ({fmt.upper()})",
                )
                for fmt in ("html", "md")
            ]
            files += [  # and each panel's chart, faults as bands, to look at without opening a file
                UploadFile(f"{record.id}-{name}", png, f"[GAME DAY] {record.id}: {chart_title(panel)} (PNG)")
                for name, png, panel in panel_pngs(shown)
            ]
            for first in range(0, len(files), FILES_PER_MESSAGE):
                self.upload_files(record.channel, record.thread_ts, files[first : first + FILES_PER_MESSAGE])
        except SlackApiError:
            log.exception("could not upload the debrief files of %s", record.id)

    def upload(
        self,
        channel: str,
        thread_ts: str | None,
        filename: str,
        content: str,
        title: str,
        comment: str | None = None,
    ) -> None:
        """One file into a channel or thread (Slack's external upload flow)."""
        self.upload_files(channel, thread_ts, [UploadFile(filename, content, title)], comment)

    def upload_files(
        self, channel: str, thread_ts: str | None, files: list[UploadFile], comment: str | None = None
    ) -> None:
        """Files into a channel or thread as one message (one completion call for all of them)."""
        self.pacer.wait(channel)
        self.client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            file_uploads=[{"filename": f.name, "content": f.content, "title": f.title} for f in files],
            initial_comment=comment,
        )

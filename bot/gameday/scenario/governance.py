"""What a change board asks of a game day besides its window (``window.py``): the change ticket it
approved, and who is told before and while the exercise runs ("no surprise chaos").

    change: {ticket: CAB-1234, url: "https://change.example.com/CAB-1234"}
    comms: {announce: ["#sre", "#helpdesk"], remind_before: 24h}

The ticket is a short token shown in the kickoff, the debrief and the evidence bundle; its URL is only
ever a link (https, no credentials), never called. Each announce channel gets an exercise-marked message
when a game day is booked, ``remind_before`` ahead of a booked start, at the start and at the end.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, field_validator

from bot.gameday.scenario.durations import DurationError, format_duration, parse_span
from bot.gameday.scenario.fields import StrictModel

TICKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._#/:-]{0,39}$")
URL_MAX = 500
MAX_ANNOUNCE = 10
CHANNEL = re.compile(r"^#[a-z0-9][a-z0-9._-]{0,79}$|^[CG][A-Z0-9]{8,20}$")
REMIND_MIN = 10 * 60.0
REMIND_MAX = 14 * 86400.0
DEFAULT_REMIND = 24 * 3600.0


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _ticket(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # ticket: 1234
    if isinstance(value, str) and TICKET.match(value):
        return value
    raise ValueError(
        f"{_shown(value)} is not a change ticket; write its id, 1 to 40 letters, digits and - _ . # / :, "
        "such as CAB-1234"
    )


def link_problem(url: str) -> str | None:
    """None when ``url`` may be shown as a link; else why not (https only, a host, no credentials)."""
    if len(url) > URL_MAX:
        return f"is {len(url)} characters; a change URL has at most {URL_MAX}"
    if any(c.isspace() or ord(c) < 32 or c in "<>|\"'`\\" for c in url):
        return "holds a space, a quote or one of < > | \\ `; write the URL as the browser shows it"
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is not a number raises here
    except ValueError:
        return "is not a URL"
    del port
    if parts.scheme.lower() != "https":
        return f"{_shown(url)} is not an https:// URL; a change URL is https only"
    if not parts.hostname:
        return "names no host; write it as https://host/path"
    if parts.username is not None or parts.password is not None:
        return "carries a user name or password; link the ticket without credentials"
    return None


def _channel(value: object) -> object:
    if isinstance(value, str) and CHANNEL.match(value.strip()):
        return value.strip()
    raise ValueError(
        f"{_shown(value)} is not a channel; write a name as #sre (lowercase, quoted in YAML) or an id such "
        "as C0123456789"
    )


def _remind_before(value: object) -> object:
    """A duration (``24h``, ``90m``) or whole days (``2d``)."""
    try:
        seconds = parse_span(value)
    except DurationError as exc:
        raise ValueError(f"{exc} (or whole days such as 2d)") from None
    return seconds


Ticket = Annotated[str, BeforeValidator(_ticket)]
AnnounceChannel = Annotated[str, BeforeValidator(_channel)]


class Change(StrictModel):
    """The change ticket that approves this game day, and where a reader finds it."""

    ticket: Ticket
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _link(cls, url: str | None) -> str | None:
        problem = link_problem(url) if url is not None else None
        if problem:
            raise ValueError(problem)
        return url


class Comms(StrictModel):
    """The channels told about each game day of the scenario, and how long before a booked start."""

    announce: list[AnnounceChannel] = Field(default_factory=list)
    remind_before: Annotated[float, BeforeValidator(_remind_before)] = DEFAULT_REMIND

    @field_validator("announce")
    @classmethod
    def _few(cls, announce: list[str]) -> list[str]:
        if len(announce) > MAX_ANNOUNCE:
            raise ValueError(f"lists {len(announce)} channels; announce to at most {MAX_ANNOUNCE}")
        if len(set(announce)) != len(announce):
            raise ValueError("lists a channel twice; name each channel once")
        return announce

    @field_validator("remind_before")
    @classmethod
    def _ahead(cls, seconds: float) -> float:
        if not REMIND_MIN <= seconds <= REMIND_MAX:
            raise ValueError(
                f"{format_duration(seconds)} is not between 10m and 14d; remind people at least 10 minutes "
                "and at most 14 days ahead"
            )
        return seconds

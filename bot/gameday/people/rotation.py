"""On-call rotations from files in `rotations/`: members in order, a handoff weekday and time, a time zone.

Who is on call is a pure function of the rotation and a moment, so a rotation that hands over in the
middle of a drill pages the right person, and a debrief can say who was on call when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.gameday.people.mentions import user_id_from
from bot.gameday.scenario.limits import FILE_LIMITS, LimitExceeded, check_structure

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class RotationError(ValueError):
    """A rotation file that cannot be used; the message names the file and the field."""


class Handoff(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Literal["day", "week"] = "week"
    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    time: str = Field("09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class Rotation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    members: list[str] = Field(min_length=2)
    handoff: Handoff = Handoff(time="09:00")
    timezone: str = "UTC"
    start: date = Field(
        date(2026, 1, 5), ge=date(1970, 1, 1), le=date(9000, 1, 1)
    )  # the day members[0] took over (any past date on the handoff weekday)

    @field_validator("members")
    @classmethod
    def _user_ids(cls, members: list[str]) -> list[str]:
        ids = []
        for member in members:
            user = user_id_from(member)
            if user is None:
                raise ValueError(f"{member!r} is not a Slack user id (U...) or mention")
            ids.append(user)
        return ids

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"{zone!r} is not a time zone name such as Europe/Berlin or UTC") from None
        return zone


@dataclass(frozen=True)
class OnCall:
    primary: str
    secondary: str
    next_primary: str
    next_handoff_at: float


def parse_rotation(text: str, source: str = "<rotation>") -> Rotation:
    try:
        check_structure(text, FILE_LIMITS)  # aliases, nesting and long texts bounded before building
        document = yaml.safe_load(text)
    except LimitExceeded as exc:
        raise RotationError(f"{source}: {exc} (line {exc.line})") from None
    except yaml.YAMLError as exc:
        raise RotationError(f"{source}: not valid YAML ({exc})") from None
    except (ValueError, RecursionError, OverflowError) as exc:  # odd dates, nesting
        raise RotationError(f"{source}: cannot be read as a rotation ({exc.__class__.__name__})") from None
    if not isinstance(document, dict):
        raise RotationError(f"{source}: a rotation must be a YAML mapping (id, members, handoff, timezone)")
    try:
        return Rotation.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise RotationError(f"{source}: {field}: {first['msg']}") from None
    except (ValueError, OSError, RecursionError, OverflowError) as exc:  # odd dates, zone names, nesting
        raise RotationError(f"{source}: cannot be read as a rotation ({exc.__class__.__name__})") from None


def on_call(rotation: Rotation, at: float) -> OnCall:
    """Primary, secondary and the next handoff at Unix time ``at``."""
    zone = ZoneInfo(rotation.timezone)
    hour, minute = (int(part) for part in rotation.handoff.time.split(":"))
    first = datetime.combine(rotation.start, time(hour, minute), tzinfo=zone)
    if rotation.handoff.every == "week":
        offset = (WEEKDAYS.index(rotation.handoff.weekday) - first.weekday()) % 7
        first = first + timedelta(days=offset)
    period = timedelta(days=7 if rotation.handoff.every == "week" else 1)
    moment = datetime.fromtimestamp(at, zone)
    turns = _handoffs_between(first, moment, period)
    count = len(rotation.members)
    following = _wall_time_add(first, period * (turns + 1), zone)
    return OnCall(
        primary=rotation.members[turns % count],
        secondary=rotation.members[(turns + 1) % count],
        next_primary=rotation.members[(turns + 1) % count],
        next_handoff_at=following.timestamp(),
    )


def _wall_time_add(start: datetime, delta: timedelta, zone: ZoneInfo) -> datetime:
    """Add days on the wall clock, so a 09:00 handoff stays at 09:00 across daylight-saving changes."""
    naive = start.replace(tzinfo=None) + delta
    return naive.replace(tzinfo=zone)


def _handoffs_between(first: datetime, moment: datetime, period: timedelta) -> int:
    """How many handoffs happened from ``first`` up to ``moment`` (negative before ``first``)."""
    zone = first.tzinfo
    assert isinstance(zone, ZoneInfo)
    days = (moment.replace(tzinfo=None) - first.replace(tzinfo=None)).days
    turns = days // period.days
    while _wall_time_add(first, period * (turns + 1), zone) <= moment:
        turns += 1
    while _wall_time_add(first, period * turns, zone) > moment:
        turns -= 1
    return turns

"""The calendar of booked game days as RFC 5545 text (`sce calendar`, `GET /calendar.ics`).

Written with the maintained ``icalendar`` library, never by hand: a scenario's title and hypothesis come
from its file (anyone who may add scenarios writes them), and the library escapes every TEXT value
(CR and LF, ``;``, ``,`` and ``\\``), so no title can end the event or add a property or another event.
Both texts are redacted as every text the bot shows is. A VTIMEZONE is added for each TZID used.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, vRecur
from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.gameday.measuring.redaction import redact
from bot.gameday.running.calendar import Booking, CalendarEvent, calendar_events
from bot.gameday.scenario.catalog import ScenarioCatalog, UnknownScenario
from bot.gameday.scenario.loading import ScenarioError
from bot.gameday.scenario.model import Scenario

PRODID = "-//sce//security game days//EN"
CALENDAR_NAME = "Security game days"
ZONE_YEARS_AHEAD = 10  # how far each VTIMEZONE spells out its daylight-saving changes

_env = Environment(
    loader=PackageLoader("bot.debrief", "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # plain text: RFC 5545's escaping is the library's
    keep_trailing_newline=False,
    auto_reload=False,
)


def render_calendar(events: Iterable[CalendarEvent], now: float) -> bytes:
    """The VCALENDAR of ``events``; ``now`` is every event's DTSTAMP (when this copy was written)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", CALENDAR_NAME)
    stamp = datetime.fromtimestamp(now, UTC)
    template = _env.get_template("calendar_event.txt.j2")
    first = stamp.date()
    for item in events:
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", item.start)
        event.add("duration", item.duration)
        event.add("summary", redact(f"[GAME DAY] {item.title}"))
        event.add("description", redact(template.render(event=item).strip()))
        if item.rrule:
            event.add("rrule", vRecur.from_ical(item.rrule))
        calendar.add_component(event)
        first = min(first, item.start.date())
    last = date(stamp.year + ZONE_YEARS_AHEAD, 1, 1)
    calendar.add_missing_timezones(first_date=first - timedelta(days=1), last_date=last)
    return bytes(calendar.to_ical())


def calendar_for(
    bookings: Iterable[Booking], catalog: ScenarioCatalog, now: float, channel: str | None = None
) -> bytes:
    """The calendar of the active ``bookings`` (``channel``'s only, when given)."""
    cache: dict[str, Scenario | None] = {}

    def scenario_of(scenario_id: str) -> Scenario | None:
        if scenario_id not in cache:
            try:
                cache[scenario_id] = catalog.load_file(scenario_id).scenario
            except (UnknownScenario, ScenarioError):
                cache[scenario_id] = None  # gone or broken: the event keeps the id and the default time box
        return cache[scenario_id]

    return render_calendar(calendar_events(bookings, scenario_of, channel), now)

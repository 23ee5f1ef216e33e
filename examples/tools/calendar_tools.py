"""Calendar and email tools: contacts, events, free slots, scheduling, cancelling and sending email.

Every tool is deterministic and offline. The contacts come from the small directory below; the
user's calendar and other people's busy times are derived from the date and the email address
with a stable hash, so the same call gives the same answer on every machine. Times are local
wall-clock times written `YYYY-MM-DDTHH:MM`. Bad input raises `ValueError` with the reason, the
way a real API answers 400; an event id that no event has is reported the same way.

Data flow between the tools:

    lookup_contact -> contacts[].email -> find_free_slots, create_event (attendees), send_email (to)
    find_free_slots -> slots[].start, slots[].end -> create_event (start, end)
    list_events -> event_id -> cancel_event
    list_events -> events[].attendees -> send_email (to)
"""

import datetime
import hashlib
import typing
from typing import Annotated, Literal

from annotated_types import Interval, MaxLen, MinLen
from typing_extensions import TypedDict

_TIME_FORMAT = "%Y-%m-%dT%H:%M"
_MAX_RANGE_DAYS = 31

EmailList = Annotated[list[str], MaxLen(20)]

# --------------------------------------------------------------------------- reference data


class _Contact(typing.NamedTuple):
    name: str
    email: str
    title: str


class _Template(typing.NamedTuple):
    title: str  # "{first}" becomes the first attendee's first name
    minutes: int
    attendees: int
    location: str | None


_CONTACTS = (
    _Contact("Maya Chen", "maya.chen@example.com", "Product Manager"),
    _Contact("Daniel Okafor", "daniel.okafor@example.com", "Engineering Lead"),
    _Contact("Priya Raman", "priya.raman@example.com", "Product Designer"),
    _Contact("Lucas Meyer", "lucas.meyer@example.com", "Data Scientist"),
    _Contact("Sofia Alvarez", "sofia.alvarez@example.com", "Marketing Manager"),
    _Contact("Tom Becker", "tom.becker@example.com", "Account Executive"),
    _Contact("Aiko Tanaka", "aiko.tanaka@example.com", "Recruiter"),
    _Contact("Elena Rossi", "elena.rossi@example.com", "Finance Controller"),
    _Contact("James Whitfield", "james.whitfield@example.com", "Chief Technology Officer"),
    _Contact("Sam Novak", "sam.novak@example.org", "Friend"),
)
_TEAM = tuple(contact.email for contact in _CONTACTS[:4])

_MEETINGS = (
    _Template("Project sync", 30, 3, "Room Atlas"),
    _Template("1:1 with {first}", 30, 1, None),
    _Template("Design review", 60, 3, "Room Borealis"),
    _Template("Sprint planning", 60, 4, "Room Atlas"),
    _Template("Customer call", 45, 2, "Video call"),
    _Template("Budget review", 60, 2, "Room Cedar"),
    _Template("Candidate interview", 45, 1, "Room Cedar"),
    _Template("Team retrospective", 45, 4, "Room Borealis"),
)
_WEEKEND_PLANS = (
    _Template("Brunch with {first}", 90, 1, "Café Lune"),
    _Template("Climbing with {first}", 120, 1, "Boulder Hall"),
    _Template("Farmers market", 60, 0, "Market Square"),
)

# --------------------------------------------------------------------------- result types


class Contact(TypedDict):
    """A person in the user's directory."""

    name: str
    email: str
    title: str


class ContactSearch(TypedDict):
    """Contacts matching a name."""

    query: str
    contacts: list[Contact]


class Event(TypedDict):
    """An event in the user's calendar."""

    event_id: str
    title: str
    start: str
    end: str
    location: str | None
    attendees: list[str]


class EventList(TypedDict):
    """The user's events in a date range, in start order."""

    start_date: str
    end_date: str
    events: list[Event]


class Slot(TypedDict):
    """A free period."""

    start: str
    end: str


class FreeSlots(TypedDict):
    """Periods on one day when the user and every attendee are free."""

    date: str
    duration_minutes: int
    slots: list[Slot]


class CreatedEvent(TypedDict):
    """A new event, with the invitations sent and any events it overlaps."""

    event_id: str
    status: Literal["confirmed"]
    title: str
    start: str
    end: str
    location: str | None
    attendees: list[str]
    invitations_sent: list[str]
    conflicts: list[str]


class CancelledEvent(TypedDict):
    """A cancelled event and who was told."""

    event_id: str
    status: Literal["cancelled"]
    start: str
    notified: list[str]


class SentEmail(TypedDict):
    """An email handed to the mail server."""

    message_id: str
    status: Literal["sent"]
    to: list[str]
    cc: list[str]
    subject: str


# --------------------------------------------------------------------------- tools


def lookup_contact(name: str) -> ContactSearch:
    """Find people in the user's contacts by name.

    Every word of the name must appear in the contact's name or email address, so "maya" and
    "Maya Chen" both find Maya Chen. An empty list means nobody matched.

    Args:
        name: Full or partial name of the person, e.g. "Daniel" or "Priya Raman".

    Returns:
        The matching contacts with their name, email address and job title.

    Raises:
        ValueError: The name is empty.
    """
    words = name.casefold().split()
    if not words:
        raise ValueError("name must not be empty")
    contacts: list[Contact] = [
        {"name": c.name, "email": c.email, "title": c.title}
        for c in _CONTACTS
        if all(word in f"{c.name} {c.email}".casefold() for word in words)
    ]
    return {"query": name, "contacts": contacts}


def list_events(start_date: str, end_date: str, query: str | None = None) -> EventList:
    """List the events in the user's calendar between two dates.

    Both days are included in full; the query keeps only the events whose title or location
    mentions it.

    Args:
        start_date: First day to include, in YYYY-MM-DD format.
        end_date: Last day to include, in YYYY-MM-DD format; at most 31 days after start_date.
        query: Only events whose title or location contains this text (case-insensitive).

    Returns:
        The events in start order, each with its event_id, title, start, end, location and attendees.

    Raises:
        ValueError: A date is malformed, end_date is before start_date, or the range is longer than 31 days.
    """
    first = _parse_date(start_date, "start_date")
    last = _parse_date(end_date, "end_date")
    if last < first:
        raise ValueError(f"end_date ({end_date}) must not be before start_date ({start_date})")
    if (last - first).days >= _MAX_RANGE_DAYS:
        raise ValueError(
            f"the range covers {(last - first).days + 1} days; list at most {_MAX_RANGE_DAYS} at a time"
        )
    needle = (query or "").strip().casefold()
    events = [
        event
        for offset in range((last - first).days + 1)
        for event in _events_on(first + datetime.timedelta(days=offset))
        if needle in f"{event['title']} {event['location'] or ''}".casefold()
    ]
    return {"start_date": first.isoformat(), "end_date": last.isoformat(), "events": events}


def find_free_slots(
    date: str,
    duration_minutes: Annotated[int, Interval(ge=15, le=480)],
    attendees: EmailList | None = None,
    working_hours_start: str = "09:00",
    working_hours_end: str = "17:00",
    max_results: Annotated[int, Interval(ge=1, le=20)] = 5,
) -> FreeSlots:
    """Find times on a day when the user and the attendees are all free.

    Checks the user's calendar and each attendee's busy times, and proposes slots that start on
    the hour or half hour within working hours.

    Args:
        date: The day to search, in YYYY-MM-DD format.
        duration_minutes: Length of the meeting in minutes, from 15 to 480.
        attendees: Email addresses of the other people who must be free, at most 20.
        working_hours_start: Earliest start time, as HH:MM.
        working_hours_end: Latest end time, as HH:MM; after working_hours_start.
        max_results: Most slots to return, from 1 to 20.

    Returns:
        The free slots, earliest first, each with a start and end to pass to create_event.

    Raises:
        ValueError: The date or a time is malformed, the working hours are empty or too short for
            the meeting, an email address is malformed, or a number is out of range.
    """
    day = _parse_date(date, "date")
    _check_range("duration_minutes", duration_minutes, 15, 480)
    _check_range("max_results", max_results, 1, 20)
    people = _check_emails(attendees or [], "attendees")
    opens = _parse_clock(working_hours_start, "working_hours_start")
    closes = _parse_clock(working_hours_end, "working_hours_end")
    if closes - opens < duration_minutes:
        raise ValueError(
            f"working hours {working_hours_start}-{working_hours_end} are shorter than {duration_minutes} minutes"
        )
    busy = [(_minutes(event["start"]), _minutes(event["end"])) for event in _events_on(day)]
    for email in people:
        busy.extend(_busy_blocks(email, day))
    midnight = datetime.datetime(day.year, day.month, day.day)
    slots: list[Slot] = []
    start = -(-opens // 30) * 30  # the first half hour at or after opening time
    while start + duration_minutes <= closes and len(slots) < max_results:
        end = start + duration_minutes
        if all(end <= taken_from or start >= taken_until for taken_from, taken_until in busy):
            slots.append(
                {
                    "start": _format(midnight + datetime.timedelta(minutes=start)),
                    "end": _format(midnight + datetime.timedelta(minutes=end)),
                }
            )
        start += 30
    return {"date": day.isoformat(), "duration_minutes": duration_minutes, "slots": slots}


def create_event(
    title: str,
    start: str,
    end: str,
    attendees: EmailList | None = None,
    location: str | None = None,
    send_invitations: bool = True,
) -> CreatedEvent:
    """Create an event in the user's calendar and invite the attendees.

    Overlapping events are allowed; their ids are listed in conflicts so the user can decide.

    Args:
        title: Short title of the event, e.g. "Quarterly planning".
        start: Start time as YYYY-MM-DDTHH:MM (local time).
        end: End time as YYYY-MM-DDTHH:MM (local time); after start and at most 12 hours later.
        attendees: Email addresses of the people to invite, at most 20.
        location: Where the event takes place, e.g. a room name or "Video call".
        send_invitations: Whether to email an invitation to every attendee.

    Returns:
        The created event with its event_id, the invitations sent and the ids of events it overlaps.

    Raises:
        ValueError: The title is empty, a time is malformed, end is not after start or more than
            12 hours later, or an email address is malformed.
    """
    if not title.strip():
        raise ValueError("title must not be empty")
    begins = _parse_time(start, "start")
    ends = _parse_time(end, "end")
    if ends <= begins:
        raise ValueError(f"end ({end}) must be after start ({start})")
    if ends - begins > datetime.timedelta(hours=12):
        raise ValueError("an event lasts at most 12 hours; create several events for longer periods")
    people = _check_emails(attendees or [], "attendees")
    conflicts = [
        event["event_id"]
        for offset in range((ends.date() - begins.date()).days + 1)
        for event in _events_on(begins.date() + datetime.timedelta(days=offset))
        if _parse_time(event["start"], "start") < ends and _parse_time(event["end"], "end") > begins
    ]
    return {
        "event_id": _event_id(begins, created=True),
        "status": "confirmed",
        "title": title.strip(),
        "start": _format(begins),
        "end": _format(ends),
        "location": location,
        "attendees": people,
        "invitations_sent": people if send_invitations else [],
        "conflicts": conflicts,
    }


def cancel_event(event_id: str, notify_attendees: bool = True) -> CancelledEvent:
    """Cancel an event in the user's calendar.

    Works for events listed by list_events and events made with create_event. The attendees
    get a cancellation notice unless told otherwise.

    Args:
        event_id: The event_id of the event, e.g. "evt-20250614-0930-3fa2".
        notify_attendees: Whether to email a cancellation notice to the attendees.

    Returns:
        The cancelled event's id and start, and who was notified.

    Raises:
        ValueError: The event id is malformed or no event has it.
    """
    parts = event_id.strip().lower().split("-")
    if len(parts) != 4 or parts[0] != "evt" or len(parts[1]) != 8 or len(parts[2]) != 4:
        raise ValueError(f"event_id {event_id!r} is malformed; event ids look like 'evt-20250614-0930-3fa2'")
    try:
        begins = datetime.datetime.strptime(f"{parts[1]}{parts[2]}", "%Y%m%d%H%M")
    except ValueError:
        raise ValueError(f"event_id {event_id!r} is malformed; its date or time does not exist") from None
    event_id = "-".join(parts)
    existing = next((e for e in _events_on(begins.date()) if e["event_id"] == event_id), None)
    if existing is None and event_id != _event_id(begins, created=True):
        raise ValueError(f"no event has event_id {event_id!r}; use list_events to find the event")
    attendees = existing["attendees"] if existing is not None else []
    return {
        "event_id": event_id,
        "status": "cancelled",
        "start": _format(begins),
        "notified": attendees if notify_attendees else [],
    }


def send_email(
    to: Annotated[list[str], MinLen(1), MaxLen(20)],
    subject: str,
    body: str,
    cc: EmailList | None = None,
) -> SentEmail:
    """Send an email from the user's account.

    The message is sent as plain text to every address in to and cc.

    Args:
        to: Email addresses of the recipients, 1 to 20.
        subject: Subject line; must not be empty.
        body: Plain-text message body; must not be empty.
        cc: Email addresses to copy, at most 20.

    Returns:
        The sent message's id and its recipients.

    Raises:
        ValueError: There is no recipient, an email address is malformed, or the subject or body is empty.
    """
    if not to:
        raise ValueError("to must list at least one recipient")
    recipients = _check_emails(to, "to")
    copied = _check_emails(cc or [], "cc")
    if not subject.strip():
        raise ValueError("subject must not be empty")
    if not body.strip():
        raise ValueError("body must not be empty")
    message_id = f"<{_digest('mail', recipients, copied, subject, body)[:16]}@mail.example.com>"
    return {
        "message_id": message_id,
        "status": "sent",
        "to": recipients,
        "cc": copied,
        "subject": subject.strip(),
    }


# --------------------------------------------------------------------------- helpers


def _digest(*parts: object) -> str:
    """A stable hex digest of the parts: the same on every machine, run and Python version."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _fraction(*parts: object) -> float:
    """A stable number in [0, 1) derived from the parts."""
    return int(_digest(*parts)[:13], 16) / 16**13


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")


def _check_emails(addresses: list[str], name: str) -> list[str]:
    if len(addresses) > 20:
        raise ValueError(f"{name} lists {len(addresses)} addresses; at most 20 are allowed")
    checked = []
    for address in addresses:
        local, _, domain = address.strip().partition("@")
        if not local or "." not in domain.strip(".") or " " in address.strip():
            raise ValueError(
                f"{name} contains {address!r}, which is not an email address like 'name@example.com'"
            )
        checked.append(address.strip().casefold())
    return checked


def _parse_date(value: str, name: str) -> datetime.date:
    """A YYYY-MM-DD date, strictly (fromisoformat alone also takes 20250614 and week dates)."""
    try:
        if len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise ValueError
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be a date in YYYY-MM-DD format, got {value!r}") from None


def _parse_time(value: str, name: str) -> datetime.datetime:
    """A local YYYY-MM-DDTHH:MM time; seconds are accepted and dropped, UTC offsets refused."""
    text = value.strip()
    try:
        if len(text) not in (16, 19) or text[10] not in "T ":
            raise ValueError
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} must be a local time as YYYY-MM-DDTHH:MM, got {value!r}") from None
    return moment.replace(second=0)


def _parse_clock(value: str, name: str) -> int:
    """Minutes after midnight of an HH:MM time of day (24:00 is the end of the day)."""
    hours, colon, minutes = value.strip().partition(":")
    if colon and hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and int(minutes) < 60:
        total = int(hours) * 60 + int(minutes)
        if total <= 24 * 60:
            return total
    raise ValueError(f"{name} must be a time of day as HH:MM, got {value!r}")


def _format(moment: datetime.datetime) -> str:
    return moment.strftime(_TIME_FORMAT)


def _minutes(timestamp: str) -> int:
    """Minutes after midnight of a YYYY-MM-DDTHH:MM timestamp."""
    return int(timestamp[11:13]) * 60 + int(timestamp[14:16])


def _event_id(start: datetime.datetime, *, created: bool) -> str:
    """Ids carry the start and a check code, so ids that no event has are recognised."""
    stamp = start.strftime("%Y%m%d-%H%M")
    return f"evt-{stamp}-{_digest('created' if created else 'calendar', stamp)[:4]}"


def _events_on(day: datetime.date) -> list[Event]:
    """The user's events on a day: a stand-up and some meetings on weekdays, maybe a plan at weekends."""
    midnight = datetime.datetime(day.year, day.month, day.day)
    planned: list[tuple[int, _Template, int]] = []  # start minute, template, number of the event that day
    if day.weekday() < 5:
        planned.append((9 * 60 + 30, _Template("Daily stand-up", 15, 4, "Video call"), 0))
        for n in range(1, 1 + int(4 * _fraction("meetings", day))):
            template = _MEETINGS[int(len(_MEETINGS) * _fraction("meeting", day, n))]
            begin = 10 * 60 + 30 * int(14 * _fraction("start", day, n))
            clashes = any(begin < s + t.minutes and begin + template.minutes > s for s, t, _ in planned)
            if not clashes and begin + template.minutes <= 18 * 60:
                planned.append((begin, template, n))
    elif _fraction("weekend", day) < 0.5:
        template = _WEEKEND_PLANS[int(len(_WEEKEND_PLANS) * _fraction("plan", day))]
        planned.append((10 * 60 + 30 * int(8 * _fraction("start", day)), template, 1))
    events: list[Event] = []
    for begin, template, n in sorted(planned, key=lambda plan: plan[0]):
        if template.title == "Daily stand-up":
            attendees = list(_TEAM)
        else:
            pool = _CONTACTS[:-1] if day.weekday() < 5 else _CONTACTS[-1:]
            ranked = sorted(pool, key=lambda c: _digest("invite", day, n, c.email))
            attendees = [c.email for c in ranked[: template.attendees]]
        first = next((c.name.split()[0] for c in _CONTACTS if attendees and c.email == attendees[0]), "")
        starts = midnight + datetime.timedelta(minutes=begin)
        events.append(
            {
                "event_id": _event_id(starts, created=False),
                "title": template.title.format(first=first),
                "start": _format(starts),
                "end": _format(starts + datetime.timedelta(minutes=template.minutes)),
                "location": template.location,
                "attendees": attendees,
            }
        )
    return events


def _busy_blocks(email: str, day: datetime.date) -> list[tuple[int, int]]:
    """When someone else is busy on a day, as (start, end) in minutes after midnight."""
    blocks = []
    for n in range(1 + int(3 * _fraction("busy", email, day))):
        begin = 9 * 60 + 30 * int(16 * _fraction("busy_start", email, day, n))
        blocks.append((begin, begin + 30 * (1 + int(3 * _fraction("busy_length", email, day, n)))))
    return blocks

"""The movement's calendar: its fixed dates, and one campaign draft per unit for each.

An entry (``[calendar."NAME"]`` in channels.toml, or Loa's built-in August 19, the day of
the whole people protecting national security) names a day of the year, a title and a text
with ``{unit}``, ``{year}`` and ``{date}`` placeholders, a campaign, a time of day, the
units it is for and how many days ahead its drafts are made. For a year, :func:`prepare`
makes one draft per unit: on the unit's own channels, scheduled at the day and time, with
the campaign set (so a ``[targets.campaigns]`` quota counts it once published) and its text
naming the unit. Each unit then edits, submits and gets its own draft approved like any
other post: the drafts are ordinary posts of the queue.

Idempotent: each draft carries its entry, year and unit in ``Post.source``
(``calendar:2026:phuong1:NAME``), unique in the database. A unit that has one, in any state
(edited, approved, even cancelled: the unit decided), gets no other, and nothing that exists
is changed; a person and the daemon preparing at the same moment make one draft.
Creation goes through :class:`content.queue.Queue`, so it is validated and audited like
any other creation. When the daemon does it (once per entry and year, even with several
daemons) is :mod:`scheduler.calendar_jobs`'s to say.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from content.errors import LoaError
from content.units import UnitInfo

if TYPE_CHECKING:  # channels.toml's parser imports the entries, not the queue and Pillow
    from sqlalchemy import Engine

    from content.office import ChannelDirectory
    from content.queue import PostInput, Queue

#: Days before the date its drafts are made, unless the entry says otherwise.
DEFAULT_LEAD_DAYS = 14
#: The time of day (office time) a calendar post is scheduled at, unless the entry says.
DEFAULT_TIME = time(7, 30)
#: ``units = ["*"]``: every unit of the tree.
EVERY_UNIT = "*"
#: What ``{...}`` a title, text or infographic field may hold, filled per unit.
PLACEHOLDERS = ("unit", "year", "date")
_PLACEHOLDER = re.compile(r"\{([^{}\s]*)\}")
#: Where the infographic templates an entry may name live (content/templates/NAME.toml).
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
#: ``Post.source`` of calendar drafts begins with this.
SOURCE_PREFIX = "calendar:"
#: The pseudo-unit of an office that describes no units: one draft on every channel.
OFFICE_UNIT = "office"

#: The entry Loa knows without being told (channels.toml may change or disable it by its name).
AUGUST_19 = "Ngày hội toàn dân bảo vệ ANTQ"
BUILTIN: Mapping[str, Mapping[str, Any]] = {
    AUGUST_19: {
        "date": "08-19",
        "lead_days": DEFAULT_LEAD_DAYS,
        "time": DEFAULT_TIME.strftime("%H:%M"),
        "units": [EVERY_UNIT],
        "title": "Ngày hội toàn dân bảo vệ an ninh Tổ quốc {date}",
        "text": (
            "Hưởng ứng Ngày hội toàn dân bảo vệ an ninh Tổ quốc ({date}) và Ngày truyền thống "
            "Công an nhân dân, {unit} kêu gọi Nhân dân tích cực tham gia phong trào toàn dân "
            "bảo vệ an ninh Tổ quốc năm {year}: chủ động phát hiện, tố giác tội phạm, giữ gìn "
            "an ninh, trật tự ở khu dân cư, nơi làm việc và trên không gian mạng.\n\n"
            "Mọi thông tin về an ninh, trật tự, xin gửi cho {unit} qua trang này "
            "hoặc gọi số 113."
        ),
    },
}

#: What became of one unit when an entry was prepared.
CREATED = "created"
WOULD_CREATE = "would_create"
EXISTS = "exists"
NO_CHANNEL = "no_channel"
OUTSIDE = "outside"
FAILED = "failed"


@dataclass(frozen=True)
class CalendarEntry:
    """One fixed date of the movement and the draft each unit gets for it."""

    name: str
    month: int
    day: int
    text: str
    title: str | None = None
    #: The posts' campaign (default: the entry's name), as ``[targets.campaigns]`` names it.
    campaign: str = ""
    lead_days: int = DEFAULT_LEAD_DAYS
    at: time = DEFAULT_TIME
    #: The units it is for; empty: every unit.
    units: tuple[str, ...] = ()
    #: ``{"template": NAME, "fields": {...}}``, filled per unit like the text.
    infographic: Mapping[str, Any] | None = None
    tags: tuple[str, ...] = ()
    #: Loa's own entry (possibly changed by channels.toml), not one the office added.
    builtin: bool = False

    def on(self, year: int) -> date:
        """The entry's day in ``year``."""
        return date(year, self.month, self.day)

    def prepare_from(self, year: int) -> date:
        """The first day the daemon makes ``year``'s drafts."""
        return self.on(year) - timedelta(days=self.lead_days)

    def for_unit(self, unit: str) -> bool:
        """Whether ``unit`` gets a draft of this entry."""
        return not self.units or unit in self.units

    @property
    def campaign_name(self) -> str:
        """The posts' campaign."""
        return self.campaign or self.name


def unknown_placeholders(text: str) -> list[str]:
    """The ``{...}`` in ``text`` that are not :data:`PLACEHOLDERS`, as written."""
    return [f"{{{m}}}" for m in _PLACEHOLDER.findall(text) if m not in PLACEHOLDERS]


def fill(text: str, unit: UnitInfo, day: date) -> str:
    """``text`` with ``{unit}`` the unit's name, ``{year}`` and ``{date}`` (19/8/2026: the
    day and month as the movement's own name writes them, without leading zeros)."""
    values = {"unit": unit.name, "year": str(day.year), "date": f"{day.day}/{day.month}/{day.year}"}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def source_key(entry: CalendarEntry, year: int, unit: str) -> str:
    """``Post.source`` of ``unit``'s draft of ``entry`` in ``year``: what makes it once."""
    return f"{SOURCE_PREFIX}{year}:{unit}:{entry.name}"


def template_exists(name: str) -> bool:
    """Whether an infographic template called ``name`` is installed."""
    return (
        re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name) is not None
        and (TEMPLATE_DIR / f"{name}.toml").is_file()
    )


def units_of(entry: CalendarEntry, directory: ChannelDirectory) -> list[UnitInfo]:
    """The units ``entry`` is for, in tree order. An office without units is one unit, named
    after the office, on every channel."""
    tree = directory.units
    if not tree:
        return [UnitInfo(OFFICE_UNIT, directory.office.name, channels=tuple(directory.channels))]
    return [u for u in tree if entry.for_unit(u.id)]


def request_for(entry: CalendarEntry, unit: UnitInfo, year: int, tz: ZoneInfo) -> PostInput:
    """The draft ``unit`` gets for ``entry`` in ``year``: its own channels, its name in the
    text, the day and time, the campaign and the source that makes it once."""
    from content.queue import PostInput

    day = entry.on(year)
    infographic = None
    if entry.infographic is not None:
        fields = entry.infographic.get("fields", {})
        infographic = {
            "template": entry.infographic["template"],
            "fields": {k: fill(str(v), unit, day) for k, v in fields.items()},
        }
    return PostInput(
        text=fill(entry.text, unit, day),
        title=fill(entry.title or entry.name, unit, day),
        channels=list(unit.channels),
        campaign=entry.campaign_name,
        tags=list(entry.tags),
        at=datetime.combine(day, entry.at, tzinfo=tz),
        infographic=infographic,
        source=source_key(entry, year, unit.id),
    )


# ---------------------------------------------------------------------------- when


@dataclass(frozen=True)
class Occurrence:
    """An entry in one year: its day, the moment its posts are scheduled for, and when the
    daemon prepares them."""

    entry: CalendarEntry
    year: int
    day: date
    at: datetime
    prepare_from: date

    @property
    def key(self) -> str:
        """The once-guard's key: the year and the entry's name."""
        return f"{self.year}/{self.entry.name}"


def occurrence(entry: CalendarEntry, year: int, tz: ZoneInfo) -> Occurrence:
    """``entry`` in ``year``."""
    day = entry.on(year)
    at = datetime.combine(day, entry.at, tzinfo=tz).astimezone(UTC)
    return Occurrence(entry, year, day, at, entry.prepare_from(year))


def occurrences(
    calendar: Sequence[CalendarEntry], year: int, tz: ZoneInfo, *, entry: str | None = None
) -> list[Occurrence]:
    """The entries of ``calendar`` in ``year`` by date (only the one named ``entry``).

    Raises :class:`LoaError` ``calendar_entry_unknown`` for an ``entry`` not in the calendar.
    """
    chosen = [e for e in calendar if entry is None or e.name == entry]
    if entry is not None and not chosen:
        raise LoaError("calendar_entry_unknown", name=entry, known=sorted(e.name for e in calendar))
    return sorted((occurrence(e, year, tz) for e in chosen), key=lambda o: (o.day, o.entry.name))


def upcoming(
    calendar: Sequence[CalendarEntry], now: datetime, tz: ZoneInfo, *, entry: str | None = None
) -> list[Occurrence]:
    """Each entry's next occurrence (this year's, or next year's once its moment has passed),
    by date: what is coming."""
    year = now.astimezone(tz).date().year
    result = []
    for one in occurrences(calendar, year, tz, entry=entry):
        result.append(one if now < one.at else occurrence(one.entry, year + 1, tz))
    return sorted(result, key=lambda o: (o.day, o.entry.name))


def due(calendar: Sequence[CalendarEntry], now: datetime, tz: ZoneInfo) -> list[Occurrence]:
    """The occurrences whose drafts are due now: from ``lead_days`` before the day until the
    moment the posts are scheduled for (a draft for a moment already past is useless)."""
    today = now.astimezone(tz).date()
    result = []
    # An entry early in January is prepared in the December before.
    for year in (today.year, today.year + 1):
        for one in occurrences(calendar, year, tz):
            if one.prepare_from <= today and now < one.at:
                result.append(one)
    return result


# ---------------------------------------------------------------------------- the drafts


@dataclass(frozen=True)
class UnitDraft:
    """A unit's draft of an occurrence, as it stands."""

    post_id: int
    state: str
    #: The unit changed the text, title or channels since Loa made it.
    edited: bool


@dataclass(frozen=True)
class UnitStatus:
    """One unit of an occurrence: its draft, if it has one."""

    unit: UnitInfo
    draft: UnitDraft | None


@dataclass(frozen=True)
class OccurrenceStatus:
    """What is coming and how far each unit got with it."""

    occurrence: Occurrence
    units: list[UnitStatus]

    def counts(self) -> dict[str, int]:
        """Drafts by post state (every state, zeros included), and ``missing``: units with
        channels but no draft."""
        from content.models import PostState

        counts = dict.fromkeys([s.value for s in PostState], 0)
        counts["missing"] = 0
        for one in self.units:
            if one.draft is not None:
                counts[one.draft.state] += 1
            elif one.unit.channels:
                counts["missing"] += 1
        return counts

    def as_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        """The JSON of ``loa calendar list --json``."""
        o = self.occurrence
        return {
            "name": o.entry.name,
            "date": o.day.isoformat(),
            "at": o.at.astimezone(tz).isoformat(timespec="seconds"),
            "prepare_from": o.prepare_from.isoformat(),
            "campaign": o.entry.campaign_name,
            "builtin": o.entry.builtin,
            "units": len(self.units),
            "with_draft": sum(1 for u in self.units if u.draft is not None),
            "counts": self.counts(),
            "drafts": [
                {
                    "unit": u.unit.id,
                    "name": u.unit.name,
                    "channels": list(u.unit.channels),
                    "post": u.draft.post_id if u.draft else None,
                    "state": u.draft.state if u.draft else None,
                    "edited": u.draft.edited if u.draft else False,
                }
                for u in self.units
            ],
        }


def drafts(
    engine: Engine, entry: CalendarEntry, year: int, units: Iterable[UnitInfo]
) -> dict[str, UnitDraft]:
    """Each unit's draft of ``entry`` in ``year``, by unit id (units without one left out)."""
    from sqlmodel import Session, col, select

    from content.models import AuditEvent, Post

    keys = {source_key(entry, year, u.id): u.id for u in units}
    if not keys:
        return {}
    with Session(engine) as session:
        posts = session.exec(
            select(Post.id, Post.source, Post.state).where(col(Post.source).in_(list(keys)))
        ).all()
        ids = [p for p, _s, _st in posts if p is not None]
        edited = set(
            session.exec(
                select(AuditEvent.post_id)
                .where(col(AuditEvent.post_id).in_(ids), AuditEvent.action == "edit")
                .distinct()
            ).all()
        )
    found: dict[str, UnitDraft] = {}
    # Oldest first: should two ever exist (two faces racing), the first one counts.
    for post_id, source, state in sorted(posts, key=lambda p: p[0] or 0):
        unit = keys[str(source)]
        if post_id is not None and unit not in found:
            found[unit] = UnitDraft(post_id, state, post_id in edited)
    return found


def status(
    engine: Engine, directory: ChannelDirectory, chosen: Sequence[Occurrence]
) -> list[OccurrenceStatus]:
    """Each occurrence of ``chosen`` with each unit's draft."""
    result = []
    for one in chosen:
        units = units_of(one.entry, directory)
        found = drafts(engine, one.entry, one.year, units)
        result.append(OccurrenceStatus(one, [UnitStatus(u, found.get(u.id)) for u in units]))
    return result


@dataclass
class Prepared:
    """What :func:`prepare` did for one occurrence."""

    occurrence: Occurrence
    #: The moment is past: nothing was made (a post cannot be scheduled in the past).
    past: bool = False
    #: Per unit id: one of CREATED, WOULD_CREATE, EXISTS, NO_CHANNEL, OUTSIDE, FAILED.
    outcomes: dict[str, str] = field(default_factory=dict)
    #: Per unit id: the post made or found.
    posts: dict[str, int] = field(default_factory=dict)
    #: Per unit id: why its draft could not be made.
    errors: dict[str, LoaError] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        """How many units had ``outcome``."""
        return sum(1 for o in self.outcomes.values() if o == outcome)


def prepare(queue: Queue, chosen: Sequence[Occurrence], *, dry_run: bool = False) -> list[Prepared]:
    """Make the missing drafts of each occurrence of ``chosen``, one per unit.

    Each unit's draft is made in its own transaction, so one unit's problem (a title its
    Zalo OA refuses) does not hold the others back; it is reported in ``errors``. Units
    outside the acting person's units are left to their own officers (OUTSIDE). With
    ``dry_run``, each draft is validated but nothing is written.
    """
    from sqlalchemy.exc import IntegrityError  # here: channels.toml's parser imports this module

    directory = queue.directory
    tz = directory.office.timezone
    now = queue.clock()
    mine = queue.access.channels
    results = []
    for one in chosen:
        result = Prepared(one)
        results.append(result)
        if one.at <= now:
            result.past = True
            continue
        units = units_of(one.entry, directory)
        found = drafts(queue.engine, one.entry, one.year, units)
        for unit in units:
            if unit.id in found:
                result.outcomes[unit.id] = EXISTS
                result.posts[unit.id] = found[unit.id].post_id
                continue
            if not unit.channels:
                result.outcomes[unit.id] = NO_CHANNEL
                continue
            if mine is not None and not set(unit.channels) <= mine:
                result.outcomes[unit.id] = OUTSIDE
                continue
            request = request_for(one.entry, unit, one.year, tz)
            try:
                if dry_run:
                    queue.validate(request, now=now)
                    result.outcomes[unit.id] = WOULD_CREATE
                    continue
                outcome = queue.create(request)
            except LoaError as exc:
                result.outcomes[unit.id] = FAILED
                result.errors[unit.id] = exc
                continue
            except IntegrityError:
                # Made meanwhile by someone else (the daemon, another officer): the source
                # is unique (content.models.CALENDAR_SOURCE), so theirs is the unit's draft.
                made = drafts(queue.engine, one.entry, one.year, [unit]).get(unit.id)
                if made is None:
                    raise
                result.outcomes[unit.id] = EXISTS
                result.posts[unit.id] = made.post_id
                continue
            result.outcomes[unit.id] = CREATED
            assert outcome.post.id is not None
            result.posts[unit.id] = outcome.post.id
            result.warnings.extend(w for w in outcome.warnings if w not in result.warnings)
    return results

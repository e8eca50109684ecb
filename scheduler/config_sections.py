"""channels.toml's other tables: ``[inbox]``, ``[units.ID]``, ``[targets]``, ``[reporting]``
and ``[calendar."NAME"]``.

The pydantic models of those tables; :mod:`scheduler.config` loads them and builds the unit
tree and the calendar entries from them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator

from content import calendar_campaigns as cal
from content.inbox import InboxSettings
from content.messages import Notice
from scheduler.config_channels import Channel, FacebookChannel, HttpUrl, Strict

#: The placeholders a calendar entry's text may hold, as written in it.
PLACEHOLDER_NAMES = [f"{{{p}}}" for p in cal.PLACEHOLDERS]


class InboxConfig(Strict):
    """The ``[inbox]`` table: the citizens' inbox (all keys optional)."""

    #: The office's promise: a citizen is answered within this many hours.
    response_target_hours: Annotated[float, Field(gt=0, le=720)] = 24
    #: Citizens' messages, names and details are deleted after this many days.
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 180
    #: How often the daemon fetches conversations by API, to catch what webhooks missed.
    backfill_minutes: Annotated[int, Field(ge=1, le=1440)] = 15
    #: How far back the first fetch of a channel looks.
    backfill_days: Annotated[int, Field(ge=1, le=30)] = 7
    #: The public address the platforms deliver to (the reverse proxy in front of
    #: ``loa webhooks serve``), without the path: ``loa doctor`` checks it answers there.
    webhook_url: HttpUrl | None = None

    def settings(self, channels: dict[str, Channel]) -> InboxSettings:
        """The plain values content.inbox works with."""
        return InboxSettings(
            response_target=timedelta(hours=self.response_target_hours),
            retention=timedelta(days=self.retention_days),
            human_agent=frozenset(
                cid
                for cid, ch in channels.items()
                if isinstance(ch, FacebookChannel) and ch.human_agent
            ),
        )


PostsPerWeek = Annotated[int, Field(ge=0, le=100)]


class UnitConfig(Strict):
    """A ``[units.ID]`` table: the province, a ward or a commune (see content.units)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    #: The unit it reports to (none: a top unit, the province).
    parent: str | None = None
    #: Its own channels; each channel is in one unit at most.
    channels: list[str] = []
    #: Its own target on each of its channels, instead of ``[targets] posts_per_week``.
    posts_per_week: PostsPerWeek | None = None


class CampaignQuotaConfig(Strict):
    """A ``[targets.campaigns."NAME"]`` table: posts of campaign NAME each unit publishes."""

    from_: Annotated[date, Field(alias="from")]
    to: date
    posts_per_unit: Annotated[int, Field(ge=1, le=1000)]
    #: The units held to it; none: every unit.
    units: list[str] = []


class Targets(Strict):
    """The ``[targets]`` table: what every unit is held to (content.evaluation judges it)."""

    #: Publications a week on each channel of every unit that names no target of its own.
    posts_per_week: PostsPerWeek | None = None
    campaigns: dict[str, CampaignQuotaConfig] = {}


class Reporting(Strict):
    """The ``[reporting]`` table: the periodic report's heading and its filing deadlines."""

    #: Filing deadlines each year, as MM-DD (the People's Committee asks for 09-05 and 10-25).
    deadlines: list[str] = []
    #: The daemon mails the draft report this many days before each deadline.
    remind_days: Annotated[int, Field(ge=1, le=60)] = 7
    #: The body above the issuer (top left, e.g. "BỘ CÔNG AN"); none: the issuer alone.
    superior: str | None = None
    #: The issuing body (top left); default: the office's name in capitals.
    issuer: str | None = None
    #: The place before the date ("Tỉnh Demo, ngày ... tháng ... năm ...").
    place: str | None = None
    #: The document's symbol after the number: "Số: .../BC-CAT".
    symbol: Annotated[str, Field(min_length=1, max_length=40)] = "BC"
    signer_title: Annotated[str, Field(min_length=1, max_length=200)] = "THỦ TRƯỞNG ĐƠN VỊ"
    signer_name: str | None = None
    #: "Nơi nhận:" lines, as the office files them.
    recipients: list[str] = []
    #: A folder of the office's own report templates (a copy of scheduler/report_templates,
    #: restyled), relative to channels.toml; a template missing there is taken from Loa's.
    templates: str | None = None

    def templates_folder(self, config_path: Path) -> Path | None:
        """The office's templates folder, resolved beside ``config_path``; None: Loa's own."""
        if not self.templates:
            return None
        return (Path(config_path).parent / Path(self.templates).expanduser()).resolve()

    @field_validator("deadlines")
    @classmethod
    def _deadlines(cls, value: list[str]) -> list[str]:
        for text in value:
            match = re.fullmatch(r"(\d\d)-(\d\d)", text)
            try:
                # A deadline falls every year: 02-29 is refused with the impossible days.
                if not match:
                    raise ValueError
                date(2026, int(match.group(1)), int(match.group(2)))
            except ValueError:
                raise ValueError(Notice("deadline_format", text=text)) from None
        return sorted(set(value))


class CalendarInfographic(Strict):
    """An entry's infographic: a template of content/templates and its fields."""

    template: Annotated[str, Field(min_length=1)]
    fields: dict[str, str] = {}


class CalendarEntryConfig(Strict):
    """A ``[calendar."NAME"]`` table: a fixed date of the movement and each unit's draft
    (see content.calendar_campaigns); Loa's built-in entry of the same name gives the keys
    left out."""

    #: The day every year, MM-DD.
    date: str
    #: The post's text; {unit}, {year} and {date} are filled in for each unit.
    text: str
    #: The post's title (Zalo needs one); default: the entry's name.
    title: Annotated[str, Field(min_length=1)] | None = None
    #: The posts' campaign, as [targets.campaigns] names it; default: the entry's name.
    campaign: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    #: The daemon makes the drafts this many days before the date.
    lead_days: Annotated[int, Field(ge=0, le=90)] = cal.DEFAULT_LEAD_DAYS
    #: The time of day (office time) the posts are scheduled for, HH:MM.
    time: str = cal.DEFAULT_TIME.strftime("%H:%M")
    #: The units that get a draft: ["*"] for every unit.
    units: list[str] = [cal.EVERY_UNIT]
    tags: list[str] = []
    infographic: CalendarInfographic | None = None
    #: false: Loa's built-in entry of this name is not used.
    enabled: bool = True

    @field_validator("date")
    @classmethod
    def _day(cls, value: str) -> str:
        match = re.fullmatch(r"(\d\d)-(\d\d)", value)
        try:
            # Every year: 02-29 is refused with the impossible days.
            if not match:
                raise ValueError
            date(2026, int(match.group(1)), int(match.group(2)))
        except ValueError:
            raise ValueError(Notice("calendar_date", text=value)) from None
        return value

    @field_validator("text", "title")
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError(Notice("calendar_text_empty"))
        unknown = cal.unknown_placeholders(value)
        if unknown:
            raise ValueError(
                Notice("calendar_placeholder", name=unknown[0], known=PLACEHOLDER_NAMES)
            )
        return value

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
            raise ValueError(Notice("slot_format", text=value))
        return value

    @field_validator("units")
    @classmethod
    def _units(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(Notice("calendar_units_empty"))
        return value

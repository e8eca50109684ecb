"""channels.toml: parsed in one place into typed settings, with errors that say where.

Every mistake becomes one :class:`ConfigError` line: ``file:line: key: what is expected``.
Secrets are never written in the file: a secret key holds ``{ env = "NAME" }`` or
``{ file = "path" }`` and is read only when a client needs it (:meth:`SecretRef.resolve`).
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from content import calendar_campaigns as cal
from content.errors import LoaError
from content.inbox import InboxSettings
from content.limits import TEXT_LIMITS, length
from content.messages import Notice, os_reason
from content.office import (
    DEFAULT_TIMEZONE,
    FACEBOOK,
    KINDS,
    ZALO_OA,
    ChannelDirectory,
    ChannelInfo,
    OfficeSettings,
)
from content.units import CampaignQuota, UnitError, UnitInfo, UnitTree, build_tree

DEFAULT_CONFIG = "channels.toml"
SECRET_KEYS = frozenset(
    {"token", "app_secret", "refresh_token", "password", "key", "verify_token", "webhook_secret"}
)
#: Facebook insight metrics read by default (v21+; impressions and reach were retired).
DEFAULT_FACEBOOK_METRICS = ("post_media_view", "post_total_media_view_unique", "post_clicks")
#: The newest Graph API version (v26.0, released 2026-07-29; facebook-graph.md §0).
DEFAULT_GRAPH_VERSION = "v26.0"


class ConfigError(LoaError):
    """channels.toml is wrong; the message names the file, line and key."""


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: an environment variable or a file only its owner can read."""

    env: str | None = None
    file: Path | None = None
    where: str = ""

    def describe(self) -> str:
        """Where the secret comes from, for messages (never the value)."""
        return f"env {self.env}" if self.env else f"file {self.file}"

    def resolve(self, environ: dict[str, str] | None = None) -> str:
        """Read the secret now. Raises ConfigError saying which reference failed."""
        env = os.environ if environ is None else environ
        if self.env:
            value = env.get(self.env)
            if not value:
                raise ConfigError("secret_env_unset", where=self.where, name=self.env)
            return value.strip()
        assert self.file is not None
        _check_secret_file(self.file, self.where, must_exist=True)
        return self.file.read_text(encoding="utf-8").strip()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")]
Digits = Annotated[str, Field(pattern=r"^[0-9]{1,30}$")]


class Branding(_Strict):
    """Colours and logo used on infographics."""

    primary: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#b71c1c"
    accent: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#ffc107"
    logo: Path | None = None


class Office(_Strict):
    """The ``[office]`` table."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    timezone: str = DEFAULT_TIMEZONE
    language: Literal["vi", "en"] = "vi"
    require_second_approver: bool = False
    min_spacing_minutes: Annotated[int, Field(ge=0, le=1440)] = 30
    posting_slots: list[str] = []
    alert_recipients: list[str] = []
    branding: Branding = Branding()
    #: The file holding the key that encrypts the Zalo tokens in the database (relative to
    #: this file; LOA_CREDENTIAL_KEY_FILE overrides it). Default: beside a SQLite database;
    #: with PostgreSQL it must be named (or LOA_CREDENTIAL_KEY set), the same key on every host.
    credential_key_file: Path | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(Notice("timezone_unknown", value=value)) from None
        return value

    @field_validator("posting_slots")
    @classmethod
    def _slots(cls, value: list[str]) -> list[str]:
        for slot in value:
            if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", slot):
                raise ValueError(Notice("slot_format", text=slot))
        return sorted(set(value))


class FacebookChannel(_Strict):
    """A ``kind = "facebook"`` channel: one Facebook Page."""

    kind: Literal["facebook"]
    name: Annotated[str, Field(min_length=1)]
    page_id: Digits
    base_url: HttpUrl = "https://graph.facebook.com"
    #: The Graph API version every call of this Page names (one key; Meta serves an expired
    #: version as the oldest live one, so Loa warns before its end date: see graph_versions).
    graph_version: Annotated[str, Field(pattern=r"^v[0-9]{1,3}\.0$")] = DEFAULT_GRAPH_VERSION
    token: SecretRef
    #: The Meta app's secret, when the app has "Require App Secret" on: every call then carries
    #: ``appsecret_proof`` (HMAC-SHA256 of the token keyed by this secret); referenced as
    #: ``{ env = ... }`` or ``{ file = ... }``, never inline.
    app_secret: SecretRef | None = None
    #: The token Meta sends back in its webhook verification handshake (``hub.verify_token``),
    #: chosen by the office when it subscribes the app; the app secret signs the deliveries.
    verify_token: SecretRef | None = None
    #: The Meta app has the reviewed Human Agent feature: an officer may answer a Messenger
    #: message up to 7 days after it (HUMAN_AGENT tag) instead of 24 hours.
    human_agent: bool = False
    insight_metrics: list[str] = list(DEFAULT_FACEBOOK_METRICS)
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    max_concurrency: Annotated[int, Field(ge=1, le=50)] = 4


class ZaloChannel(_Strict):
    """A ``kind = "zalo_oa"`` channel: one Zalo Official Account."""

    kind: Literal["zalo_oa"]
    name: Annotated[str, Field(min_length=1)]
    oa_id: Digits
    app_id: Digits
    base_url: HttpUrl = "https://openapi.zalo.me"
    oauth_url: HttpUrl = "https://oauth.zaloapp.com"
    app_secret: SecretRef
    #: Only needed once: the first refresh token, before Loa keeps its own in the database.
    refresh_token: SecretRef | None = None
    #: The OA Secret Key of the app's Webhook settings (not the app secret): it signs the
    #: events Zalo delivers (``X-ZEvent-Signature``).
    webhook_secret: SecretRef | None = None
    #: Shown as the article's author (Zalo allows fewer than 50 characters).
    author: Annotated[str, Field(max_length=49)] | None = None
    broadcast: bool = False
    #: Broadcasts each follower may receive a month (the OA's package: Basic 1, Advanced 4,
    #: Premium 6); Loa never sends more than this, nor more than one a day.
    broadcasts_per_month: Annotated[int, Field(ge=0, le=31)] = 4
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    max_concurrency: Annotated[int, Field(ge=1, le=50)] = 4


Channel = FacebookChannel | ZaloChannel


class InboxConfig(_Strict):
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


class Media(_Strict):
    """The ``[media]`` table: where images are published so Zalo can fetch them."""

    directory: Path
    public_base_url: HttpUrl


class Email(_Strict):
    """The ``[email]`` table: SMTP for the weekly summary and alerts."""

    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    user: str | None = None
    password: SecretRef | None = None
    from_: Annotated[str, Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$")]
    to: Annotated[list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]], Field(min_length=1)]
    cc: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = []


PostsPerWeek = Annotated[int, Field(ge=0, le=100)]


class UnitConfig(_Strict):
    """A ``[units.ID]`` table: the province, a ward or a commune (see content.units)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    #: The unit it reports to (none: a top unit, the province).
    parent: str | None = None
    #: Its own channels; each channel is in one unit at most.
    channels: list[str] = []
    #: Its own target on each of its channels, instead of ``[targets] posts_per_week``.
    posts_per_week: PostsPerWeek | None = None


class CampaignQuotaConfig(_Strict):
    """A ``[targets.campaigns."NAME"]`` table: posts of campaign NAME each unit publishes."""

    from_: Annotated[date, Field(alias="from")]
    to: date
    posts_per_unit: Annotated[int, Field(ge=1, le=1000)]
    #: The units held to it; none: every unit.
    units: list[str] = []


class Targets(_Strict):
    """The ``[targets]`` table: what every unit is held to (content.evaluation judges it)."""

    #: Publications a week on each channel of every unit that names no target of its own.
    posts_per_week: PostsPerWeek | None = None
    campaigns: dict[str, CampaignQuotaConfig] = {}


class Reporting(_Strict):
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


class CalendarInfographic(_Strict):
    """An entry's infographic: a template of content/templates and its fields."""

    template: Annotated[str, Field(min_length=1)]
    fields: dict[str, str] = {}


class CalendarEntryConfig(_Strict):
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
                Notice("calendar_placeholder", name=unknown[0], known=_PLACEHOLDER_NAMES)
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


_PLACEHOLDER_NAMES = [f"{{{p}}}" for p in cal.PLACEHOLDERS]


@dataclass(frozen=True)
class Config:
    """Everything channels.toml says."""

    path: Path
    office: Office
    channels: dict[str, Channel]
    groups: dict[str, tuple[str, ...]]
    media: Media | None
    email: Email | None
    inbox: InboxConfig = InboxConfig()
    units: UnitTree = UnitTree()
    reporting: Reporting = Reporting()
    #: The movement's fixed dates (Loa's built-in August 19 unless disabled).
    calendar: tuple[cal.CalendarEntry, ...] = ()

    def directory(self) -> ChannelDirectory:
        """The plain-value view the content layer works with."""
        office = OfficeSettings(
            name=self.office.name,
            timezone=ZoneInfo(self.office.timezone),
            language=self.office.language,
            require_second_approver=self.office.require_second_approver,
            min_spacing=timedelta(minutes=self.office.min_spacing_minutes),
            posting_slots=tuple(time.fromisoformat(s) for s in self.office.posting_slots),
        )
        channels = {
            cid: ChannelInfo(
                id=cid,
                kind=ch.kind,
                name=ch.name,
                broadcast=isinstance(ch, ZaloChannel) and ch.broadcast,
            )
            for cid, ch in self.channels.items()
        }
        return ChannelDirectory(
            office=office, channels=channels, groups=self.groups, units=self.units
        )


def find_config(explicit: str | None = None, environ: dict[str, str] | None = None) -> Path:
    """The config file: ``--config``, else LOA_CONFIG, else ./channels.toml."""
    env = os.environ if environ is None else environ
    chosen = explicit or env.get("LOA_CONFIG") or DEFAULT_CONFIG
    path = Path(chosen).expanduser()
    if not path.is_file():
        if explicit or env.get("LOA_CONFIG"):
            raise ConfigError("config_not_found", path=str(path))
        raise ConfigError("config_not_found_hint", path=str(path))
    return path


def load(path: Path) -> Config:
    """Parse and validate channels.toml."""
    try:
        raw_text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("file_unreadable", path=str(path), reason=os_reason(exc)) from None
    try:
        data = tomllib.loads(raw_text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            "toml_invalid", where=f"{path}:{_toml_error_line(exc)}", detail=_toml_reason(exc)
        ) from None
    where = _Locator(path, raw_text)
    allowed = {"office", "channels", "groups", "media", "email", "inbox"}
    allowed |= {"units", "targets", "reporting", "calendar"}
    for key in data:
        if key not in allowed:
            raise ConfigError("config_unknown_table", where=where.at((key,)), known=sorted(allowed))
    if "office" not in data:
        raise ConfigError("config_no_office", where=f"{path}:1: office")
    office = _model(Office, data["office"], ("office",), where)
    if office.credential_key_file is not None:
        key_file = path.parent / office.credential_key_file.expanduser()  # absolute stays
        office = office.model_copy(update={"credential_key_file": key_file})
    channels_raw = data.get("channels", {})
    if not isinstance(channels_raw, dict) or not channels_raw:
        raise ConfigError("config_no_channels", where=where.at(("channels",)))
    channels: dict[str, Channel] = {}
    for cid, table in channels_raw.items():
        loc = ("channels", cid)
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", cid):
            raise ConfigError("channel_id_format", where=where.at(loc))
        if not isinstance(table, dict):
            raise ConfigError("channel_table", where=where.at(loc))
        kind = table.get("kind")
        if kind is None:
            raise ConfigError("kind_missing", where=where.at((*loc, "kind")), known=sorted(KINDS))
        if kind not in KINDS:
            raise ConfigError(
                "kind_unknown", where=where.at((*loc, "kind")), kind=kind, known=sorted(KINDS)
            )
        fields = _secrets(table, loc, where, path.parent)
        model: type[_Strict] = FacebookChannel if kind == FACEBOOK else ZaloChannel
        channels[cid] = _model(model, fields, loc, where)  # type: ignore[assignment]
    groups = _groups(data.get("groups", {}), channels, where)
    media = None
    if "media" in data:
        media = _model(Media, data["media"], ("media",), where)
        if not media.directory.is_absolute():
            media = media.model_copy(
                update={"directory": (path.parent / media.directory).resolve()}
            )
    email = None
    if "email" in data:
        email_fields = _secrets(data["email"], ("email",), where, path.parent)
        email = _model(Email, email_fields, ("email",), where)
    assert ZALO_OA in KINDS
    inbox: InboxConfig = _model(InboxConfig, data.get("inbox", {}), ("inbox",), where)
    units = _units(data, channels, groups, where, inbox)
    return Config(
        path=path,
        office=office,  # type: ignore[arg-type]
        channels=channels,
        groups=groups,
        media=media,  # type: ignore[arg-type]
        email=email,  # type: ignore[arg-type]
        inbox=inbox,
        units=units,
        reporting=_model(Reporting, data.get("reporting", {}), ("reporting",), where),
        calendar=_calendar(data.get("calendar", {}), channels, units, office.name, where),
    )


def _secrets(
    table: dict[str, Any], loc: tuple[str, ...], where: _Locator, base: Path
) -> dict[str, Any]:
    """Turn secret references into SecretRef, refusing inline secrets."""
    fields = dict(table)
    for key in SECRET_KEYS & fields.keys():
        value = fields[key]
        here = (*loc, key)
        if not isinstance(value, dict):
            raise ConfigError("secret_inline", where=where.at(here), key=key)
        if set(value) == {"env"} and isinstance(value["env"], str) and value["env"]:
            fields[key] = SecretRef(env=value["env"], where=where.at(here))
        elif set(value) == {"file"} and isinstance(value["file"], str) and value["file"]:
            file = Path(value["file"]).expanduser()
            file = file if file.is_absolute() else base / file
            _check_secret_file(file, where.at(here), must_exist=False)
            fields[key] = SecretRef(file=file, where=where.at(here))
        else:
            raise ConfigError("secret_ref_format", where=where.at(here))
    return fields


def _check_secret_file(file: Path, where: str, *, must_exist: bool) -> None:
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        if must_exist:
            raise ConfigError("secret_file_missing", where=where, file=str(file)) from None
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            "secret_file_mode", where=where, file=str(file), mode=f"{stat.S_IMODE(mode):04o}"
        )


def _groups(raw: Any, channels: dict[str, Channel], where: _Locator) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise ConfigError("groups_table", where=where.at(("groups",)))
    groups: dict[str, tuple[str, ...]] = {}
    for name, members in raw.items():
        loc = ("groups", name)
        if name in channels:
            raise ConfigError("group_is_channel", where=where.at(loc), name=name)
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ConfigError("group_list", where=where.at(loc))
        for member in members:
            if member not in channels:
                raise ConfigError(
                    "group_unknown_channel",
                    where=where.at(loc),
                    name=member,
                    known=sorted(channels),
                )
        groups[name] = tuple(members)
    return groups


def _units(
    data: dict[str, Any],
    channels: dict[str, Channel],
    groups: dict[str, tuple[str, ...]],
    where: _Locator,
    inbox: InboxConfig,
) -> UnitTree:
    """``[units.ID]`` and ``[targets]`` as the checked tree (see content.units); each unit is
    held to the office's promise to citizens, ``[inbox] response_target_hours``."""
    targets: Targets = _model(Targets, data.get("targets", {}), ("targets",), where)
    raw = data.get("units", {})
    if not isinstance(raw, dict):
        raise ConfigError("expected_table", where=where.at(("units",)))
    units = []
    for uid, table in raw.items():
        loc = ("units", uid)
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", uid):
            raise ConfigError("unit_id_format", where=where.at(loc))
        if uid in channels or uid in groups:
            raise ConfigError("unit_name_taken", where=where.at(loc), name=uid)
        unit: UnitConfig = _model(UnitConfig, table, loc, where)
        own = unit.posts_per_week
        units.append(
            UnitInfo(
                id=uid,
                name=unit.name,
                parent=unit.parent,
                channels=tuple(unit.channels),
                posts_per_week=targets.posts_per_week if own is None else own,
            )
        )
    quotas = []
    for campaign, quota in targets.campaigns.items():
        if quota.to < quota.from_:
            raise ConfigError(
                "day_before",
                where=where.at(("targets", "campaigns", campaign, "to")),
                last=quota.to.isoformat(),
                first=quota.from_.isoformat(),
            )
        quotas.append(
            CampaignQuota(campaign, quota.from_, quota.to, quota.posts_per_unit, tuple(quota.units))
        )
    try:
        tree = build_tree(units, channels, quotas)
    except UnitError as exc:
        raise ConfigError(exc.code, where=where.at(exc.loc), **exc.params) from None
    return replace(tree, response_target=timedelta(hours=inbox.response_target_hours))


def _calendar(
    raw: Any,
    channels: dict[str, Channel],
    units: UnitTree,
    office: str,
    where: _Locator,
) -> tuple[cal.CalendarEntry, ...]:
    """``[calendar."NAME"]`` tables over Loa's built-in entries: each checked against the
    units, the templates and, with each unit's name filled in, its channels' title limit."""
    if not isinstance(raw, dict):
        raise ConfigError("expected_table", where=where.at(("calendar",)))
    names = [*cal.BUILTIN, *(n for n in raw if n not in cal.BUILTIN)]
    entries = []
    for name in names:
        loc = ("calendar", name)
        if not 1 <= len(name) <= 100 or name != name.strip():
            raise ConfigError("calendar_name", where=where.at(loc))
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError("expected_table", where=where.at(loc))
        entry: CalendarEntryConfig = _model(
            CalendarEntryConfig, {**cal.BUILTIN.get(name, {}), **table}, loc, where
        )
        if not entry.enabled:
            continue
        chosen = () if cal.EVERY_UNIT in entry.units else tuple(entry.units)
        for unit in chosen:
            if unit not in units:
                known: Any = sorted(units.units) or Notice("none_configured")
                raise ConfigError(
                    "calendar_unknown_unit",
                    where=where.at((*loc, "units")),
                    name=unit,
                    known=known,
                )
        graphic = None
        if entry.infographic is not None:
            if not cal.template_exists(entry.infographic.template):
                raise ConfigError(
                    "calendar_template",
                    where=where.at((*loc, "infographic", "template")),
                    name=entry.infographic.template,
                )
            for key, value in entry.infographic.fields.items():
                unknown = cal.unknown_placeholders(value)
                if unknown:
                    raise ConfigError(
                        "calendar_placeholder",
                        where=where.at((*loc, "infographic", "fields", key)),
                        name=unknown[0],
                        known=_PLACEHOLDER_NAMES,
                    )
            graphic = entry.infographic.model_dump()
        month, day = (int(part) for part in entry.date.split("-"))
        made = cal.CalendarEntry(
            name=name,
            month=month,
            day=day,
            text=entry.text,
            title=entry.title,
            campaign=entry.campaign or "",
            lead_days=entry.lead_days,
            at=time.fromisoformat(entry.time),
            units=chosen,
            infographic=graphic,
            tags=tuple(entry.tags),
            builtin=name in cal.BUILTIN,
        )
        _check_calendar_titles(made, channels, units, office, where)
        entries.append(made)
    return tuple(entries)


def _check_calendar_titles(
    entry: cal.CalendarEntry,
    channels: dict[str, Channel],
    units: UnitTree,
    office: str,
    where: _Locator,
) -> None:
    """Refuse now a title that, with a unit's name in it, one of its channels would refuse
    on the day the drafts are made."""
    targets = [u for u in units if entry.for_unit(u.id)] or [
        UnitInfo(cal.OFFICE_UNIT, office, channels=tuple(channels))
    ]
    day = entry.on(2026)
    for unit in targets:
        title = cal.fill(entry.title or entry.name, unit, day)
        for cid in unit.channels:
            limit = TEXT_LIMITS[channels[cid].kind].title
            if limit is not None and length(title) > limit:
                raise ConfigError(
                    "calendar_title_long",
                    where=where.at(("calendar", entry.name, "title")),
                    unit=unit.id,
                    n=length(title),
                    channel=cid,
                    limit=limit,
                )


def _model(model: type[BaseModel], data: Any, loc: tuple[str, ...], where: _Locator) -> Any:
    if not isinstance(data, dict):
        raise ConfigError("expected_table", where=where.at(loc))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field_loc = tuple(str(p) for p in error["loc"])
        code, params = _explain(model, error)
        raise ConfigError(code, where=where.at((*loc, *field_loc)), **params) from None


#: What a key's value must look like, for a value that does not match its pattern.
_HINTS = {
    "page_id": "page_id",
    "oa_id": "oa_id",
    "app_id": "app_id",
    "base_url": "url",
    "oauth_url": "url",
    "public_base_url": "url",
    "graph_version": "graph_version",
    "primary": "colour",
    "accent": "colour",
}
#: pydantic's error types Loa says in its own words (with their ``ctx`` as parameters).
_PYDANTIC_CODES = {
    "greater_than": "value_gt",
    "greater_than_equal": "value_ge",
    "less_than": "value_lt",
    "less_than_equal": "value_le",
    "int_parsing": "value_int",
    "int_type": "value_int",
    "int_from_float": "value_int",
    "float_parsing": "value_number",
    "float_type": "value_number",
    "bool_parsing": "value_bool",
    "bool_type": "value_bool",
    "string_type": "value_text",
    "list_type": "value_list",
    "string_too_long": "value_too_long",
    "literal_error": "value_choice",
}


def _explain(model: type[BaseModel], error: Any) -> tuple[str, dict[str, Any]]:
    """The code and parameters of a pydantic error, as ConfigError says it."""
    kind = error["type"]
    name = str(error["loc"][0]) if error["loc"] else ""
    value = error.get("input")
    if kind == "missing":
        info = model.model_fields.get(name.rstrip("_")) or model.model_fields.get(name)
        if info is not None and info.description:
            return "key_missing_doc", {"doc": info.description}
        return "key_missing", {}
    if kind == "extra_forbidden":
        return "key_unknown", {"known": sorted(model.model_fields)}
    if kind == "string_pattern_mismatch":
        return "value_format", {"value": value, "hint": _HINTS.get(name, "other")}
    if kind == "value_error":  # Loa's own validators raise ValueError(Notice(...))
        said = error.get("ctx", {}).get("error")
        notice = said.args[0] if isinstance(said, ValueError) and said.args else None
        if isinstance(notice, Notice):
            return notice.code, notice.params
    code = _PYDANTIC_CODES.get(kind)
    if code is not None:
        return code, {"value": value, **error.get("ctx", {})}
    # Anything else in pydantic's own (English) words, with the value given.
    return "value_other", {"detail": str(error["msg"]), "value": value}


def _toml_error_line(exc: tomllib.TOMLDecodeError) -> int:
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else 1


def _toml_reason(exc: tomllib.TOMLDecodeError) -> str:
    return re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "syntax error"


class _Locator:
    """Finds the line of a dotted key in the TOML text (tomllib keeps no positions)."""

    _HEADER = re.compile(r"^\s*\[\s*([^\]\[]+?)\s*\]\s*(#.*)?$")
    _KEY = re.compile(r'^\s*("[^"]+"|[A-Za-z0-9_-]+)\s*=')

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                table = tuple(_split_key(header.group(1)))
                self.lines.setdefault(table, number)
                continue
            key = self._KEY.match(line)
            if key:
                self.lines.setdefault((*table, key.group(1).strip('"')), number)

    def at(self, loc: tuple[str, ...], message: str | None = None) -> str:
        """``file:line: dotted.key: message`` for the closest known line of ``loc``."""
        line = 1
        for end in range(len(loc), 0, -1):
            if loc[:end] in self.lines:
                line = self.lines[loc[:end]]
                break
        key = ".".join(p if re.fullmatch(r"[A-Za-z0-9_-]+", p) else f'"{p}"' for p in loc)
        text = f"{self.path}:{line}: {key}"
        return f"{text}: {message}" if message else text


def _split_key(dotted: str) -> list[str]:
    parts = re.findall(r'"([^"]*)"|([^.\s]+)', dotted)
    return [quoted or bare for quoted, bare in parts]

"""channels.toml: parsed in one place into typed settings, with errors that say where.

Every mistake becomes one :class:`ConfigError` line: ``file:line: key: what is expected``.
Secrets are never written in the file: a secret key holds ``{ env = "NAME" }`` or
``{ file = "path" }`` and is read only when a client needs it (:meth:`SecretRef.resolve`).

This module loads the file and says what is wrong in it; the tables' models are in
:mod:`scheduler.config_channels` (office, channels, media, email, secrets) and
:mod:`scheduler.config_sections` (inbox, units, targets, reporting, calendar), and every name
importers use is re-exported here.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, replace
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from content import calendar_campaigns as cal
from content.limits import TEXT_LIMITS, length
from content.messages import Notice, os_reason
from content.office import (
    FACEBOOK,
    KINDS,
    ZALO_OA,
    ChannelDirectory,
    ChannelInfo,
    OfficeSettings,
)
from content.units import CampaignQuota, UnitError, UnitInfo, UnitTree, build_tree
from scheduler.config_channels import (
    DEFAULT_FACEBOOK_METRICS,
    DEFAULT_GRAPH_VERSION,
    SECRET_KEYS,
    Branding,
    Channel,
    ConfigError,
    Email,
    FacebookChannel,
    Media,
    Office,
    SecretRef,
    Strict,
    ZaloChannel,
    check_secret_file,
)
from scheduler.config_sections import (
    PLACEHOLDER_NAMES,
    CalendarEntryConfig,
    CalendarInfographic,
    CampaignQuotaConfig,
    InboxConfig,
    Reporting,
    Targets,
    UnitConfig,
)

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_FACEBOOK_METRICS",
    "DEFAULT_GRAPH_VERSION",
    "SECRET_KEYS",
    "Branding",
    "CalendarEntryConfig",
    "CalendarInfographic",
    "CampaignQuotaConfig",
    "Channel",
    "Config",
    "ConfigError",
    "Email",
    "FacebookChannel",
    "InboxConfig",
    "Media",
    "Office",
    "Reporting",
    "SecretRef",
    "Targets",
    "UnitConfig",
    "ZaloChannel",
    "find_config",
    "load",
]

DEFAULT_CONFIG = "channels.toml"


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
    raw_text, data = _read_toml(path)
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
    channels = _channels(data.get("channels", {}), where, path.parent)
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


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """The text of ``path`` and its TOML tables; unreadable or invalid is a ConfigError."""
    try:
        raw_text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("file_unreadable", path=str(path), reason=os_reason(exc)) from None
    try:
        return raw_text, tomllib.loads(raw_text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            "toml_invalid", where=f"{path}:{_toml_error_line(exc)}", detail=_toml_reason(exc)
        ) from None


def _channels(channels_raw: Any, where: _Locator, base: Path) -> dict[str, Channel]:
    """The ``[channels.*]`` tables, each checked against its kind's model."""
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
        fields = _secrets(table, loc, where, base)
        model: type[Strict] = FacebookChannel if kind == FACEBOOK else ZaloChannel
        channels[cid] = _model(model, fields, loc, where)  # type: ignore[assignment]
    return channels


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
            check_secret_file(file, where.at(here), must_exist=False)
            fields[key] = SecretRef(file=file, where=where.at(here))
        else:
            raise ConfigError("secret_ref_format", where=where.at(here))
    return fields


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
        graphic = _calendar_graphic(entry, loc, where)
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


def _calendar_graphic(
    entry: CalendarEntryConfig, loc: tuple[str, ...], where: _Locator
) -> dict[str, Any] | None:
    """A calendar entry's infographic, its template known and its fields' placeholders too."""
    if entry.infographic is None:
        return None
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
                known=PLACEHOLDER_NAMES,
            )
    return entry.infographic.model_dump()


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

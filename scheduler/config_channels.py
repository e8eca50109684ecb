"""channels.toml's office and channels: ``[office]``, ``[channels.ID]``, ``[media]``, ``[email]``.

The pydantic models of those tables, the secret references their secret keys hold
(:class:`SecretRef`, read only when a client needs the value) and :class:`ConfigError`, which
every part of the configuration raises. :mod:`scheduler.config` loads the file; the other
tables' models are in :mod:`scheduler.config_sections`.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from content.errors import LoaError
from content.messages import Notice
from content.office import DEFAULT_TIMEZONE

SECRET_KEYS = frozenset(
    {"token", "app_secret", "refresh_token", "password", "key", "verify_token", "webhook_secret"}
)
#: Facebook insight metrics read by default (v21+; impressions and reach were retired).
DEFAULT_FACEBOOK_METRICS = ("post_media_view", "post_total_media_view_unique", "post_clicks")
#: The newest Graph API version (v26.0, released 2026-07-29;
#: docs/platforms/facebook-graph.md#versions).
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
        check_secret_file(self.file, self.where, must_exist=True)
        return self.file.read_text(encoding="utf-8").strip()


def check_secret_file(file: Path, where: str, *, must_exist: bool) -> None:
    """Refuse a secret file others can read; a missing one only when ``must_exist``."""
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


class Strict(BaseModel):
    """A table of channels.toml: unknown keys refused, values frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")]
Digits = Annotated[str, Field(pattern=r"^[0-9]{1,30}$")]


class Branding(Strict):
    """Colours and logo used on infographics."""

    primary: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#b71c1c"
    accent: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#ffc107"
    logo: Path | None = None


class Office(Strict):
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


class FacebookChannel(Strict):
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


class ZaloChannel(Strict):
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


class Media(Strict):
    """The ``[media]`` table: where images are published so Zalo can fetch them."""

    directory: Path
    public_base_url: HttpUrl


class Email(Strict):
    """The ``[email]`` table: SMTP for the weekly summary and alerts."""

    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    user: str | None = None
    password: SecretRef | None = None
    from_: Annotated[str, Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$")]
    to: Annotated[list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]], Field(min_length=1)]
    cc: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = []

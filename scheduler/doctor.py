"""`loa doctor`: one line per check, each failure with what to do about it."""

from __future__ import annotations

import asyncio
import os
import smtplib
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from content.db import current_revision, head_revision, session_scope
from content.errors import LoaError
from content.models import Account, Role
from content.times import local_text, utcnow
from scheduler.channels.base import Channel
from scheduler.config import Config, find_config, load

#: Clocks further apart than this make posts leave early or late.
MAX_CLOCK_SKEW_SECONDS = 5.0


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str
    advice: str = ""
    #: Works, but not as an office should run it: shown as ``warn``, not a failure.
    warning: bool = False

    def line(self) -> str:
        """``ok    name  detail``, ``warn  name  detail -> advice`` or ``FAIL ...``."""
        status = "FAIL" if not self.ok else ("warn" if self.warning else "ok  ")
        shown = self.advice and (not self.ok or self.warning)
        tail = f" -> {self.advice}" if shown else ""
        return f"{status}  {self.name:<16} {self.detail}{tail}"


def check_config(explicit: str | None) -> tuple[Check, Config | None]:
    """Can channels.toml be read and validated?"""
    try:
        config = load(find_config(explicit))
    except LoaError as exc:
        return Check("config", False, str(exc), "fix the line named above"), None
    detail = f"{config.path}: {len(config.channels)} channels, {len(config.groups)} groups"
    return Check("config", True, detail), config


def check_database(engine: Engine) -> Check:
    """Reachable, and the schema at the newest migration?"""
    where = engine.url.render_as_string(hide_password=True)
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return Check("database", False, f"{where}: {reason}", "check DATABASE_URL / --db")
    if revision is None:
        # A brand-new database is how every office starts: not a failure.
        return Check(
            "database", True, f"{where}: new and empty; Loa creates its tables on first use"
        )
    if revision != head_revision():
        return Check(
            "database",
            False,
            f"{where}: schema at {revision}, this Loa needs {head_revision()}",
            "run `loa db upgrade`",
        )
    return Check("database", True, f"{where}: schema at {revision}")


def check_accounts(engine: Engine, config: Config) -> Check:
    """Are accounts in force, so that the four-eyes rule and the audit's names hold?"""
    try:
        with session_scope(engine, write=False) as session:
            rows = session.exec(select(Account.role).where(col(Account.active))).all()
    except SQLAlchemyError:  # no such table yet: a new database, or one before accounts
        rows = []
    if not rows:
        return Check(
            "accounts",
            True,
            "none: whoever runs Loa is who he says; the four-eyes rule is not enforced",
            "add the first admin: loa users add NAME --role admin",
            warning=True,
        )
    roles = Counter(rows)
    detail = ", ".join(
        f"{roles[r.value]} {r.value}{'s' if roles[r.value] > 1 else ''}"
        for r in Role
        if roles[r.value]
    )
    approvers = roles[Role.APPROVER.value] + roles[Role.ADMIN.value]
    if config.office.require_second_approver and approvers < 2:
        return Check(
            "accounts",
            True,
            f"{detail}: one approver cannot approve his own posts, so those wait for ever",
            "add a second approver: loa users add NAME --role approver",
            warning=True,
        )
    return Check("accounts", True, f"{detail} (active)")


def check_clock(engine: Engine, config: Config, clock: Callable[[], datetime] = utcnow) -> Check:
    """The office time zone, and this machine's clock against the database server's."""
    tz = config.directory().office.timezone
    now = clock()
    detail = f"{local_text(now, tz)} {tz.key}"
    if engine.dialect.name != "postgresql":
        return Check("clock", True, detail)
    with engine.connect() as conn:
        server_now = conn.execute(text("SELECT now()")).scalar_one()
    skew = abs((server_now - now).total_seconds())
    if skew > MAX_CLOCK_SKEW_SECONDS:
        return Check(
            "clock",
            False,
            f"{detail}; database server differs by {skew:.1f}s",
            "synchronise the clocks (systemd-timesyncd or chrony) on every host",
        )
    return Check("clock", True, f"{detail}; database server within {skew:.1f}s")


async def check_channel(channel_id: str, channel: Channel) -> Check:
    """Token, permissions, Graph version, reachability and rate-limit headroom of one channel.

    The advice is the failing check's own when the client gives one (which permission to grant,
    which token to put where); otherwise it follows what failed: a refused token is renewed,
    an unreachable platform is a network or base_url matter (renewing a token would not help).
    A check that passed with a warning (a Graph version near its end date, a token expiring
    soon) makes the line ``warn`` with that check's advice.
    """
    try:
        health = await channel.health()
    except Exception as exc:  # any failure to even ask is itself the finding
        return Check(
            channel_id, False, f"{type(exc).__name__}: {exc}", "check base_url and network"
        )
    detail = "; ".join(f"{c.name}: {c.detail}" for c in health.checks)
    if health.headroom is not None:
        detail += f"; rate-limit headroom {health.headroom:.0%}"
    failed = [c for c in health.checks if not c.ok]
    names = {c.name for c in failed}
    own = [c.advice for c in failed if c.advice]
    if own:
        advice = "; ".join(dict.fromkeys(own))
    elif "token" in names:
        advice = "renew the token in the secret named in channels.toml, then run `loa doctor` again"
    elif "media store" in names:
        advice = "add a [media] table (directory, public_base_url) to channels.toml"
    else:
        advice = "check the channel's base_url and this server's network, then run `loa doctor`"
    # A warning's advice rides along with a failure's, so neither is lost.
    warned = [c.advice for c in health.checks if c.ok and c.warning and c.advice]
    if health.ok and warned:
        return Check(channel_id, True, detail, "; ".join(dict.fromkeys(warned)), warning=True)
    if warned:
        advice = "; ".join(dict.fromkeys([advice, *warned]))
    return Check(channel_id, health.ok, detail, advice)


def check_smtp(config: Config, timeout: float = 10.0) -> Check:
    """Can the mail server be reached (and logged in to)?"""
    email = config.email
    if email is None:
        return Check("smtp", True, "no [email] table: weekly summaries and alerts are not mailed")
    where = f"{email.host}:{email.port}"
    try:
        password = email.password.resolve() if email.password else None
        smtp_class = smtplib.SMTP_SSL if email.security == "tls" else smtplib.SMTP
        with smtp_class(email.host, email.port, timeout=timeout) as smtp:
            if email.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if email.user and password:
                smtp.login(email.user, password)
            smtp.noop()
    except (OSError, smtplib.SMTPException, LoaError) as exc:
        return Check("smtp", False, f"{where}: {exc}", "check [email] host, port and security")
    return Check("smtp", True, f"{where} answers ({email.security})")


def check_media(config: Config) -> Check:
    """Is the media store directory there and writable?"""
    if config.media is None:
        return Check(
            "media", False, "no [media] table", "Zalo needs public image URLs: add [media]"
        )
    directory = Path(config.media.directory)
    # Check without creating anything: the store makes the directory on first publish.
    existing = next(p for p in (directory, *directory.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return Check(
            "media",
            False,
            f"{directory}: {existing} is not a writable directory",
            "make it writable for Loa",
        )
    return Check("media", True, f"{directory} -> {config.media.public_base_url}")


async def check_channels(channels: dict[str, Channel]) -> list[Check]:
    """All channels at once."""
    return list(await asyncio.gather(*(check_channel(c, ch) for c, ch in channels.items())))

"""Accounts, roles and who is acting.

Loa's four-eyes rule and audit log are only worth what its idea of "who" is worth, so
identity never comes from what a user types:

* in a terminal it is the **operating-system account** (sshd or the console already
  checked it); ``--as`` is allowed to admins only, and the audit keeps both names;
* in ``loa web`` it is the account **signed in** with its password (an argon2 hash), carried
  to the tab's process as a web-session token whose SHA-256 is in the database.

Until the first account exists (a fresh install, the demo, the tests) Loa runs as before:
whoever runs it is who he says, and ``loa doctor`` warns that the four-eyes rule is not
enforced. Once any active account exists, every person must have one.

Roles are ordered: an approver may do what an author may, an admin what an approver may.
An account's *units* are units of the tree, channel groups or channel ids of channels.toml;
it sees and changes only posts of those channels (a unit: its whole subtree's). No units
means every channel (a province account).
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func
from sqlmodel import Session, col, select

from content import audit
from content.db import session_scope
from content.errors import LoaError, NotFound, ValidationError
from content.messages import Notice
from content.models import Account, Role, WebSession
from content.office import ChannelDirectory
from content.times import utcnow

#: Roles in the order of what they may do.
RANK = {Role.AUTHOR: 1, Role.APPROVER: 2, Role.ADMIN: 3}
#: Letters (any script), digits and ``. _ - @``: what OS and e-mail user names use.
_NAME = re.compile(r"[\w.@-]{1,64}")
#: A signed-in browser that has not been used for this long must sign in again.
WEB_IDLE = timedelta(minutes=30)
#: The environment variable through which `loa web` hands a tab's process its session token.
WEB_SESSION_ENV = "LOA_WEB_SESSION"
#: Shortest password ``loa users passwd`` accepts.
MIN_PASSWORD = 10
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name costs as long as a wrong
    password. Made on first use, not at import: hashing takes ~0.3 s, which every ``loa``
    command would otherwise pay at start-up."""
    return _HASHER.hash("loa: no such account")


class AccessDenied(LoaError):
    """The acting person may not do this; nothing was written."""


def fold(name: str) -> str:
    """The comparable form of a person's name: trimmed, NFC and case-folded.

    ``Alice``, `` alice`` and a decomposed ``Ân`` are the same person as ``alice`` and ``ân``.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).strip().casefold())


def os_login() -> str:
    """The login name of the account running this process, from the kernel's user id.

    Not :func:`getpass.getuser`: it believes the ``USER`` and ``LOGNAME`` variables first,
    and ``USER=chief loa post approve 7`` must not make anyone the chief.
    """
    try:
        import pwd
    except ImportError:  # not a POSIX system: the only name there is
        return getpass.getuser()
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a passwd entry (some containers)
        return str(os.geteuid())


def normalize_name(raw: str) -> str:
    """A new account's name, folded (see :func:`fold`); refuses what no login could be."""
    name = fold(raw)
    if not _NAME.fullmatch(name):
        raise ValidationError("user_name", field="name", name=raw)
    return name


def parse_role(raw: str) -> Role:
    """``author``, ``approver`` or ``admin``."""
    try:
        return Role(raw.strip().lower())
    except ValueError:
        raise ValidationError(
            "role_unknown", field="role", name=raw, roles=[r.value for r in Role]
        ) from None


@dataclass(frozen=True)
class Access:
    """Who is acting and what he may touch.

    ``actor`` is the name the action counts as (the post's author, the approver, the audit's
    "who"); ``real`` is who really ran it: the same, except when an admin acts for another
    account with ``--as``. ``role`` None means no account exists yet: nothing is enforced.
    """

    actor: str
    real: str
    role: Role | None = None
    #: The channel ids the account may see and change; None means every channel.
    channels: frozenset[str] | None = None
    os_user: str | None = None

    @property
    def enforced(self) -> bool:
        """True once accounts exist: roles and units are checked."""
        return self.role is not None

    @property
    def acting_for(self) -> str | None:
        """The account acted for under ``--as``, or None."""
        return self.actor if self.actor != self.real else None

    def sees(self, channel: str) -> bool:
        """Whether posts to ``channel`` are shown to this account."""
        return self.channels is None or channel in self.channels

    def sees_any(self, channels: Iterable[str]) -> bool:
        """Whether a post with deliveries to ``channels`` is shown (one of them is enough)."""
        listed = list(channels)
        return self.channels is None or not listed or any(c in self.channels for c in listed)

    def require(self, role: Role, what: str) -> None:
        """Refuse unless the account's role is at least ``role``."""
        if self.role is not None and RANK[self.role] < RANK[role]:
            raise AccessDenied(
                "role",
                user=self.actor,
                role=self.role.value,
                needed=role.value,
                action=what,
            )

    def require_channels(self, channels: Iterable[str], what: str) -> None:
        """Refuse when any of ``channels`` is outside the account's units."""
        if self.channels is None:
            return
        outside = sorted({c for c in channels if c not in self.channels})
        if outside:
            raise AccessDenied(
                "unit",
                user=self.actor,
                channels=outside,
                action=what,
            )

    def audit_fields(self) -> dict[str, str | None]:
        """The audit row's record of who really acted, beside ``actor``."""
        return {"real_actor": self.real if self.acting_for else None, "os_user": self.os_user}


def unenforced(actor: str, *, os_user: str | None = None) -> Access:
    """Access before any account exists: the named person, every channel, every role."""
    return Access(actor=fold(actor), real=fold(actor), os_user=os_user)


def any_active(session: Session) -> bool:
    """Whether accounts are in force (at least one active account exists)."""
    return session.exec(select(func.count()).where(col(Account.active))).one() > 0


def account_channels(account: Account, directory: ChannelDirectory) -> frozenset[str] | None:
    """The channel ids of ``account``'s units; None for every channel (admin or no units).

    A unit removed from channels.toml since is skipped, not an error: the account loses it.
    """
    if account.role == Role.ADMIN or not account.units:
        return None
    ids: set[str] = set()
    for unit in account.units:
        # A unit of the tree holds its subtree's channels: a province account sees its wards.
        ids.update(directory.members(unit) or ())
    return frozenset(ids)


def identify(
    engine: Engine,
    directory: ChannelDirectory,
    *,
    os_user: str,
    as_user: str | None = None,
    web_token: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Access:
    """Who is acting in this process, from the OS account (or a web session) and ``--as``.

    Raises :class:`AccessDenied` for an OS user without an active account once accounts
    exist, a disabled account, an expired web session, and ``--as`` by a non-admin.
    """
    with session_scope(engine) as session:
        if not any_active(session):
            return unenforced(as_user or os_user, os_user=os_user)
        if web_token is not None:
            name = _session_account(session, web_token, clock())
            if name is None:
                raise AccessDenied("session")
            real = _active(session, name)
            os_name: str | None = None
        else:
            real = _active(session, fold(os_user), os_user=os_user)
            os_name = os_user
        acted = real
        if as_user is not None and fold(as_user) != real.name:
            if real.role != Role.ADMIN:
                raise AccessDenied("act_as", user=real.name, role=real.role)
            acted = _active(session, fold(as_user))
        return Access(
            actor=acted.name,
            real=real.name,
            role=Role(acted.role),
            channels=account_channels(acted, directory),
            os_user=os_name,
        )


def _active(session: Session, name: str, *, os_user: str | None = None) -> Account:
    account = session.get(Account, name)
    if account is None:
        if os_user is not None:
            raise AccessDenied("no_account", os_user=os_user, user=name)
        raise AccessDenied("no_account_named", user=name)
    if not account.active:
        raise AccessDenied("disabled", user=name)
    return account


# --- managing accounts -------------------------------------------------------------------


@dataclass(frozen=True)
class AccountView:
    """An account as shown by ``loa users list`` (never the password hash)."""

    name: str
    role: str
    units: tuple[str, ...]
    active: bool
    has_password: bool

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "role": self.role,
            "units": list(self.units),
            "active": self.active,
            "web_password": self.has_password,
        }


class Accounts:
    """Adding and changing accounts, as ``by`` (an admin once accounts exist)."""

    def __init__(
        self,
        engine: Engine,
        directory: ChannelDirectory,
        by: Access,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.by = by
        self.clock = clock

    def all(self) -> list[AccountView]:
        """Every account, by name."""
        with session_scope(self.engine, write=False) as session:
            rows = session.exec(select(Account).order_by(col(Account.name))).all()
            return [_view(a) for a in rows]

    def add(self, name: str, role: Role, units: Sequence[str] = ()) -> AccountView:
        """Create an account. The first one must be an admin, so someone can add the others."""
        folded = normalize_name(name)
        checked = self._units(units)
        now = self.clock()
        with session_scope(self.engine) as session:
            first = not any_active(session)
            if first and role != Role.ADMIN:
                raise ValidationError("first_admin", field="role")
            if not first:
                self._require_admin("add accounts")
            if session.get(Account, folded) is not None:
                raise ValidationError("account_exists", field="name", name=folded)
            account = Account(
                name=folded,
                role=role.value,
                units=checked,
                created_at=now,
                updated_at=now,
            )
            session.add(account)
            self._audit(session, "user_add", folded, None, _record(account), now)
            return _view(account)

    def set_role(self, name: str, role: Role) -> AccountView:
        """Give ``name`` another role; the last active admin cannot lose his."""

        def change(account: Account, session: Session) -> None:
            if account.role == Role.ADMIN and role != Role.ADMIN:
                self._keep_an_admin(session, account.name)
            account.role = role.value

        return self._change(name, "user_role", change)

    def set_units(self, name: str, units: Sequence[str]) -> AccountView:
        """Replace ``name``'s units (none: every channel)."""
        checked = self._units(units)

        def change(account: Account, session: Session) -> None:
            account.units = checked

        return self._change(name, "user_units", change)

    def disable(self, name: str) -> AccountView:
        """Stop ``name`` from using Loa (his web sessions end); the history keeps his name."""

        def change(account: Account, session: Session) -> None:
            if account.role == Role.ADMIN:
                self._keep_an_admin(session, account.name)
            account.active = False
            session.execute(delete(WebSession).where(col(WebSession.account) == account.name))

        return self._change(name, "user_disable", change)

    def enable(self, name: str) -> AccountView:
        """Let a disabled account in again."""

        def change(account: Account, session: Session) -> None:
            account.active = True

        return self._change(name, "user_enable", change)

    def set_password(self, name: str, password: str) -> AccountView:
        """Set the web sign-in password (admins for anyone, a person for himself).

        Every web session of the account ends: a changed password locks out whoever knew
        the old one.
        """
        if len(password) < MIN_PASSWORD:
            raise ValidationError("password_short", field="password", n=MIN_PASSWORD)
        hashed = _HASHER.hash(password)

        def change(account: Account, session: Session) -> None:
            account.password_hash = hashed
            session.execute(delete(WebSession).where(col(WebSession.account) == account.name))

        return self._change(name, "user_password", change, self_allowed=True)

    # --- helpers

    def _change(
        self,
        name: str,
        action: str,
        change: Callable[[Account, Session], None],
        *,
        self_allowed: bool = False,
    ) -> AccountView:
        folded = fold(name)
        if not (self_allowed and folded == self.by.real):
            self._require_admin("change accounts")
        now = self.clock()
        with session_scope(self.engine) as session:
            account = session.get(Account, folded, with_for_update=True)
            if account is None:
                raise NotFound("account_missing", name=folded)
            before = _record(account)
            change(account, session)
            account.updated_at = now
            session.add(account)
            self._audit(session, action, folded, before, _record(account), now)
            return _view(account)

    def _require_admin(self, what: str) -> None:
        if self.by.enforced and self.by.real != self.by.actor:
            # Acting for someone else (--as) is for posts, not for changing accounts.
            raise AccessDenied("act_as_accounts")
        if self.by.enforced and self.by.role != Role.ADMIN:
            raise AccessDenied(
                "admin_only",
                user=self.by.actor,
                role=(self.by.role or Role.AUTHOR).value,
                action=what,
            )

    def _keep_an_admin(self, session: Session, name: str) -> None:
        others = session.exec(
            select(func.count()).where(
                col(Account.active), Account.role == Role.ADMIN.value, Account.name != name
            )
        ).one()
        if others == 0:
            raise ValidationError("last_admin", field="name", name=name)

    def _units(self, units: Sequence[str]) -> list[str]:
        result: list[str] = []
        for raw in units:
            unit = raw.strip()
            if self.directory.members(unit) is None:
                known = sorted(
                    [*self.directory.units.units, *self.directory.groups, *self.directory.channels]
                )
                raise ValidationError(
                    "unit_unknown",
                    field="unit",
                    unit=unit,
                    known=known or Notice("none_configured"),
                )
            if unit not in result:
                result.append(unit)
        return result

    def _audit(
        self,
        session: Session,
        action: str,
        name: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        now: datetime,
    ) -> None:
        audit.write(
            session,
            [
                dict(
                    at=now,
                    actor=self.by.actor,
                    action=action,
                    post_id=None,
                    before=before,
                    after=after,
                    detail=f"account {name}",
                    **self.by.audit_fields(),
                )
            ],
        )


def _record(account: Account) -> dict[str, Any]:
    """The audit view of an account (no password hash; only whether one is set)."""
    return {
        "role": account.role,
        "units": list(account.units),
        "active": account.active,
        "web_password": account.password_hash is not None,
    }


def _view(account: Account) -> AccountView:
    return AccountView(
        name=account.name,
        role=account.role,
        units=tuple(account.units),
        active=account.active,
        has_password=account.password_hash is not None,
    )


# --- web sign-in ---------------------------------------------------------------------------


def sign_in(
    engine: Engine,
    name: str,
    password: str,
    *,
    remote: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> str:
    """Check a web sign-in; returns a new session token (for the cookie).

    Every attempt is audited (``sign_in`` or ``sign_in_failed``, with the remote address).
    A wrong name, a wrong password, no password set and a disabled account all give the
    same :class:`AccessDenied`, so the page does not tell which names exist.
    """
    folded = fold(name)
    now = clock()
    with session_scope(engine) as session:
        account = session.get(Account, folded) if folded else None
        stored = account.password_hash if account is not None else None
        ok = _verify(stored or _dummy_hash(), password) and stored is not None
        if ok and account is not None and account.active:
            token = secrets.token_urlsafe(32)
            session.add(
                WebSession(
                    token_hash=_digest(token), account=folded, created_at=now, last_seen_at=now
                )
            )
            if _HASHER.check_needs_rehash(stored or ""):
                account.password_hash = _HASHER.hash(password)
                session.add(account)
            _sign_in_audit(session, "sign_in", folded, remote, now)
            return token
    # Recorded in its own transaction: the refusal must not roll it back.
    with session_scope(engine) as session:
        _sign_in_audit(session, "sign_in_failed", folded[:100] or "?", remote, now)
    raise AccessDenied("sign_in")


def sign_out(engine: Engine, token: str) -> None:
    """End a web session (the sign-out button)."""
    with session_scope(engine) as session:
        session.execute(delete(WebSession).where(col(WebSession.token_hash) == _digest(token)))


def session_account(
    engine: Engine, token: str, *, clock: Callable[[], datetime] = utcnow
) -> str | None:
    """The active account signed in with ``token``, or None (unknown, idle too long, disabled).

    Each use keeps the session alive for another :data:`WEB_IDLE`.
    """
    with session_scope(engine) as session:
        name = _session_account(session, token, clock())
        if name is None:
            return None
        account = session.get(Account, name)
        return name if account is not None and account.active else None


def _session_account(session: Session, token: str, now: datetime) -> str | None:
    row = session.get(WebSession, _digest(token))
    if row is None:
        return None
    if now - row.last_seen_at > WEB_IDLE:
        session.delete(row)
        return None
    row.last_seen_at = now
    session.add(row)
    return row.account


def _sign_in_audit(
    session: Session, action: str, name: str, remote: str | None, now: datetime
) -> None:
    audit.write(
        session,
        [
            dict(
                at=now,
                actor=name,
                action=action,
                post_id=None,
                detail=f"web from {remote}" if remote else "web",
            )
        ],
    )


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

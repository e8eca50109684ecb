"""Rotating Zalo OA tokens, kept in the database (table ``credential``), encrypted at rest.

Zalo's refresh tokens are single-use: a successful refresh returns a new pair and kills both
the old refresh token and the old access token. Losing the new refresh token (a crash between
the refresh call and the write, or two workers refreshing at once) loses the OA until an admin
re-consents. So:

* **One refresh at a time per OA, across processes.** A refresh *lease* lives in the row
  itself: an odd ``version`` means "a refresh is in flight since ``updated_at``". The lease is
  taken and released in short database-locked transactions (PostgreSQL ``SELECT ... FOR
  UPDATE``; SQLite ``BEGIN IMMEDIATE``), and the refresh HTTP call runs while the lease is held.
  No database lock is held across the network call, so a slow token endpoint never blocks
  the dispatcher's writes (on SQLite a write lock is database-wide) and an asyncio process can
  never deadlock against its own lock.
* **The old refresh token stays stored until the new pair is committed.** The lease is
  committed *before* the call, so the row always says what is going on. The new pair is
  committed right after the answer, before the access token is handed to anyone, in one
  transaction with the previous refresh token moved to ``previous_refresh_enc``. The call and
  that commit are shielded from task cancellation (a daemon shutting down mid-refresh still
  saves the answer).
* **A crash mid-call is detected, not guessed.** A lease older than :data:`LEASE` means its
  holder died. The next refresh takes it over (as the next odd version, so that the dead
  holder's lease no longer matches) and tries the stored (old) refresh token: if the
  dead holder's call never reached Zalo it simply works; if Zalo had already rotated the pair,
  Zalo refuses it and the error says plainly that an OA admin must re-consent.
* **Refresh early.** Access tokens live 25 h; Loa refreshes when less than 12 h are left.

The key that encrypts the tokens (where it comes from, its fingerprint in the database) is
:mod:`scheduler.channels.credential_key`'s; its names are importable from here too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine
from sqlmodel import Session, select

from content.errors import LoaError
from content.models import Credential
from scheduler.channels.base import AuthError
from scheduler.channels.credential_key import (
    FINGERPRINT_PURPOSE,
    KEY_ENV,
    KEY_FILE_ENV,
    KEY_FILE_NAME,
    CredentialKey,
    CredentialKeyError,
    check_fingerprint,
    default_key_path,
    key_fingerprint,
    key_location,
    resolve_key,
)
from scheduler.channels.http import get_logger, register_secret
from scheduler.channels.zalo_oauth import TokenPair, ZaloOAuthClient
from scheduler.config import Config, ZaloChannel

log = get_logger("channels.credentials")


#: Names others import from here (the daemon, the inbox jobs, the tests): the key's names
#: live in credential_key.
__all__ = [
    "FINGERPRINT_PURPOSE",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "KEY_FILE_NAME",
    "LEASE",
    "AccessToken",
    "CredentialKey",
    "CredentialKeyError",
    "RefreshHooks",
    "TokenStore",
    "bootstrap_token",
    "check_fingerprint",
    "default_key_path",
    "key_fingerprint",
    "key_location",
    "oauth_client",
    "refresh_if_due",
    "resolve_key",
]
#: Refresh when less than this is left of the access token's 25 h.
REFRESH_WHEN_LEFT = timedelta(hours=12)
#: Zalo refresh tokens live 3 months from issue (Zalo does not send their lifetime).
REFRESH_TOKEN_LIFETIME = timedelta(days=90)
#: A refresh lease older than this belongs to a dead process. Far above the refresh call's
#: own timeout (15 s), so a live holder is never overtaken.
LEASE = timedelta(seconds=90)
#: How soon a process waiting for another's refresh looks again (doubling up to the maximum:
#: a live refresh takes well under a second, a dead one holds the lease for LEASE).
WAIT_POLL_SECONDS = 0.1
WAIT_POLL_MAX_SECONDS = 5.0

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
Refresher = Callable[[str], Awaitable[TokenPair]]


@dataclass(frozen=True)
class AccessToken:
    """A usable access token (its value never appears in a repr)."""

    value: str = field(repr=False)
    expires_at: datetime | None
    version: int

    def due(self, now: datetime, within: timedelta = REFRESH_WHEN_LEFT) -> bool:
        """True when the token expires within ``within`` (or its expiry is unknown)."""
        return self.expires_at is None or self.expires_at - now < within


@dataclass
class RefreshHooks:
    """Test seams around the refresh call (simulated crashes).

    ``before_call`` runs with the lease committed, before the token endpoint is called;
    ``after_call`` runs once the endpoint answered and the new pair is committed, before the
    new access token is returned.
    """

    before_call: Callable[[], None] | None = None
    after_call: Callable[[], None] | None = None


@dataclass(frozen=True)
class _Lease:
    refresh_token: str = field(repr=False)
    version: int
    taken_over_from: datetime | None


@dataclass(frozen=True)
class _Wait:
    seconds: float


class TokenStore:
    """The database-backed, encrypted store of each Zalo OA's rotating token pair."""

    def __init__(
        self,
        engine: Engine,
        *,
        key: bytes | None = None,
        key_file: Path | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        hooks: RefreshHooks | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        self._engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))
        credential_key = (
            CredentialKey(key, "the key given")  # tests and tools hand the key in
            if key
            else resolve_key(engine, key_file, environ=environ)
        )
        # Checked here, when the store is made: a daemon (or doctor) with another key stops
        # at start with one line, instead of pausing every Zalo channel at its first call.
        self.fingerprint = check_fingerprint(engine, credential_key, now=self._clock())
        self._fernet = Fernet(credential_key.value)
        self._sleep = sleep or asyncio.sleep
        self.hooks = hooks or RefreshHooks()
        self._lease = lease
        self._sqlite = engine.url.get_backend_name() == "sqlite"
        # One refresh per OA inside this process too (the lease handles other processes).
        self._local: dict[str, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"TokenStore({self._engine.url.render_as_string(hide_password=True)!r})"

    # ------------------------------------------------------------------ reading

    def now(self) -> datetime:
        """The store's current time (its injected clock)."""
        return self._clock()

    def current(self, channel: str) -> AccessToken | None:
        """The stored access token of ``channel`` (None when there is none yet)."""
        with Session(self._engine) as session:
            row = session.exec(select(Credential).where(Credential.channel == channel)).first()
            return self._access(row) if row is not None else None

    def has_credential(self, channel: str) -> bool:
        """Whether the database holds a token pair (or at least a refresh token) for ``channel``."""
        with Session(self._engine) as session:
            row = session.exec(select(Credential).where(Credential.channel == channel)).first()
            return row is not None and row.refresh_token_enc is not None

    # ------------------------------------------------------------------ getting a token

    async def access_token(
        self,
        channel: str,
        refresher: Refresher,
        *,
        bootstrap: Callable[[], str | None] | None = None,
        stale: AccessToken | None = None,
    ) -> AccessToken:
        """A valid access token for ``channel``, refreshing first when it is due.

        ``stale`` is a token the platform just rejected as expired or invalid: it is replaced
        (by this call, or by whoever refreshed meanwhile). ``bootstrap`` supplies the first
        refresh token when the database has none for the channel yet.
        """
        if stale is None:
            token = self.current(channel)
            if token is not None and not token.due(self._clock()):
                return token
        return await self.refresh(channel, refresher, bootstrap=bootstrap, stale=stale)

    async def refresh(
        self,
        channel: str,
        refresher: Refresher,
        *,
        bootstrap: Callable[[], str | None] | None = None,
        stale: AccessToken | None = None,
        force: bool = False,
    ) -> AccessToken:
        """Refresh ``channel``'s pair unless someone else just did; return the valid token.

        Without ``force`` or ``stale`` nothing happens while the stored token is not due.
        Raises :class:`AuthError` when Zalo refuses the refresh token (re-consent needed) and
        :class:`~scheduler.channels.base.TransientError` when the token endpoint is unreachable.
        """
        lock = self._local.setdefault(channel, asyncio.Lock())
        async with lock:
            lease = await self._wait_for_lease(channel, bootstrap, stale, force)
            if isinstance(lease, AccessToken):
                return lease
            # Shielded: if the calling task is cancelled mid-call, the answer is still saved.
            return await asyncio.shield(self._exchange(channel, refresher, lease, bootstrap))

    async def _wait_for_lease(
        self,
        channel: str,
        bootstrap: Callable[[], str | None] | None,
        stale: AccessToken | None,
        force: bool,
    ) -> _Lease | AccessToken:
        waited, step = 0.0, WAIT_POLL_SECONDS
        while True:
            outcome = self._acquire(channel, bootstrap, stale, force)
            if not isinstance(outcome, _Wait):
                return outcome
            if waited > self._lease.total_seconds() * 2:
                raise AuthError(
                    f"{channel}: another process has been refreshing the Zalo token for too "
                    "long; try again",
                    platform="zalo_oa",
                )
            pause = min(step, outcome.seconds)
            await self._sleep(pause)
            waited += pause
            step = min(step * 2, WAIT_POLL_MAX_SECONDS)

    async def _exchange(
        self,
        channel: str,
        refresher: Refresher,
        lease: _Lease,
        bootstrap: Callable[[], str | None] | None,
    ) -> AccessToken:
        if self.hooks.before_call:
            self.hooks.before_call()
        log.info("%s: refreshing the Zalo token pair (lease %d)", channel, lease.version)
        try:
            try:
                pair = await refresher(lease.refresh_token)
            except AuthError:
                # After a re-consent the admin puts the new refresh token in the configured
                # secret: adopt it instead of insisting on the dead one.
                fresh = bootstrap() if bootstrap else None
                if not fresh or fresh == lease.refresh_token:
                    raise
                register_secret(fresh)
                pair = await refresher(fresh)
                log.info("%s: adopted the configured refresh token (re-consent)", channel)
        except AuthError as exc:
            done = self._release(channel, lease)
            if done is not None:
                return done  # another process completed a refresh meanwhile
            raise self._reconsent(channel, lease, exc) from None
        except BaseException as exc:
            # Unknown outcome (timeout, cancellation before the answer): keep the old token.
            # If Zalo did rotate, the next refresh is refused and says "re-consent".
            self._release(channel, lease)
            log.info(
                "%s: token refresh failed (%r); lease %d given back", channel, exc, lease.version
            )
            raise
        token = self._complete(channel, lease, pair)
        log.info("%s: Zalo token pair rotated (version %d)", channel, token.version)
        if self.hooks.after_call:
            self.hooks.after_call()
        return token

    @staticmethod
    def _reconsent(channel: str, lease: _Lease, exc: AuthError) -> AuthError:
        what = "an OA admin must re-consent (open the OA permission link) and set the new "
        what += "refresh token as refresh_token in channels.toml; Loa adopts it on the next try"
        if lease.taken_over_from is not None:
            return AuthError(
                f"{channel}: a Zalo token refresh started at "
                f"{lease.taken_over_from:%Y-%m-%d %H:%M} UTC was interrupted and Zalo now "
                f"refuses the stored refresh token ({exc.message}); {what}",
                code=exc.code,
                platform="zalo_oa",
            )
        return AuthError(f"{channel}: {exc.message}; {what}", code=exc.code, platform="zalo_oa")

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _locked(self) -> Iterator[Session]:
        """A short transaction holding the write lock (SQLite) / row locks (PostgreSQL)."""
        with Session(self._engine, expire_on_commit=False) as session:
            if self._sqlite:
                # Take the write lock up front: a deferred transaction that reads first and
                # writes later fails with "database is locked" instead of waiting its turn.
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def _row(self, session: Session, channel: str) -> Credential | None:
        query = select(Credential).where(Credential.channel == channel)
        if not self._sqlite:
            query = query.with_for_update()
        return session.exec(query).first()

    def _acquire(
        self,
        channel: str,
        bootstrap: Callable[[], str | None] | None,
        stale: AccessToken | None,
        force: bool,
    ) -> _Lease | AccessToken | _Wait:
        now = self._clock()
        with self._locked() as session:
            row = self._row(session, channel)
            if row is None:
                row = self._bootstrap_row(session, channel, bootstrap, now)
            current = self._access(row)
            if current is not None and stale is None and not force and not current.due(now):
                return current
            taken_over_from = None
            if row.version % 2 == 1:
                held_until = row.updated_at + self._lease
                if now < held_until:
                    return _Wait((held_until - now).total_seconds())
                taken_over_from = row.updated_at
                log.warning(
                    "%s: taking over a Zalo token refresh left unfinished since %s",
                    channel,
                    row.updated_at.isoformat(timespec="seconds"),
                )
            elif current is not None and stale is not None and current.value != stale.value:
                if not current.due(now, timedelta(0)):
                    return current  # someone refreshed after our token was refused
            if row.refresh_token_enc is None:
                raise AuthError(
                    f"{channel}: no Zalo refresh token stored; an OA admin must re-consent",
                    platform="zalo_oa",
                )
            refresh_token = self._decrypt(row.refresh_token_enc, channel)
            # Odd: lease held from now. A takeover moves to the next odd version, so that the
            # interrupted holder's lease no longer matches and ours gives back to even: a
            # taken-over lease made even here was made odd again by its release, and locked
            # the OA for another whole lease after each failed try.
            row.version += 2 if row.version % 2 == 1 else 1
            row.updated_at = now
            session.add(row)
            return _Lease(refresh_token, row.version, taken_over_from)

    def _bootstrap_row(
        self,
        session: Session,
        channel: str,
        bootstrap: Callable[[], str | None] | None,
        now: datetime,
    ) -> Credential:
        token = bootstrap() if bootstrap else None
        if not token:
            raise AuthError(
                f"{channel}: no Zalo token in the database; set refresh_token in channels.toml "
                "once (the first refresh token from the OA consent)",
                platform="zalo_oa",
            )
        register_secret(token)
        row = Credential(
            channel=channel, refresh_token_enc=self._encrypt(token), version=0, updated_at=now
        )
        session.add(row)
        session.flush()
        log.info("%s: Zalo credential created from the configured refresh token", channel)
        return row

    def _complete(self, channel: str, lease: _Lease, pair: TokenPair) -> AccessToken:
        now = self._clock()
        with self._locked() as session:
            row = self._row(session, channel)
            assert row is not None  # rows are never deleted by Loa
            if row.version != lease.version:
                # Our lease was taken over (we were slower than LEASE). This pair is the only
                # valid one now whatever the other process does: store it.
                log.warning(
                    "%s: refresh lease was taken over; storing the new pair anyway", channel
                )
            row.previous_refresh_enc = row.refresh_token_enc
            row.refresh_token_enc = self._encrypt(pair.refresh_token)
            row.access_token_enc = self._encrypt(pair.access_token)
            row.access_expires_at = now + timedelta(seconds=pair.expires_in)
            row.refresh_expires_at = now + REFRESH_TOKEN_LIFETIME
            row.version = row.version + (1 if row.version % 2 == 1 else 2)  # even: settled
            row.updated_at = now
            session.add(row)
            session.flush()
            token = self._access(row)
        assert token is not None
        return token

    def _release(self, channel: str, lease: _Lease) -> AccessToken | None:
        """Give the lease back, keeping the old pair; returns a newer token if one appeared."""
        with self._locked() as session:
            row = self._row(session, channel)
            if row is None:
                return None
            if row.version == lease.version:
                row.version += 1
                row.updated_at = self._clock()
                session.add(row)
                return None
            if row.version % 2 == 0 and row.version > lease.version:
                return self._access(row)
        return None

    # ------------------------------------------------------------------ encryption

    def _encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def _decrypt(self, value: str, channel: str) -> str:
        try:
            plain = self._fernet.decrypt(value.encode()).decode()
        except InvalidToken:
            raise AuthError(
                f"{channel}: the stored Zalo token cannot be decrypted with this key "
                f"({KEY_ENV} or the key file is not the one used when it was stored)",
                platform="zalo_oa",
            ) from None
        register_secret(plain)
        return plain

    def _access(self, row: Credential) -> AccessToken | None:
        if row.access_token_enc is None:
            return None
        return AccessToken(
            value=self._decrypt(row.access_token_enc, row.channel),
            expires_at=row.access_expires_at,
            version=row.version,
        )


async def refresh_if_due(
    channel_id: str,
    config: Config,
    *,
    engine: Engine,
    store: TokenStore | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
    within: timedelta = REFRESH_WHEN_LEFT,
) -> bool:
    """Refresh a Zalo OA's token pair when less than ``within`` is left; True if it rotated.

    For the daemon's token-refresh job (run it every hour or so for each Zalo channel). Safe to
    run from several daemons at once: the lease lets one refresh and the others see its result.
    Raises :class:`AuthError` when the OA needs re-consent.
    """
    channel = config.channels.get(channel_id)
    if not isinstance(channel, ZaloChannel):
        raise LoaError("channel_not_zalo", id=channel_id)
    store = store or TokenStore(engine, key_file=config.office.credential_key_file, clock=clock)
    before = store.current(channel_id)
    if before is not None and not before.due(store.now(), within):
        return False
    oauth = oauth_client(channel_id, channel, transport=transport)
    try:
        after = await store.refresh(
            channel_id, oauth.refresh, bootstrap=bootstrap_token(channel), force=before is None
        )
    finally:
        await oauth.aclose()
    return before is None or after.version != before.version


def oauth_client(
    channel_id: str, channel: ZaloChannel, *, transport: httpx.AsyncBaseTransport | None = None
) -> ZaloOAuthClient:
    """The token-endpoint client of a Zalo channel (its app secret is read now)."""
    try:
        secret = channel.app_secret.resolve()
    except LoaError as exc:
        raise AuthError(
            f"{channel_id}: Zalo app secret unavailable: {exc}", platform="zalo_oa"
        ) from None
    return ZaloOAuthClient(
        oauth_url=channel.oauth_url,
        app_id=channel.app_id,
        app_secret=secret,
        channel=channel_id,
        transport=transport,
        timeout_seconds=channel.timeout_seconds,
    )


def bootstrap_token(channel: ZaloChannel) -> Callable[[], str | None]:
    """Reads the configured first refresh token, only when the database has none."""

    def read() -> str | None:
        if channel.refresh_token is None:
            return None
        try:
            return channel.refresh_token.resolve()
        except LoaError as exc:
            raise AuthError(
                f"no Zalo token in the database and the configured one is unavailable: {exc}",
                platform="zalo_oa",
            ) from None

    return read

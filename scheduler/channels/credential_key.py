"""The key that encrypts the Zalo tokens at rest (:mod:`scheduler.channels.credentials`).

Tokens are encrypted with Fernet. The key comes from ``LOA_CREDENTIAL_KEY``, else a key file:
``LOA_CREDENTIAL_KEY_FILE``, else ``credential_key_file`` in channels.toml's ``[office]``, else
``loa-credential.key`` beside the SQLite database; it is created with mode 0600 when missing.
With PostgreSQL there is no default: daemons on several hosts must share one key, and a key
made in whatever the working directory was would differ per host, so Loa refuses instead.

The database keeps the key's fingerprint (table ``keyfingerprint``: the first 16 hex digits of
its SHA-256, never the key). The first key to use a database records it; a process holding
another key refuses to start with one line naming both, instead of pausing every Zalo
channel later when nothing it reads decrypts.
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from content.errors import LoaError
from content.messages import os_reason
from content.models import Credential, KeyFingerprint
from scheduler.channels.http import get_logger

# The tokens' logger: key and tokens are one subject to whoever reads the log.
log = get_logger("channels.credentials")

KEY_ENV = "LOA_CREDENTIAL_KEY"
#: Where the key file is, for every Loa process of this host (overrides channels.toml).
KEY_FILE_ENV = "LOA_CREDENTIAL_KEY_FILE"
KEY_FILE_NAME = "loa-credential.key"
#: The ``keyfingerprint`` row of the key that encrypts the Zalo tokens.
FINGERPRINT_PURPOSE = "credential"


class CredentialKeyError(LoaError):
    """The encryption key is missing, unreadable, unsafe, or does not match the database.

    Codes (worded in :data:`content.messages.CATALOGUE`): ``key_unset`` (PostgreSQL and no
    key named: ``backend``), ``key_invalid`` (not a Fernet key: ``source``),
    ``key_file_mode`` (readable by others: ``path``, ``mode``), ``key_file_create`` and
    ``key_file_read`` (``path``, ``reason``), ``key_mismatch`` (another key's fingerprint is
    recorded: ``recorded``, ``given``, ``source``), ``key_foreign`` (no fingerprint yet, but
    the stored tokens do not decrypt: ``given``, ``source``).
    """


@dataclass(frozen=True)
class CredentialKey:
    """A Fernet key and where it came from (the key itself never appears in a repr)."""

    value: bytes = field(repr=False)
    #: For messages: ``LOA_CREDENTIAL_KEY`` or the key file's path.
    source: str

    @property
    def fingerprint(self) -> str:
        """What the database records of this key (see :func:`key_fingerprint`)."""
        return key_fingerprint(self.value)


def key_fingerprint(key: bytes) -> str:
    """The first 16 hex digits of the key's SHA-256: names a key without revealing it."""
    return hashlib.sha256(key.strip()).hexdigest()[:16]


def default_key_path(engine: Engine) -> Path | None:
    """``loa-credential.key`` beside the SQLite file; None for PostgreSQL (no safe default)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / KEY_FILE_NAME
    return None


def key_location(
    engine: Engine, key_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The key file to use: ``LOA_CREDENTIAL_KEY_FILE``, else ``key_file`` (channels.toml's
    ``credential_key_file``), else the default beside a SQLite database (None: none)."""
    env = os.environ if environ is None else environ
    if env.get(KEY_FILE_ENV):
        return Path(env[KEY_FILE_ENV]).expanduser()
    return key_file or default_key_path(engine)


def resolve_key(
    engine: Engine, key_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> CredentialKey:
    """The credential key of ``engine``'s database: ``LOA_CREDENTIAL_KEY``, else its key file
    (see :func:`key_location`, created 0600 if missing). With PostgreSQL and no key named,
    :class:`CredentialKeyError` (``key_unset``) rather than a key in the working directory."""
    env = os.environ if environ is None else environ
    if env.get(KEY_ENV):
        return _valid(env[KEY_ENV].strip().encode(), KEY_ENV)
    path = key_location(engine, key_file, env)
    if path is None:
        raise CredentialKeyError("key_unset", backend=engine.url.get_backend_name())
    return _valid(_read_or_create_key_file(path), str(path))


def _valid(key: bytes, where: str) -> CredentialKey:
    try:
        Fernet(key)
    except ValueError:
        raise CredentialKeyError("key_invalid", source=where) from None
    return CredentialKey(key, where)


def check_fingerprint(
    engine: Engine,
    key: CredentialKey,
    *,
    now: datetime | None = None,
    recorded_by: str | None = None,
) -> str:
    """Refuse ``key`` unless it is the database's credential key; returns its fingerprint.

    The first key to use the database records its fingerprint (two processes starting at
    once with different keys: the primary key lets one record, and the other is compared
    with it). A database from before fingerprints whose Zalo tokens do not decrypt with
    ``key`` is refused too, rather than recording the wrong key.
    """
    fingerprint = key.fingerprint
    for _ in range(2):
        with Session(engine) as session:
            row = session.get(KeyFingerprint, FINGERPRINT_PURPOSE)
            if row is not None:
                if row.fingerprint != fingerprint:
                    raise _mismatch(row, key)
                return fingerprint
            _refuse_foreign(session, key)
            session.add(
                KeyFingerprint(
                    purpose=FINGERPRINT_PURPOSE,
                    fingerprint=fingerprint,
                    recorded_at=now or datetime.now(UTC),
                    recorded_by=recorded_by or f"{socket.gethostname()}:{os.getpid()}",
                )
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue  # another process recorded its key meanwhile: compare with it
            log.info("credential key %s recorded in the database (%s)", fingerprint, key.source)
            return fingerprint
    raise AssertionError("unreachable: the fingerprint row exists after a conflict")


def _mismatch(row: KeyFingerprint, key: CredentialKey) -> CredentialKeyError:
    return CredentialKeyError(
        "key_mismatch", recorded=row.fingerprint, given=key.fingerprint, source=key.source
    )


def _refuse_foreign(session: Session, key: CredentialKey) -> None:
    """Tokens stored before fingerprints existed must decrypt with the key about to be
    recorded: otherwise the wrong key would become the database's for good."""
    stored = session.exec(
        select(Credential.refresh_token_enc)
        .where(Credential.refresh_token_enc.is_not(None))  # type: ignore[union-attr]
        .limit(1)
    ).first()
    if stored is None:
        return
    try:
        Fernet(key.value).decrypt(stored.encode())
    except InvalidToken:
        raise CredentialKeyError("key_foreign", given=key.fingerprint, source=key.source) from None


def _read_or_create_key_file(path: Path) -> bytes:
    try:
        # O_EXCL: two processes starting at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise CredentialKeyError("key_file_create", path=str(path), reason=os_reason(exc)) from None
    else:
        with os.fdopen(fd, "wb") as out:
            out.write(Fernet.generate_key())
            out.flush()
            os.fsync(out.fileno())
        log.info("created credential key file %s (mode 0600): back it up with the database", path)
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CredentialKeyError(
                "key_file_mode", path=str(path), mode=f"{stat.S_IMODE(mode):04o}"
            )
        return path.read_bytes().strip()
    except OSError as exc:
        raise CredentialKeyError("key_file_read", path=str(path), reason=os_reason(exc)) from None

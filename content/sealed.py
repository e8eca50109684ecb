"""Citizens' personal data at rest: sealed with the office's credential key (Fernet).

What a citizen sends (texts, names, phone numbers, locations, image references) is the most
sensitive thing Loa holds, so it is never written in clear: :class:`Sealer` encrypts it with
the same Fernet key that protects the Zalo tokens (``LOA_CREDENTIAL_KEY`` or the key file
beside the database; the scheduler loads it and hands the bytes in, content/ reads no file).

A platform's id of a citizen is needed in two ways: in clear to answer him (sealed, opened
only to send a reply) and as something to *look up by* (which thread is his, whose data a
withdrawal names). Fernet tokens differ on every encryption, so the look-up form is a keyed
hash (:meth:`Sealer.index`, HMAC-SHA256 under a key derived from the same key): equal ids give
equal indexes, and without the key the index tells nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from content.errors import LoaError

#: Separates the index key from the encryption key, though both come from one secret.
_INDEX_LABEL = b"loa inbox citizen index v1"


class SealError(LoaError):
    """Sealed data cannot be opened with this key (it was written with another one):
    ``seal_key``."""


class Sealer:
    """Encrypts and decrypts personal data, and makes look-up indexes of platform ids."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._index_key = hmac.new(key, _INDEX_LABEL, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "Sealer(***)"

    def seal(self, value: str | None) -> str | None:
        """``value`` encrypted (None stays None: nothing to hide)."""
        if value is None:
            return None
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, sealed: str | None) -> str | None:
        """The clear text of :meth:`seal`'s output (None for None or purged data)."""
        if sealed is None:
            return None
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SealError("seal_key") from None

    def seal_json(self, value: Any) -> str | None:
        """A JSON value encrypted (None and empty lists or dicts are not stored)."""
        if value is None or value == [] or value == {}:
            return None
        return self.seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def open_json(self, sealed: str | None) -> Any:
        """The JSON value of :meth:`seal_json`'s output."""
        text = self.open(sealed)
        return None if text is None else json.loads(text)

    def seal_bytes(self, value: bytes) -> str:
        """Raw bytes encrypted (an inbound webhook body as received)."""
        return self._fernet.encrypt(value).decode("ascii")

    def open_bytes(self, sealed: str) -> bytes:
        """The bytes of :meth:`seal_bytes`'s output."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii"))
        except InvalidToken:
            raise SealError("seal_key") from None

    def index(self, value: str) -> str:
        """A keyed hash of ``value`` (hex): equal values, equal indexes; nothing else leaks."""
        return hmac.new(self._index_key, value.encode("utf-8"), hashlib.sha256).hexdigest()

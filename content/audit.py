"""The audit log: one append-only row for every change a person (or the daemon) makes.

Every writer goes through :func:`write`, so the rules of the log live in one place:

* **Append-only in the database itself.** Migration 0005 adds triggers that refuse UPDATE,
  DELETE (and on PostgreSQL TRUNCATE) on the table, whoever connects: a bug or a careless
  script cannot rewrite history through Loa's own connection.
* **A hash chain.** Each row carries ``seq`` (1, 2, 3, ... with no gaps) and ``hash``, the
  SHA-256 of the previous row's hash and the row's canonical form (:func:`canonical`). Someone
  who drops the triggers and edits or deletes a row with the ``sqlite3`` shell or ``psql``
  breaks the chain, and :func:`verify` names the first row that no longer fits.

What the chain cannot show on its own: that the *newest* rows were deleted (what remains is
still a valid chain), or that someone rewrote a row *and every hash after it*. Both are caught
by comparing with a head noted earlier (:func:`verify` with ``expect``); an office notes the
head (``loa audit verify`` prints it) somewhere the database's users cannot write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, insert, or_, select, text
from sqlmodel import Session, col

from content.db import session_scope
from content.errors import ValidationError
from content.models import AuditEvent

#: The audit table itself: rows go in through Core (see write).
_AUDIT_TABLE = AuditEvent.__table__  # type: ignore[attr-defined]
#: The row fields the hash covers, besides ``seq``: every column a writer gives (not ``id``,
#: which the database picks, nor ``hash`` itself).
CHAINED_FIELDS = (
    "at",
    "actor",
    "action",
    "post_id",
    "delivery_id",
    "before",
    "after",
    "detail",
    "real_actor",
    "os_user",
)
#: The "previous hash" of row 1.
GENESIS = "0" * 64
#: A UTC offset of zero (rows named in UTC say so).
_ZERO = timedelta(0)
#: Any constant: the PostgreSQL advisory lock that serialises writers of the chain.
_PG_CHAIN_LOCK = 0x10A_0005
#: Shortest prefix of a noted head hash accepted by ``--expect-head`` (64 bits).
MIN_HEAD_PREFIX = 16


def _utc_text(value: datetime) -> str:
    """One fixed text for a time, whatever the database gave back (SQLite text, PG timestamptz)."""
    if value.utcoffset() is None:  # SQLite gives what UTCDateTime stored: UTC without offset
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(seq: int, row: Mapping[str, Any]) -> bytes:
    """The bytes a row's hash is taken over: sorted-key compact JSON of ``seq`` and the
    :data:`CHAINED_FIELDS`, times as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, text as UTF-8.

    SQLite and PostgreSQL give back the same values for a row, so the same bytes.
    """
    fields: dict[str, Any] = {name: row.get(name) for name in CHAINED_FIELDS}
    fields["at"] = _utc_text(fields["at"])
    fields["seq"] = seq
    return json.dumps(
        fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def chain_hash(previous: str, seq: int, row: Mapping[str, Any]) -> str:
    """The hash of the row at ``seq``: SHA-256 (hex) of the previous hash (ASCII hex) and
    :func:`canonical`."""
    return hashlib.sha256(previous.encode("ascii") + canonical(seq, row)).hexdigest()


def _head(connection: Connection | Session) -> tuple[int, str]:
    """(seq, hash) of the newest row, or (0, GENESIS) for an empty log."""
    found = connection.execute(
        text("SELECT seq, hash FROM auditevent ORDER BY seq DESC LIMIT 1")
    ).first()
    return (int(found[0]), str(found[1])) if found is not None else (0, GENESIS)


def write(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` (dicts of AuditEvent's columns) in the caller's transaction.

    Chains them after the newest row: one read of the head per call, however many rows.
    On PostgreSQL the call first takes a transaction-level advisory lock, so two daemons
    never chain onto the same head (the lock is held until the caller commits: write the
    audit last in a transaction). On SQLite the caller's write transaction already
    serialises writers.
    """
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIN_LOCK})
    seq, previous = _head(session)
    chained: list[dict[str, Any]] = []
    for row in rows:
        seq += 1
        previous = chain_hash(previous, seq, row)
        chained.append({**row, "seq": seq, "hash": previous})
    # A Core INSERT on the table, not ORM objects nor an ORM bulk insert: building AuditEvent
    # objects cost more than the write, and the ORM statement flushed the session first.
    session.execute(insert(_AUDIT_TABLE), chained)


# --- verifying ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RowRef:
    """A row as a finding names it."""

    seq: int
    id: int | None
    at: datetime | None
    action: str | None
    hash: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (time in UTC ISO 8601; the faces show it in office time)."""
        return {
            "seq": self.seq,
            "id": self.id,
            "at": self.at.astimezone(UTC).isoformat() if self.at else None,
            "action": self.action,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class Verdict:
    """What :func:`verify` found: ``problem`` None means the log is intact."""

    rows: int
    head: RowRef | None
    problem: str | None = None
    #: The row the problem is at (the changed row, or the one after a gap), when there is one.
    at_row: RowRef | None = None

    @property
    def intact(self) -> bool:
        """True when every row fits the chain (and the noted head, if one was given)."""
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of ``loa audit verify --json``."""
        return {
            "intact": self.intact,
            "rows": self.rows,
            "head": self.head.as_dict() if self.head else None,
            "problem": self.problem,
            "row": self.at_row.as_dict() if self.at_row else None,
        }


def parse_head(raw: str) -> tuple[int, str]:
    """``SEQ:HASH`` as noted from ``loa audit verify`` (the hash may be shortened to its
    first 16 hex digits or more)."""
    seq_text, sep, digest = raw.strip().partition(":")
    digest = digest.strip().lower()
    if (
        not sep
        or not seq_text.strip().isdigit()
        or not (MIN_HEAD_PREFIX <= len(digest) <= 64)
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise ValidationError("audit_head", field="--expect-head", text=raw, n=MIN_HEAD_PREFIX)
    return int(seq_text), digest


def _rows(engine: Engine, batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Every row in chain order, read in batches of ``batch`` (keyset on seq: no long cursor)."""
    columns = [_AUDIT_TABLE.c[name] for name in ("id", "seq", "hash", *CHAINED_FIELDS)]
    after = -1
    while True:
        with session_scope(engine, write=False) as session:
            chunk = [
                dict(r._mapping)
                for r in session.execute(
                    select(*columns)
                    .where(_AUDIT_TABLE.c.seq > after)
                    .order_by(_AUDIT_TABLE.c.seq)
                    .limit(batch)
                )
            ]
        yield from chunk
        if len(chunk) < batch:
            return
        after = chunk[-1]["seq"]


def _ref(row: Mapping[str, Any]) -> RowRef:
    return RowRef(row["seq"], row["id"], row["at"], row["action"], row["hash"])


def _name(row: RowRef, tz: tzinfo) -> str:
    when = "unknown time"
    if row.at is not None:
        local = row.at.astimezone(tz)
        when = local.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if local.utcoffset() == _ZERO else "")
    return f"seq {row.seq} (id {row.id}, {when}, {row.action})"


def verify(engine: Engine, expect: tuple[int, str] | None = None, *, tz: tzinfo = UTC) -> Verdict:
    """Check the whole chain, oldest row first; stop at the first row that does not fit.

    A row whose content (or hash) was changed no longer matches its hash; a deleted row
    leaves a gap in ``seq``. A row rewritten together with its hash shows at the next row,
    whose hash was chained to the old one. ``expect`` (seq, hash or a prefix of it) is a
    head noted earlier: the log must still contain that row unchanged, which also catches
    deleted newest rows and a rewritten tail. Rows are named with their time in ``tz``
    (the office's time zone).
    """
    count = 0
    previous = GENESIS
    last: RowRef | None = None
    for row in _rows(engine):
        ref = _ref(row)
        expected_seq = (last.seq if last else 0) + 1
        if ref.seq != expected_seq:
            after = f" after {_name(last, tz)}" if last else ""
            if ref.seq > expected_seq:
                missing = (
                    f"seq {expected_seq}"
                    if ref.seq == expected_seq + 1
                    else f"seq {expected_seq} to {ref.seq - 1}"
                )
                problem = (
                    f"audit row {missing} is missing (deleted){after}; "
                    f"the log goes on at {_name(ref, tz)}"
                )
            else:
                problem = f"audit row {_name(ref, tz)} is out of place{after} (seq reused)"
            return Verdict(count, last, problem, ref)
        if chain_hash(previous, ref.seq, row) != ref.hash:
            problem = f"audit row {_name(ref, tz)} was changed: it no longer matches its hash" + (
                "" if last is None else f" (or {_name(last, tz)} was rewritten with its hash)"
            )
            return Verdict(count, last, problem, ref)
        previous = ref.hash
        last = ref
        count += 1
    if expect is not None:
        seq, digest = expect
        if last is None or last.seq < seq:
            ends = f"ends at seq {last.seq}" if last else "is empty"
            return Verdict(
                count,
                last,
                f"the noted head seq {seq} is gone: the log now {ends}, "
                f"so rows {(last.seq if last else 0) + 1} to {seq} were deleted",
            )
        noted = _row_at(engine, seq)
        if noted is None or not noted.hash.startswith(digest):
            return Verdict(
                count,
                last,
                f"audit row seq {seq} no longer has the noted hash {digest}: "
                "rows up to it were rewritten with new hashes",
                noted,
            )
    return Verdict(count, last)


def _row_at(engine: Engine, seq: int) -> RowRef | None:
    with session_scope(engine, write=False) as session:
        found = session.execute(
            select(
                _AUDIT_TABLE.c.seq,
                _AUDIT_TABLE.c.id,
                _AUDIT_TABLE.c.at,
                _AUDIT_TABLE.c.action,
                _AUDIT_TABLE.c.hash,
            ).where(_AUDIT_TABLE.c.seq == seq)
        ).first()
    return RowRef(*found) if found is not None else None


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """What ``loa audit list`` asks for; None means any."""

    post_id: int | None = None
    #: A person: matches who the row counts as (actor) or who really acted (real_actor).
    user: str | None = None
    since: datetime | None = None  # inclusive, aware
    until: datetime | None = None  # exclusive, aware
    #: The newest this many rows (still shown oldest first); None for all.
    limit: int | None = None


def find_events(engine: Engine, wanted: AuditFilter) -> list[AuditEvent]:
    """The audit rows ``wanted`` selects, oldest first."""
    query = select(AuditEvent)
    if wanted.post_id is not None:
        query = query.where(col(AuditEvent.post_id) == wanted.post_id)
    if wanted.user is not None:
        # Imported here: content.accounts writes through this module.
        from content.accounts import fold

        # Account names are stored folded: fold what was typed the same way.
        name = fold(wanted.user)
        query = query.where(or_(col(AuditEvent.actor) == name, col(AuditEvent.real_actor) == name))
    if wanted.since is not None:
        query = query.where(col(AuditEvent.at) >= wanted.since)
    if wanted.until is not None:
        query = query.where(col(AuditEvent.at) < wanted.until)
    query = query.order_by(col(AuditEvent.seq).desc())
    if wanted.limit is not None:
        query = query.limit(wanted.limit)
    with session_scope(engine, write=False) as session:
        rows: Sequence[AuditEvent] = session.scalars(query).all()
    return list(reversed(rows))

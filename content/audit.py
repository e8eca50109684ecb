"""The audit log: one append-only row for every change a person (or the daemon) makes.

Every writer goes through :func:`write`, so the rules of the log live in one place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from content.models import AuditEvent

#: The audit table itself: rows go in through Core (see write).
_AUDIT_TABLE = AuditEvent.__table__  # type: ignore[attr-defined]


def write(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` (dicts of AuditEvent's columns) in the caller's transaction."""
    # A Core INSERT on the table, not ORM objects nor an ORM bulk insert: building AuditEvent
    # objects cost more than the write, and the ORM statement flushed the session first.
    if rows:
        session.execute(insert(_AUDIT_TABLE), rows)

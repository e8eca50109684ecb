"""What the platform says about a citizen, kept on his thread: Zalo's under-18 flag.

Zalo's profile (``GET /v3.0/oa/user/detail``) carries ``is_sensitive``: "true = account is under 18"
(docs/platforms/zalo-oa.md#reading-conversations-and-profiles): a triage flag, and a minor's
location and attachments are sensitive data kept from most officers (docs/personal-data.md#minors).
Loa asks once per Zalo thread (the daemon, with its backfill:
:func:`scheduler.inbox_jobs.check_profiles`) and keeps the answer on the thread:

* the list, the thread and ``--json`` say "under 18";
* once accounts exist, only an approver (or an admin) may export a minor's attachments
  (:func:`content.inbox_media.open_attachment`) or see where he said he is (a location's
  coordinates are withheld from other officers in the thread view).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import col, select

from content import audit
from content.db import session_scope
from content.models import InboxThread, ThreadKind
from content.sealed import Sealer

#: Profiles asked per channel and run (each is one API call).
PER_RUN = 50


def unchecked(engine: Engine, sealer: Sealer, channel: str) -> list[tuple[int, str]]:
    """Zalo threads of ``channel`` whose citizen's profile was never asked: (thread, Zalo id).

    Anonymous chat-widget visitors (no Zalo account) and citizens whose data is gone are
    left out: there is nobody to ask about."""
    with session_scope(engine, write=False) as session:
        threads = session.exec(
            select(InboxThread)
            .where(InboxThread.channel == channel)
            .where(InboxThread.kind == ThreadKind.ZALO_CHAT.value)
            .where(col(InboxThread.profile_checked_at).is_(None))
            .where(col(InboxThread.citizen_ref_enc).is_not(None))
            .order_by(col(InboxThread.id))
            .limit(PER_RUN)
        ).all()
        out = []
        for thread in threads:
            uid = sealer.open(thread.citizen_ref_enc) or ""
            if uid.isdigit() and thread.id is not None:
                out.append((thread.id, uid))
        return out


def mark(engine: Engine, thread_id: int, *, minor: bool, now: datetime) -> None:
    """Keep what the profile said; a newly flagged minor is audited (who is restricted)."""
    with session_scope(engine) as session:
        thread = session.get(InboxThread, thread_id)
        if thread is None:
            return
        was = bool(thread.minor)
        thread.minor = minor
        thread.profile_checked_at = now
        session.add(thread)
        if minor and not was:
            audit.write(
                session,
                [
                    dict(
                        at=now,
                        actor="loa-inbox",
                        action="inbox_minor",
                        post_id=None,
                        after={"thread": thread_id, "minor": True},
                        detail=f"thread {thread_id} ({thread.channel}): Zalo says the citizen "
                        "is under 18",
                    )
                ],
            )

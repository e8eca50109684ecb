"""Citizens' attachments, kept: what may be downloaded, what the bytes are, and who may open them.

The platforms' attachment URLs expire (Zalo's CDN paths carry tokens, Meta says its URLs
expire without saying when: docs/platforms/zalo-oa.md#message-events-and-attachments,
docs/platforms/facebook-graph.md#attachment-urls), and a scam screenshot is evidence, so Loa
downloads each image, file, voice note and video when the event is processed
(:mod:`scheduler.inbox_attachments` does the HTTP) and keeps the bytes sealed with the
credential key like every other piece of personal data. They go with the message: the
retention purge and a citizen's withdrawal delete them (:func:`purge_thread`,
:func:`purge_messages`).

Only what the bytes really are counts (magic numbers, never the platform's type or the file
name): an ``image`` must be an image, a ``file`` a PDF, an office document or an image, a
voice note audio, a video a video; anything else is refused and said so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from content.accounts import Role
from content.db import session_scope
from content.errors import LoaError
from content.models import InboxAttachment, InboxMessage, InboxThread
from content.sealed import Sealer

#: The platform types Loa downloads (a sticker or a link preview is no evidence).
DOWNLOADED = ("image", "gif", "file", "audio", "video")
#: Size caps per type, in bytes: enough for a phone's photo, a scanned document, a few
#: minutes of voice or video (Chatwoot's Zalo channel caps at 40 MB,
#: docs/platforms/zalo-oa.md#message-events-and-attachments).
MAX_BYTES = {
    "image": 10_000_000,
    "gif": 10_000_000,
    "file": 25_000_000,
    "audio": 10_000_000,
    "video": 40_000_000,
}
#: How many times a download that failed for a passing reason (network, 5xx) is tried.
MAX_TRIES = 3

STORED = "stored"
FAILED = "failed"
EXPIRED = "expired"
REFUSED = "refused"
PURGED = "purged"
FINAL = (STORED, EXPIRED, REFUSED, PURGED)

_IMAGES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
_OTHERS = (
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),  # docx, xlsx, pptx are zip files
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword"),  # doc, xls (OLE)
    (b"#!AMR", "audio/amr"),  # Zalo's voice notes
    (b"ID3", "audio/mpeg"),
    (b"\x1aE\xdf\xa3", "video/webm"),
    (b"OggS", "audio/ogg"),
)
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/msword": "doc",
    "audio/amr": "amr",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "video/mp4": "mp4",
    "video/webm": "webm",
}
#: What each platform type may be.
_ALLOWED = {
    "image": ("image/",),
    "gif": ("image/",),
    "file": ("image/", "application/pdf", "application/zip", "application/msword"),
    "audio": ("audio/", "video/mp4"),
    "video": ("video/",),
}


def sniff(data: bytes) -> str | None:
    """The MIME type the bytes' magic numbers say, among those Loa keeps; None otherwise."""
    for magic, mime in _IMAGES + _OTHERS:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "audio/mp4" if data[8:11] == b"M4A" else "video/mp4"
    if data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    return None


def allowed(kind: str, mime: str | None) -> bool:
    """Whether bytes of type ``mime`` may stand for a platform attachment of type ``kind``."""
    return mime is not None and mime.startswith(_ALLOWED.get(kind, ()))


def extension(mime: str | None) -> str:
    """A file name extension for ``mime`` (``bin`` when unknown)."""
    return _EXTENSIONS.get(mime or "", "bin")


def downloadable(attachments: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a message's attachments include one Loa downloads."""
    return any(_url(a) and a.get("type") in DOWNLOADED for a in attachments)


def _url(attachment: Mapping[str, Any]) -> str:
    url = str(attachment.get("url") or "")
    return url if url.startswith(("http://", "https://")) else ""


@dataclass(frozen=True)
class Wanted:
    """One attachment to download: where it is and what it should be."""

    message_id: int
    thread_id: int
    position: int
    kind: str
    url: str
    tries: int


@dataclass(frozen=True)
class Fetched:
    """What one download gave: the bytes, or why there are none.

    ``problem``: ``http_403``, ``http_404``... (``expired`` when the platform no longer
    serves it), ``too_large``, ``type``, ``timeout``, ``unreachable``.
    """

    data: bytes | None = None
    problem: str | None = None
    expired: bool = False
    #: A passing failure (network, 5xx, timeout): worth another try.
    passing: bool = False


def pending(engine: Any, sealer: Sealer, *, limit: int = 20) -> list[tuple[int, list[Wanted]]]:
    """Messages with attachments still to download (oldest first, at most ``limit``), each
    with what is left to download (nothing: the message only needs settling)."""
    with session_scope(engine, write=False) as session:
        messages = session.exec(
            select(InboxMessage)
            .where(col(InboxMessage.media_pending).is_(True))
            .order_by(col(InboxMessage.id))
            .limit(limit)
        ).all()
        if not messages:
            return []
        ids = [m.id for m in messages]
        done = {
            (a.message_id, a.position): a
            for a in session.exec(
                select(InboxAttachment).where(col(InboxAttachment.message_id).in_(ids))
            ).all()
        }
        work = []
        for message in messages:
            assert message.id is not None
            wanted = []
            for position, item in enumerate(sealer.open_json(message.attachments_enc) or []):
                kind, url = str(item.get("type") or ""), _url(item)
                if kind not in DOWNLOADED or not url:
                    continue
                row = done.get((message.id, position))
                if row is not None and (row.state in FINAL or row.tries >= MAX_TRIES):
                    continue
                tries = row.tries if row is not None else 0
                wanted.append(Wanted(message.id, message.thread_id, position, kind, url, tries))
            work.append((message.id, wanted))
        return work


def record(session: Session, sealer: Sealer, wanted: Wanted, got: Fetched, now: datetime) -> str:
    """Store what a download gave (the bytes sealed); returns the attachment's state.

    The webhook receiver's worker and the daemon's backfill may download the same message
    at once: the message row is locked first (PostgreSQL; SQLite's write lock already
    serializes), so the second waits, then finds the first one's attachment and keeps it
    rather than inserting its twin (which the unique index refuses).
    """
    message = session.get(InboxMessage, wanted.message_id, with_for_update=True)
    if message is None or message.purged_at is not None:
        return PURGED  # withdrawn or purged while downloading: keep nothing
    row = session.exec(
        select(InboxAttachment).where(
            InboxAttachment.message_id == wanted.message_id,
            InboxAttachment.position == wanted.position,
        )
    ).first()
    if row is not None and row.state in FINAL:
        return row.state  # another worker settled it while this one downloaded
    row = row or InboxAttachment(
        message_id=wanted.message_id,
        thread_id=wanted.thread_id,
        position=wanted.position,
        kind=wanted.kind,
        state=FAILED,
    )
    row.tries += 1
    row.fetched_at = now
    if got.data is not None:
        mime = sniff(got.data)
        if allowed(wanted.kind, mime):
            row.state, row.mime, row.size, row.problem = STORED, mime, len(got.data), None
            row.sha256 = hashlib.sha256(got.data).hexdigest()
            row.data_enc = sealer.seal_bytes(got.data)
        else:
            row.state, row.size, row.problem = REFUSED, len(got.data), "type"
    elif got.expired:
        row.state, row.problem = EXPIRED, got.problem
    elif got.passing and row.tries < MAX_TRIES:
        row.state, row.problem = FAILED, got.problem
    else:
        row.state, row.problem = (FAILED if got.passing else REFUSED), got.problem
    session.add(row)
    return row.state


def settle(session: Session, message_id: int) -> None:
    """The message has nothing left to download (or nothing worth another try)."""
    session.execute(
        update(InboxMessage).where(col(InboxMessage.id) == message_id).values(media_pending=False)
    )


def purge_thread(session: Session, thread_id: int) -> int:
    """Delete every kept attachment of a thread (a withdrawal); returns how many."""
    result = session.execute(
        delete(InboxAttachment).where(col(InboxAttachment.thread_id) == thread_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge_messages(session: Session, message_ids: Sequence[int]) -> int:
    """Delete the kept attachments of these messages (the retention purge)."""
    if not message_ids:
        return 0
    result = session.execute(
        delete(InboxAttachment).where(col(InboxAttachment.message_id).in_(list(message_ids)))
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentView:
    """A kept (or not kept) attachment as the faces show it; never its bytes."""

    id: int
    message_id: int
    position: int
    kind: str
    state: str
    mime: str | None
    size: int
    problem: str | None

    @property
    def file_name(self) -> str:
        """A name to save it under: ``loa-attachment-<id>.<ext>``."""
        return f"loa-attachment-{self.id}.{extension(self.mime)}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "id": self.id,
            "message": self.message_id,
            "position": self.position,
            "kind": self.kind,
            "state": self.state,
            "mime": self.mime,
            "size": self.size,
            "problem": self.problem,
        }


def _view(row: InboxAttachment) -> AttachmentView:
    assert row.id is not None
    return AttachmentView(
        row.id, row.message_id, row.position, row.kind, row.state, row.mime, row.size, row.problem
    )


def of_thread(session: Session, thread_id: int) -> dict[int, tuple[AttachmentView, ...]]:
    """A thread's attachments by message id, in their order in each message."""
    rows = session.exec(
        select(InboxAttachment)
        .where(InboxAttachment.thread_id == thread_id)
        .order_by(col(InboxAttachment.message_id), col(InboxAttachment.position))
    ).all()
    out: dict[int, list[AttachmentView]] = {}
    for row in rows:
        out.setdefault(row.message_id, []).append(_view(row))
    return {k: tuple(v) for k, v in out.items()}


class AttachmentUnavailable(LoaError):
    """An attachment that cannot be given: ``attachment_not_found`` (no such attachment, or
    in a thread the person may not see), ``attachment_not_kept`` (never downloaded:
    ``astate``, ``problem``), ``attachment_minor`` (a minor's attachment: approvers only)."""


def open_attachment(inbox: Any, attachment_id: int) -> tuple[AttachmentView, bytes]:
    """The bytes of a kept attachment, for a person allowed to read its thread (audited like
    opening the thread). A minor's attachments are for approvers once accounts exist."""
    with session_scope(inbox.engine) as session:
        row = session.get(InboxAttachment, attachment_id)
        thread = session.get(InboxThread, row.thread_id) if row is not None else None
        if row is None or thread is None or not inbox.access.sees(thread.channel):
            raise AttachmentUnavailable("attachment_not_found", attachment=attachment_id)
        inbox.access.require_channels([thread.channel], "read citizens' threads")
        if thread.minor and inbox.access.enforced:
            role = inbox.access.role
            if role not in (Role.APPROVER, Role.ADMIN):
                raise AttachmentUnavailable("attachment_minor", attachment=attachment_id)
        if row.state != STORED or row.data_enc is None:
            raise AttachmentUnavailable(
                "attachment_not_kept",
                attachment=attachment_id,
                astate=row.state,
                problem=row.problem or "-",
            )
        data = inbox.sealer.open_bytes(row.data_enc)
        inbox._audit(session, "inbox_attachment", thread, None, {"attachment": attachment_id})
        return _view(row), data

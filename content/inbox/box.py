"""The inbox as a person uses it (:class:`Inbox`): reading (audited), assigning, tagging,
closing and replying, each change through the state table.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from content import audit, inbox_media
from content.accounts import Access, account_channels, any_active, fold
from content.db import session_scope
from content.inbox.figures import units_holding
from content.inbox.rules import (
    _A,
    _C,
    _N,
    _O,
    ANSWER,
    ASSIGN,
    CLOSE,
    MESSENGER_WINDOW,
    PRIVATE,
    REPLY_LIMITS,
    TAGS,
    TRANSITIONS,
    InboxRefused,
    InboxSettings,
    ReplyRefused,
    ThreadNotFound,
    _answered,
    _record,
    _reply_mode,
    _resolve,
    parse_tag,
)
from content.inbox.views import (
    Counts,
    ReplyPlan,
    ThreadFilter,
    ThreadSummary,
    ThreadView,
    _case_overdue,
    _message_view,
    _restricted,
    _summaries,
)
from content.models import (
    Account,
    InboxMessage,
    InboxThread,
    Role,
    ThreadKind,
)
from content.office import ChannelDirectory
from content.sealed import Sealer
from content.times import utcnow

# --- the inbox as a person uses it -------------------------------------------------------------


class Inbox:
    """Threads as ``access`` may see and handle them (his units' channels once accounts exist)."""

    def __init__(
        self,
        engine: Engine,
        directory: ChannelDirectory,
        sealer: Sealer,
        *,
        access: Access,
        settings: InboxSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.sealer = sealer
        self.access = access
        self.settings = settings or InboxSettings()
        self.clock = clock

    # --- reads (for the CLI, the TUI and the reports)

    def threads(self, wanted: ThreadFilter | None = None) -> list[ThreadSummary]:
        """Threads the person may see, those waiting longest first, then the newest."""
        wanted = wanted or ThreadFilter()
        now = self.clock()
        query = select(InboxThread)
        if self.access.channels is not None:
            query = query.where(col(InboxThread.channel).in_(sorted(self.access.channels)))
        if wanted.states:
            query = query.where(col(InboxThread.state).in_(wanted.states))
        if wanted.channels:
            query = query.where(col(InboxThread.channel).in_(wanted.channels))
        if wanted.kind:
            query = query.where(InboxThread.kind == wanted.kind)
        if wanted.assignee:
            query = query.where(InboxThread.assignee == fold(wanted.assignee))
        if wanted.unit:
            query = query.where(InboxThread.unit == wanted.unit)
        if wanted.waiting or wanted.overdue:
            query = query.where(col(InboxThread.waiting_since).is_not(None))
        if wanted.overdue:
            query = query.where(
                col(InboxThread.waiting_since) < now - self.settings.response_target
            )
        query = query.order_by(
            col(InboxThread.waiting_since).is_(None),
            col(InboxThread.waiting_since),
            col(InboxThread.last_inbound_at).desc(),
            col(InboxThread.id).desc(),
        )
        with session_scope(self.engine, write=False) as session:
            rows = list(session.exec(query).all())
            if wanted.tag:
                tag = parse_tag(wanted.tag)
                rows = [r for r in rows if tag in (r.tags or [])]
            if wanted.limit is not None:
                rows = rows[: wanted.limit]
            return _summaries(session, rows, self.settings)

    def thread(self, thread_id: int) -> ThreadView:
        """Open a thread: the citizen and every message in clear. Audited (who read which tip)."""
        with session_scope(self.engine) as session:
            thread = self._visible(session, thread_id, "read citizens' threads")
            messages = session.exec(
                select(InboxMessage)
                .where(InboxMessage.thread_id == thread_id)
                .order_by(col(InboxMessage.occurred_at), col(InboxMessage.id))
            ).all()
            summary = _summaries(session, [thread], self.settings)[0]
            kept = inbox_media.of_thread(session, thread_id)
            view = ThreadView(
                summary=summary,
                citizen_name=self.sealer.open(thread.citizen_name_enc),
                citizen_info=self.sealer.open_json(thread.citizen_info_enc) or {},
                messages=tuple(
                    _restricted(_message_view(m, self.sealer, kept.get(m.id or 0, ())))
                    if thread.minor and self._restricted()
                    else _message_view(m, self.sealer, kept.get(m.id or 0, ()))
                    for m in messages
                ),
            )
            self._audit(session, "inbox_read", thread, None, None)
            return view

    def counts(self, *, by: str = "unit") -> dict[str, Counts]:
        """Threads per unit (``by="unit"``: a thread counts for its assigned unit, else for
        every channel group holding its channel) or per channel (``by="channel"``)."""
        result: dict[str, Counts] = {}
        for channel, unit, piece in self.count_rows():
            if by == "channel":
                keys: Iterable[str] = (channel,)
            elif unit:
                keys = (unit,)
            else:
                keys = [g for g, members in self.directory.groups.items() if channel in members]
                keys = keys or [channel]
            for key in keys:
                result[key] = result.get(key, Counts()).plus(piece)
        return dict(sorted(result.items()))

    def count_rows(self) -> list[tuple[str, str | None, Counts]]:
        """Threads the person may see, counted per channel and assigned unit (the pieces
        :meth:`counts` and :func:`content.inbox_counts.by_unit` add up)."""
        now = self.clock()
        late_before = now - self.settings.response_target
        query = sa_select(
            col(InboxThread.channel),
            col(InboxThread.unit),
            col(InboxThread.state),
            func.count(),
            func.count(col(InboxThread.waiting_since)),
            func.sum(_case_overdue(late_before)),
        ).group_by(col(InboxThread.channel), col(InboxThread.unit), col(InboxThread.state))
        if self.access.channels is not None:
            query = query.where(col(InboxThread.channel).in_(sorted(self.access.channels)))
        rows = []
        with session_scope(self.engine, write=False) as session:
            for channel, unit, state, n, waiting, overdue in session.execute(query).all():
                piece = Counts(
                    open=n if state == _O else 0,
                    assigned=n if state == _A else 0,
                    answered=n if state == _N else 0,
                    closed=n if state == _C else 0,
                    waiting=int(waiting or 0),
                    overdue=int(overdue or 0),
                )
                rows.append((channel, unit, piece))
        return rows

    # --- changes by a person

    def assign(
        self, thread_id: int, *, officer: str | None = None, unit: str | None = None
    ) -> ThreadSummary:
        """Give the thread to an officer and/or a unit.

        Anyone who sees the thread may take it himself; giving it to someone else takes an
        approver. The officer must have an active account that sees the channel, and the unit
        must be a channel group (or the channel) that holds it.
        """
        if officer is None and unit is None:
            raise InboxRefused("inbox_assign_whom", thread=thread_id)
        with session_scope(self.engine) as session:
            thread = self._visible(session, thread_id, "assign citizens' threads")
            before = _record(thread)
            if officer is not None:
                thread.assignee = self._assignee(session, thread, officer)
            if unit is not None:
                thread.unit = self._unit(thread, unit)
            self._move(thread, ASSIGN)
            return self._changed(session, thread, "inbox_assign", before)

    def tag(
        self, thread_id: int, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> ThreadSummary:
        """Add and remove tags (tip, scam_report, question, complaint, spam)."""
        adding = [parse_tag(t) for t in add]
        removing = {parse_tag(t) for t in remove}
        with session_scope(self.engine) as session:
            thread = self._visible(session, thread_id, "tag citizens' threads")
            before = _record(thread)
            tags = [t for t in (thread.tags or []) if t not in removing]
            tags += [t for t in adding if t not in tags]
            thread.tags = [t for t in TAGS if t in tags]  # one stable order
            return self._changed(session, thread, "inbox_tag", before)

    def close(self, thread_id: int) -> ThreadSummary:
        """Close the thread (it opens again when the citizen writes)."""
        with session_scope(self.engine) as session:
            thread = self._visible(session, thread_id, "close citizens' threads")
            before = _record(thread)
            self._move(thread, CLOSE)
            thread.waiting_since = None
            return self._changed(session, thread, "inbox_close", before)

    # --- replies: recorded before the platform is called, settled with its answer

    def begin_reply(
        self, thread_id: int, text: str, *, mode: str | None = None, to: int | None = None
    ) -> ReplyPlan:
        """Check a reply and record it as ``sending`` before anything leaves.

        ``mode``: ``message`` (Zalo, Messenger), ``public`` or ``private`` (a comment; public
        by default); ``to`` the message id of the comment to answer (default: the citizen's
        newest). A private reply to a comment that already had one is refused here, before
        the platform is asked.
        """
        body = unicodedata.normalize("NFC", text).strip()
        now = self.clock()
        with session_scope(self.engine) as session:
            thread = self._visible(session, thread_id, "answer citizens", lock=True)
            self._require_live(thread)
            kind, chosen = _check_reply(thread, thread_id, body, mode)
            target, recipient = self._reply_target(session, thread, kind, chosen, to)
            human_agent = (
                kind == ThreadKind.MESSENGER
                and thread.channel in self.settings.human_agent
                and thread.last_inbound_at is not None
                and now - thread.last_inbound_at >= MESSENGER_WINDOW
            )
            message = InboxMessage(
                thread_id=thread_id,
                channel=thread.channel,
                direction="out",
                kind="text",
                occurred_at=now,
                received_at=now,
                text_enc=self.sealer.seal(body),
                reply_to=target.platform_id if target else None,
                post_ref=target.post_ref if target else None,
                author=self.access.actor,
                source="loa",
                reply_mode=chosen,
                state="sending",
            )
            session.add(message)
            session.flush()
            assert message.id is not None
            self._audit(
                session,
                "inbox_reply",
                thread,
                None,
                {"message": message.id, "mode": chosen, "state": "sending"},
            )
            return ReplyPlan(
                message_id=message.id,
                thread_id=thread_id,
                channel=thread.channel,
                kind=kind.value,
                mode=chosen,
                recipient=recipient,
                text=body,
                human_agent=human_agent,
            )

    def _reply_target(
        self, session: Session, thread: InboxThread, kind: ThreadKind, chosen: str, to: int | None
    ) -> tuple[InboxMessage | None, str]:
        """The comment a reply answers (None for a conversation) and whom the platform is
        asked to send it to: the comment's id, or the citizen's (unsealed) id."""
        target: InboxMessage | None = None
        if kind == ThreadKind.COMMENTS:
            target = self._comment_target(session, thread, to)
            if chosen == PRIVATE and target.private_replied_at is not None:
                raise InboxRefused("private_reply_used", thread=thread.id, target_id=target.id)
            recipient = target.platform_id or ""
        else:
            recipient = self.sealer.open(thread.citizen_ref_enc) or ""
        if not recipient:
            raise InboxRefused("inbox_purged", thread=thread.id)
        return target, recipient

    def finish_reply(self, plan: ReplyPlan, platform_id: str | None) -> ThreadSummary:
        """The platform accepted the reply (``platform_id`` its message or comment id)."""
        now = self.clock()
        with session_scope(self.engine) as session:
            thread = _thread_for_update(session, plan.thread_id)
            message = session.get(InboxMessage, plan.message_id)
            if thread is None or message is None:  # pragma: no cover - never deleted
                raise ThreadNotFound(plan.thread_id)
            echo = None
            if platform_id:
                echo = session.exec(
                    select(InboxMessage).where(
                        InboxMessage.channel == plan.channel,
                        InboxMessage.platform_id == platform_id,
                    )
                ).first()
            if echo is not None and echo.id != message.id:
                # The platform's echo of this very reply came in before its answer: keep one
                # row, the echo's place, with who sent it and how.
                echo.author, echo.reply_mode, echo.source = message.author, plan.mode, "loa"
                echo.reply_to, echo.post_ref = message.reply_to, message.post_ref
                echo.state = "sent"
                session.add(echo)
                session.delete(message)
            else:
                message.platform_id = platform_id
                message.state = "sent"
                message.occurred_at = now
                session.add(message)
            if plan.mode == PRIVATE and message.reply_to:
                session.execute(
                    update(InboxMessage)
                    .where(
                        col(InboxMessage.channel) == plan.channel,
                        col(InboxMessage.platform_id) == message.reply_to,
                    )
                    .values(private_replied_at=now)
                )
            before = _record(thread)
            _answered(thread, now)
            thread.updated_at = now
            session.add(thread)
            session.flush()
            self._audit(
                session,
                "inbox_reply_sent",
                thread,
                before,
                {"message": plan.message_id, "mode": plan.mode, "state": thread.state},
            )
            return _summaries(session, [thread], self.settings)[0]

    def refuse_reply(self, plan: ReplyPlan, refusal: ReplyRefused) -> None:
        """The platform refused the reply: keep it as ``refused`` with the platform's reason
        (reports count replies attempted outside the window)."""
        self._settle_failed(plan, "refused", refusal)

    def reply_failed(self, plan: ReplyPlan, refusal: ReplyRefused) -> None:
        """The reply surely did not go out (the platform unreachable, the channel's token
        refused): kept as ``failed`` with the reason; the officer may send it again."""
        self._settle_failed(plan, "failed", refusal)

    def reply_unknown(self, plan: ReplyPlan, refusal: ReplyRefused) -> None:
        """The platform did not answer: the reply may have gone out (the echo settles it)."""
        self._settle_failed(plan, "unknown", refusal)

    def _settle_failed(self, plan: ReplyPlan, state: str, refusal: ReplyRefused) -> None:
        with session_scope(self.engine) as session:
            message = session.get(InboxMessage, plan.message_id)
            thread = session.get(InboxThread, plan.thread_id)
            if message is None or thread is None:  # pragma: no cover - purged meanwhile
                return
            message.state = state
            # The refusal's own code, so each face says it in its reader's language and the
            # reports count the replies refused for the window; the platform's own code and
            # words are kept as it said them.
            message.error_code = refusal.code[:50]
            message.error_message = str(refusal.params.get("said") or refusal)
            session.add(message)
            self._audit(
                session,
                "inbox_reply_" + state,
                thread,
                None,
                {"message": plan.message_id, "code": refusal.code},
            )

    # --- helpers

    def _visible(
        self, session: Session, thread_id: int, what: str, *, lock: bool = False
    ) -> InboxThread:
        thread = _thread_for_update(session, thread_id) if lock else None
        thread = thread or session.get(InboxThread, thread_id)
        if thread is None or not self.access.sees(thread.channel):
            # An officer outside the unit learns nothing, not even that the thread exists.
            raise ThreadNotFound(thread_id)
        self.access.require_channels([thread.channel], what)
        return thread

    def _restricted(self) -> bool:
        """Whether a minor's sensitive data is withheld from this person: once accounts
        exist, from everyone but approvers and admins (docs/personal-data.md#minors)."""
        return self.access.enforced and self.access.role not in (Role.APPROVER, Role.ADMIN)

    def _require_live(self, thread: InboxThread) -> None:
        if thread.citizen_ref_enc is None and thread.withdrawn_at is not None:
            raise InboxRefused("inbox_withdrawn", thread=thread.id)

    def _move(self, thread: InboxThread, event: str) -> None:
        target = TRANSITIONS.get((thread.state, event))
        if target is None:
            raise InboxRefused("inbox_state", thread=thread.id, tstate=thread.state, taction=event)
        thread.state = _resolve(target, thread)

    def _assignee(self, session: Session, thread: InboxThread, officer: str) -> str:
        name = fold(officer)
        if name != self.access.actor:
            self.access.require(Role.APPROVER, "assign threads to others")
        if not any_active(session):
            return name
        account = session.get(Account, name)
        sees = (
            account is not None
            and account.active
            and (
                (channels := account_channels(account, self.directory)) is None
                or thread.channel in channels
            )
        )
        if not sees:
            raise InboxRefused(
                "inbox_assignee", thread=thread.id, user=name, channel=thread.channel
            )
        return name

    def _unit(self, thread: InboxThread, unit: str) -> str:
        name = unit.strip()
        # A channel, a group of channels or a unit of the tree (its subtree's channels).
        if thread.channel not in (self.directory.members(name) or ()):
            holding = units_holding(self.directory, thread.channel)[:-1]
            raise InboxRefused(
                "inbox_unit",
                thread=thread.id,
                unit=name,
                channel=thread.channel,
                known=[*holding, thread.channel],
            )
        return name

    def _comment_target(
        self, session: Session, thread: InboxThread, to: int | None
    ) -> InboxMessage:
        query = select(InboxMessage).where(
            InboxMessage.thread_id == thread.id,
            InboxMessage.direction == "in",
            col(InboxMessage.platform_id).is_not(None),
        )
        if to is not None:
            query = query.where(InboxMessage.id == to)
        target = session.exec(
            query.order_by(col(InboxMessage.occurred_at).desc(), col(InboxMessage.id).desc())
        ).first()
        if target is None:
            if to is not None:
                raise InboxRefused("reply_target_id", thread=thread.id, target_id=to)
            raise InboxRefused("reply_target", thread=thread.id)
        return target

    def _changed(
        self, session: Session, thread: InboxThread, action: str, before: dict[str, Any]
    ) -> ThreadSummary:
        thread.updated_at = self.clock()
        session.add(thread)
        session.flush()
        self._audit(session, action, thread, before, _record(thread))
        return _summaries(session, [thread], self.settings)[0]

    def _audit(
        self,
        session: Session,
        action: str,
        thread: InboxThread,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        # Never a citizen's words or name: the audit log is not encrypted.
        audit.write(
            session,
            [
                dict(
                    at=self.clock(),
                    actor=self.access.actor,
                    action=action,
                    post_id=None,
                    before=before,
                    after={"thread": thread.id, **(after or {})},
                    detail=f"thread {thread.id} ({thread.channel})",
                    **self.access.audit_fields(),
                )
            ],
        )


def _thread_for_update(session: Session, thread_id: int) -> InboxThread | None:
    query = select(InboxThread).where(InboxThread.id == thread_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.exec(query).first()


def _check_reply(
    thread: InboxThread, thread_id: int, body: str, mode: str | None
) -> tuple[ThreadKind, str]:
    """The thread's kind and the reply's mode, once the thread may be answered and ``body``
    is neither empty nor over the platform's limit."""
    if (thread.state, ANSWER) not in TRANSITIONS:
        raise InboxRefused("inbox_state", thread=thread_id, tstate=thread.state, taction="answer")
    kind = ThreadKind(thread.kind)
    chosen = _reply_mode(kind, mode, thread_id)
    if not body:
        raise InboxRefused("reply_empty", thread=thread_id)
    limit = REPLY_LIMITS[kind]
    if len(body) > limit:
        raise InboxRefused(
            "reply_too_long",
            thread=thread_id,
            length=len(body),
            tkind=kind.value,
            limit=limit,
        )
    return kind, chosen

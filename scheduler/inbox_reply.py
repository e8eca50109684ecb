"""Answering a citizen: the reply recorded first, sent through the channel's client, settled
with the platform's answer.

The order is the publishing machinery's: :meth:`content.inbox.Inbox.begin_reply` commits the
reply as ``sending`` before the platform is called, and the answer is recorded at once. A
refusal becomes a :class:`~content.inbox.ReplyRefused` naming the platform's own reason
(and the reply stays in the thread as ``refused``: the reports count replies attempted
outside the window); a reply whose outcome is unknown stays ``unknown`` until the platform's
echo of it arrives, and is never re-sent blindly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from content.inbox import MESSAGE, PRIVATE, Inbox, ReplyPlan, ReplyRefused, ThreadSummary
from content.models import ThreadKind
from scheduler.channels import build_channel
from scheduler.channels.base import Channel, ChannelError, TransientError
from scheduler.channels.inbound import PRIVATE_USED, UNAVAILABLE, WINDOW_CLOSED, ReplyRejected
from scheduler.config import Config

#: Each platform's name as the office says it.
PLATFORM_NAMES = {"zalo_oa": "Zalo", "facebook": "Facebook"}
#: The rule whose window closed, per kind of thread and reply (words of
#: content.messages.REPLY_RULE_WORDS).
WINDOW_RULES = {
    (ThreadKind.ZALO_CHAT, MESSAGE): "zalo_7d",
    (ThreadKind.MESSENGER, MESSAGE): "messenger_24h",
    (ThreadKind.COMMENTS, PRIVATE): "private_reply_7d",
}
#: ReplyRejected reasons as ReplyRefused codes.
CODES = {
    WINDOW_CLOSED: "reply_window_closed",
    PRIVATE_USED: "reply_private_used",
    UNAVAILABLE: "citizen_unavailable",
}


def answer(
    inbox: Inbox,
    config: Config,
    thread_id: int,
    text: str,
    *,
    mode: str | None = None,
    to: int | None = None,
    clock: Callable[[], datetime] | None = None,
) -> ThreadSummary:
    """Answer a citizen: record the reply, send it through the channel's client, settle it.

    What ``loa inbox reply`` and the TUI's reply both call (from a thread without a running
    event loop). The rules' refusals (:class:`~content.inbox.InboxRefused`) come before
    anything is recorded; the platform's, as :class:`ReplyRefused`, after the reply is kept.
    """
    plan = inbox.begin_reply(thread_id, text, mode=mode, to=to)
    client = build_channel(plan.channel, config, engine=inbox.engine, clock=clock)

    async def send() -> ThreadSummary:
        try:
            return await send_reply(inbox, client, plan)
        finally:
            await client.aclose()

    return asyncio.run(send())


async def send_reply(inbox: Inbox, client: Channel, plan: ReplyPlan) -> ThreadSummary:
    """Send ``plan`` through ``client`` and settle it; raises :class:`ReplyRefused`."""
    try:
        platform_id = await _send(client, plan)
    except ReplyRejected as exc:
        refusal = _refusal(plan, exc, CODES.get(exc.reason, "reply_refused"))
        await asyncio.to_thread(inbox.refuse_reply, plan, refusal)
        raise refusal from None
    except TransientError as exc:
        if exc.uncertain:
            refusal = _refusal(plan, exc, "reply_unknown")
            await asyncio.to_thread(inbox.reply_unknown, plan, refusal)
        else:
            refusal = _refusal(plan, exc, "reply_failed")
            await asyncio.to_thread(inbox.reply_failed, plan, refusal)
        raise refusal from None
    except ChannelError as exc:
        refusal = _refusal(plan, exc, "reply_failed")
        await asyncio.to_thread(inbox.reply_failed, plan, refusal)
        raise refusal from None
    return await asyncio.to_thread(inbox.finish_reply, plan, platform_id)


async def _send(client: Channel, plan: ReplyPlan) -> str:
    kind = ThreadKind(plan.kind)
    target: Any = client
    if kind == ThreadKind.ZALO_CHAT:
        return str(await target.send_consultation(plan.recipient, plan.text))
    if kind == ThreadKind.MESSENGER:
        return str(
            await target.send_message(plan.recipient, plan.text, human_agent=plan.human_agent)
        )
    if plan.mode == PRIVATE:
        return str(await target.private_reply(plan.recipient, plan.text))
    return str(await target.reply_comment(plan.recipient, plan.text))


def _refusal(plan: ReplyPlan, exc: ChannelError, code: str) -> ReplyRefused:
    platform = PLATFORM_NAMES.get(exc.platform, exc.platform or "?")
    said = f"{platform} {exc.code_text()}: {exc.message}" if exc.code_text() else exc.message
    extra = {}
    if code == "reply_window_closed":
        extra["rule"] = WINDOW_RULES.get((ThreadKind(plan.kind), plan.mode), "window")
    return ReplyRefused(
        code,
        thread=plan.thread_id,
        platform=platform,
        platform_code=exc.code_text(),
        platform_message=exc.message,
        said=said,
        **extra,
    )

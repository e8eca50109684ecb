"""The stable JSON view of inbox threads (``loa inbox ... --json``; the TUI and reports may
read it too). Fields are added, never renamed or removed; times are ISO 8601 in the office's
time zone. A summary holds no personal data; an opened thread does (it was audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from content.inbox import MessageView, ThreadSummary, ThreadView
from content.times import local_iso


def summary_json(summary: ThreadSummary, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    """One thread as a list shows it, with its two clocks."""
    window = summary.window
    return {
        "id": summary.id,
        "channel": summary.channel,
        "kind": summary.kind,
        "state": summary.state,
        "unit": summary.unit,
        "assignee": summary.assignee,
        "tags": list(summary.tags),
        "created_at": local_iso(summary.created_at, tz),
        "last_inbound_at": local_iso(summary.last_inbound_at, tz),
        "last_outbound_at": local_iso(summary.last_outbound_at, tz),
        "waiting_since": local_iso(summary.waiting_since, tz),
        "response_due_at": local_iso(summary.response_due_at, tz),
        "overdue": summary.overdue(now),
        "window": {
            "rule": window.rule,
            "closes_at": local_iso(window.closes_at, tz),
            "open": window.is_open(now),
            "private_reply_used": window.private_used,
        },
        "messages_in": summary.messages_in,
        "messages_out": summary.messages_out,
        "withdrawn": summary.withdrawn,
        "purged": summary.purged,
        "minor": summary.minor,
    }


def message_json(message: MessageView, tz: ZoneInfo) -> dict[str, Any]:
    """One message of an opened thread."""
    return {
        "id": message.id,
        "direction": message.direction,
        "kind": message.kind,
        "at": local_iso(message.occurred_at, tz),
        "text": message.text,
        "attachments": [dict(a) for a in message.attachments],
        "author": message.author,
        "source": message.source,
        "state": message.state,
        "reply_mode": message.reply_mode,
        "reply_to": message.reply_to,
        "post": message.post_ref,
        "platform_id": message.platform_id,
        "error": (
            {"code": message.error_code, "message": message.error_message}
            if message.error_code or message.error_message
            else None
        ),
        "private_replied": message.private_replied,
        "purged": message.purged,
        "kept": [k.as_dict() for k in message.kept],
        "edits": [dict(e) for e in message.edits],
        "edited_at": local_iso(message.edited_at, tz) if message.edited_at else None,
        "removed": message.removed,
        "removed_at": local_iso(message.removed_at, tz) if message.removed_at else None,
    }


def thread_json(view: ThreadView, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    """An opened thread: its summary, the citizen and every message."""
    return {
        **summary_json(view.summary, tz, now),
        "citizen": {"name": view.citizen_name, "info": dict(view.citizen_info)},
        "messages": [message_json(m, tz) for m in view.messages],
    }

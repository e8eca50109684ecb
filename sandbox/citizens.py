"""Simulated citizens and everything they exchange with Pages and OAs (shared by both platforms).

A citizen is a handle chosen by the caller of the control API (``"an"``); the sandbox derives
their platform ids from the seed, so the same seed and handle always give the same ids:

- Facebook: an app-scoped user id shown as a comment's ``from.id`` and, separately, a PSID per
  Page for Messenger. The two must not be assumed equal
  (docs/platforms/facebook-graph.md#comment-changes-in-the-feed), so they differ.
- Zalo: a UID per OA (``sender.id``), one ``user_id_by_app`` for the app
  (docs/platforms/zalo-oa.md#event-envelope-and-ids), and a hex id per OA when writing anonymously
  through the chat widget (docs/platforms/zalo-oa.md#message-events-and-attachments).

This module only holds data; platform rules live in ``graph_inbox`` and ``zalo_inbox``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Any

#: Display names for citizens created without one (deterministic by handle).
DEFAULT_NAMES = (
    "Nguyễn Văn An",
    "Trần Thị Bình",
    "Lê Hoàng Cường",
    "Phạm Thị Dung",
    "Hoàng Văn Đức",
    "Vũ Thị Hạnh",
    "Đặng Quốc Huy",
    "Bùi Thị Lan",
)


def stable_digits(seed: int | str, purpose: str, length: int) -> str:
    """A stable decimal id of ``length`` digits (never starting with 0)."""
    value = int.from_bytes(hashlib.sha256(f"{seed}:{purpose}".encode()).digest()[:12], "big")
    low = 10 ** (length - 1)
    return str(low + value % (9 * low))


def _hex(seed: int | str, purpose: str, length: int) -> str:
    return hashlib.sha256(f"{seed}:{purpose}".encode()).hexdigest()[:length]


def fb_user_id(seed: int | str, handle: str) -> str:
    """The app-scoped id Graph shows as a comment author's ``from.id``."""
    return stable_digits(seed, f"fb-user:{handle}", 17)


def psid(seed: int | str, handle: str, page_id: str) -> str:
    """The Page-scoped id (PSID) of the citizen in Messenger conversations with ``page_id``."""
    return stable_digits(seed, f"psid:{handle}:{page_id}", 16)


def zalo_uid(seed: int | str, handle: str, oa_id: str) -> str:
    """The citizen's UID for ``oa_id`` (18-19 digit ids,
    docs/platforms/zalo-oa.md#event-envelope-and-ids)."""
    return stable_digits(seed, f"zalo-uid:{handle}:{oa_id}", 19)


def zalo_uid_by_app(seed: int | str, handle: str) -> str:
    """The citizen's id for the Zalo app (``user_id_by_app``)."""
    return stable_digits(seed, f"zalo-uid-by-app:{handle}", 18)


def zalo_anonymous_id(seed: int | str, handle: str, oa_id: str) -> str:
    """The hex sender id of an anonymous chat-widget user
    (docs/platforms/zalo-oa.md#message-events-and-attachments)."""
    return _hex(seed, f"zalo-anon:{handle}:{oa_id}", 20)


@dataclass
class Citizen:
    """A simulated person. ``blocked`` lists Pages/OAs they blocked; ``inactive``: Zalo account
    banned or offline for more than 45 days (-227, docs/platforms/zalo-oa.md#errors)."""

    handle: str
    name: str
    created_at: float
    blocked: list[str] = field(default_factory=list)
    inactive: bool = False
    minor: bool = False


@dataclass
class GraphComment:
    """A comment on a Page post, by a citizen or by the Page itself (``author == "page"``)."""

    id: str
    post_id: str
    page_id: str
    parent_id: str | None
    author: str
    from_id: str
    from_name: str
    message: str
    created_time: float
    photo: str | None = None
    is_hidden: bool = False
    #: The private reply sent for it: ``{"at", "mid", "conversation_id"}`` (one at most).
    private_reply: dict[str, Any] | None = None


@dataclass
class MessengerThread:
    """A Messenger conversation between a Page and one citizen (PSID)."""

    id: str
    page_id: str
    psid: str
    citizen: str
    created_time: float
    updated_time: float
    #: The citizen's last message: the 24 h standard window and 7-day HUMAN_AGENT window run
    #: from here (docs/platforms/facebook-graph.md#the-24-hour-window). None until they write (a
    #: private reply opens no window, docs/platforms/facebook-graph.md#private-replies).
    last_user_message_at: float | None = None


@dataclass
class MessengerMessage:
    """One Messenger message (from the citizen or from the Page)."""

    mid: str
    thread_id: str
    page_id: str
    psid: str
    from_page: bool
    created_time: float
    text: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    reply_to: str | None = None
    #: For a private reply: the comment it answers.
    comment_id: str | None = None


@dataclass
class ZaloContact:
    """What an OA knows of one citizen: the interactions that open the CS window."""

    oa_id: str
    user_id: str
    citizen: str
    #: Last interaction (follow, message, "Nhắn tin" button;
    #: docs/platforms/zalo-oa.md#consultation-messages), None = never.
    last_interaction: float | None = None
    #: Free CS messages sent since the last interaction (8 within 48 h are free,
    #: docs/platforms/zalo-oa.md#consultation-messages).
    replies_since_interaction: int = 0
    follower: bool = False
    chatnow_sent: bool = False
    shared_info: dict[str, Any] | None = None
    withdrawn_at: float | None = None


@dataclass
class ZaloChat:
    """One message of an OA conversation, user -> OA (``src`` 1) or OA -> user (``src`` 0)."""

    message_id: str
    oa_id: str
    user_id: str
    citizen: str
    src: int
    time: float
    #: The webhook's attachment type (text, image, gif, link, audio, sticker, location).
    kind: str
    text: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    quote_msg_id: str | None = None
    anonymous: bool = False


@dataclass
class SentRecord:
    """Something a Page or an OA sent (or tried to send and was refused)."""

    seq: int
    at: float
    platform: str
    channel: str
    #: ``messenger``, ``private_reply``, ``comment_reply``, ``comment_hide`` or ``zalo_cs``.
    kind: str
    #: The PSID, UID, or comment id it was addressed to.
    to: str
    citizen: str | None
    #: The conversation id (Messenger), ``"{oa_id}:{user_id}"`` (Zalo) or the comment's post.
    thread: str | None
    payload: dict[str, Any]
    accepted: bool
    result: dict[str, Any]


@dataclass
class GraphWebhook:
    """The Meta app's Webhooks product for the Page object."""

    callback_url: str
    verify_token: str
    fields: list[str]
    timeout_s: float
    created_at: float
    #: Messenger deliveries failing this long (simulated seconds) unsubscribe the app from the
    #: Page (about an hour, docs/platforms/facebook-graph.md#delivery-and-retries); 0 = never.
    unsubscribe_after_s: float = 3600.0


@dataclass
class ZaloWebhook:
    """The Zalo app's webhook settings (one URL for every OA linked to the app)."""

    url: str
    #: Switched-on events; None = all of them.
    events: list[str] | None
    syntax_filter: bool
    signature_format: str
    timeout_s: float
    created_at: float
    #: Failures that are retried: all of them by default; ``["refused"]`` keeps to the letter of
    #: the docs (only "could not open a connection",
    #: docs/platforms/zalo-oa.md#delivery-and-retries).
    retry_on: list[str] = field(default_factory=lambda: ["refused", "status", "timeout", "error"])
    enabled: bool = True
    disabled_at: float | None = None
    disabled_reason: str | None = None
    #: Per-OA secret keys given at registration (others are derived from the seed).
    oa_secret_keys: dict[str, str] = field(default_factory=dict)


@dataclass
class WebhookAttempt:
    """One HTTP attempt of a delivery."""

    seq: int
    number: int
    scheduled_at: float
    at: float
    #: ``ok``, ``refused`` (no connection), ``status`` (not 200), ``timeout``, ``error``.
    outcome: str
    status: int | None
    elapsed_ms: float
    response: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class WebhookDelivery:
    """One webhook request the platform owes a receiver, and its attempts."""

    id: str
    platform: str
    channel: str
    url: str
    body: str
    headers: dict[str, str]
    events: list[str]
    created_at: float
    timeout_s: float
    #: ``pending``, ``delivered``, ``given_up``, ``dropped`` (the platform stopped sending) or
    #: ``filtered`` (never sent: event switched off, syntax filter, webhook disabled).
    state: str = "pending"
    next_due_at: float | None = None
    note: str | None = None
    attempts: list[WebhookAttempt] = field(default_factory=list)


@dataclass
class InboxState:
    """The citizens' side of the sandbox; part of :class:`sandbox.state.SandboxState`."""

    citizens: dict[str, Citizen] = field(default_factory=dict)
    comments: dict[str, GraphComment] = field(default_factory=dict)
    threads: dict[str, MessengerThread] = field(default_factory=dict)
    messages: list[MessengerMessage] = field(default_factory=list)
    contacts: dict[str, ZaloContact] = field(default_factory=dict)
    chats: list[ZaloChat] = field(default_factory=list)
    sent: list[SentRecord] = field(default_factory=list)
    graph_webhook: GraphWebhook | None = None
    #: page id -> fields the Page subscribed the app to (``POST /{page-id}/subscribed_apps``).
    page_subscriptions: dict[str, list[str]] = field(default_factory=dict)
    #: page id -> when its Messenger deliveries started failing without a success since.
    page_failing_since: dict[str, float] = field(default_factory=dict)
    #: page id -> why and when the app was unsubscribed from it after sustained failures.
    page_unsubscribed: dict[str, dict[str, Any]] = field(default_factory=dict)
    zalo_webhook: ZaloWebhook | None = None
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    next_serial: int = 1
    attempt_count: int = 0

    def serial(self) -> int:
        """A fresh number for ids (message ids, delivery ids, sent records)."""
        value = self.next_serial
        self.next_serial += 1
        return value

    def contact_key(self, oa_id: str, user_id: str) -> str:
        """The key of :attr:`contacts`."""
        return f"{oa_id}:{user_id}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InboxState:
        """Rebuild from ``dataclasses.asdict`` output (the saved state file)."""
        state = cls(
            next_serial=int(data.get("next_serial", 1)),
            attempt_count=int(data.get("attempt_count", 0)),
        )
        state.citizens = {k: Citizen(**v) for k, v in data.get("citizens", {}).items()}
        state.comments = {k: GraphComment(**v) for k, v in data.get("comments", {}).items()}
        state.threads = {k: MessengerThread(**v) for k, v in data.get("threads", {}).items()}
        state.messages = [MessengerMessage(**v) for v in data.get("messages", [])]
        state.contacts = {k: ZaloContact(**v) for k, v in data.get("contacts", {}).items()}
        state.chats = [ZaloChat(**v) for v in data.get("chats", [])]
        state.sent = [SentRecord(**v) for v in data.get("sent", [])]
        state.page_subscriptions = dict(data.get("page_subscriptions", {}))
        state.page_failing_since = dict(data.get("page_failing_since", {}))
        state.page_unsubscribed = dict(data.get("page_unsubscribed", {}))
        if data.get("graph_webhook"):
            state.graph_webhook = GraphWebhook(**data["graph_webhook"])
        if data.get("zalo_webhook"):
            state.zalo_webhook = ZaloWebhook(**data["zalo_webhook"])
        state.deliveries = []
        for raw in data.get("deliveries", []):
            raw = dict(raw)
            attempts = [WebhookAttempt(**a) for a in raw.pop("attempts", [])]
            state.deliveries.append(WebhookDelivery(**raw, attempts=attempts))
        return state


def citizen_fields() -> list[str]:
    """The settable fields of a citizen (for the control API)."""
    return [f.name for f in fields(Citizen) if f.name not in ("handle", "created_at")]


def get_or_create_citizen(
    inbox: InboxState, handle: str, now: float, name: str | None = None
) -> Citizen:
    """The citizen called ``handle``, created on first use (``name`` renames them)."""
    if not handle or not isinstance(handle, str):
        raise ValueError("citizen: a handle (string) is required")
    citizen = inbox.citizens.get(handle)
    if citizen is None:
        index = int(hashlib.sha256(handle.encode()).hexdigest(), 16) % len(DEFAULT_NAMES)
        citizen = Citizen(handle=handle, name=name or DEFAULT_NAMES[index], created_at=now)
        inbox.citizens[handle] = citizen
    elif name:
        citizen.name = name
    return citizen


def citizen_ids(
    seed: int | str, citizen: Citizen, page_ids: list[str], oa_ids: list[str]
) -> dict[str, Any]:
    """Every id of a citizen, for the control API and tests."""
    return {
        "handle": citizen.handle,
        "name": citizen.name,
        "fb_user_id": fb_user_id(seed, citizen.handle),
        "psids": {page: psid(seed, citizen.handle, page) for page in page_ids},
        "zalo_user_ids": {oa: zalo_uid(seed, citizen.handle, oa) for oa in oa_ids},
        "zalo_user_id_by_app": zalo_uid_by_app(seed, citizen.handle),
        "zalo_anonymous_ids": {oa: zalo_anonymous_id(seed, citizen.handle, oa) for oa in oa_ids},
        "blocked": list(citizen.blocked),
        "inactive": citizen.inactive,
        "minor": citizen.minor,
    }

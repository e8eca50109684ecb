"""The TUI thread view mentions what a citizen attached: kept (with the command that saves
it) or why not, and flags a minor, in Vietnamese at 80x24."""

from __future__ import annotations

import base64

import httpx
from sqlalchemy import Engine
from sqlmodel import select

from content.db import session_scope
from content.inbox import Inbound, ingest
from content.models import InboxAttachment, InboxThread, ThreadKind
from content.sealed import Sealer
from scheduler.inbox_attachments import AttachmentFetcher
from tests.helpers import FakeClock
from tests.tui.pilot import open_inbox, open_thread
from tests.tui.snapshot import screen_text
from tests.tui.test_tui_inbox import box as box  # noqa: F401 - fixtures
from tests.tui.test_tui_inbox import make_inbox_app as make_inbox_app  # noqa: F401
from tests.tui.test_tui_inbox import sealer as sealer  # noqa: F401

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


def cdn(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/old.jpg":
        return httpx.Response(404)
    return httpx.Response(200, content=PNG)


async def test_the_thread_view_says_what_was_kept_and_flags_a_minor(
    engine: Engine, sealer: Sealer, clock: FakeClock, make_inbox_app
):
    record = Inbound(
        "tinh-zalo",
        ThreadKind.ZALO_CHAT,
        "message",
        clock(),
        citizen_id="4411",
        citizen_name="Bé Na",
        platform_id="z-media",
        message_kind="image",
        text="Ảnh tin nhắn lừa đảo",
        attachments=(
            {"type": "image", "url": "https://cdn.example/new.jpg"},
            {"type": "image", "url": "https://cdn.example/old.jpg"},
        ),
    )
    with session_scope(engine) as session:
        ingest(session, sealer, [record], now=clock())
        thread = session.exec(select(InboxThread)).one()
        thread.minor = True
        session.add(thread)
    AttachmentFetcher(engine, sealer, clock=clock, transport=httpx.MockTransport(cdn)).run()
    with session_scope(engine, write=False) as session:
        kept = session.exec(select(InboxAttachment).where(InboxAttachment.state == "stored")).one()
    app = make_inbox_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_inbox(pilot)
        assert "<18" in screen_text(app)  # the list flags the minor before anyone opens it
        await open_thread(pilot)
        shown = screen_text(app)
    assert "dưới 18 tuổi" in shown
    assert f"[Ảnh] đã lưu, 1 kB · loa inbox attachment {kept.id} --out …" in shown
    assert "[Ảnh] không lưu được: liên kết của nền tảng đã hết hạn" in shown

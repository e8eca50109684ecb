"""Answering a citizen from the TUI, against the sandbox over real HTTP.

Citizens write through the sandbox's control API; the daemon's backfill (the library) brings
their messages into the inbox; the officer answers with keys, and the reply goes out through
the channel's client by the CLI's own path (:func:`scheduler.inbox_reply.answer`). The
sandbox records what the OA or Page sent, or refuses with the platform's code, which the
officer reads in Vietnamese. Loa's clock is the sandbox's, moved together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from content.accounts import unenforced
from content.inbox import Inbox, ThreadSummary
from content.sealed import Sealer
from content.ui.context import InboxWiring
from sandbox.testing import SandboxHandle
from scheduler.channels import build_channel
from scheduler.config import Config
from scheduler.inbox_jobs import backfill, inbox_sealer
from scheduler.inbox_reply import answer
from tests.helpers import FakeClock

# The end-to-end tests' office, sandbox and proxy-free environment (pytest fixtures).
from tests.test_inbox_e2e import OA, PAGE, START, office_on_sandbox
from tests.test_inbox_e2e import _no_proxy as _no_proxy
from tests.test_inbox_e2e import sandbox as sandbox
from tests.tui.conftest import notifications
from tests.tui.pilot import open_inbox, open_thread, press
from tests.tui.snapshot import screen_text
from tui import LoaApp


@dataclass
class Office:
    """The sandbox, Loa's config and database on the sandbox's clock."""

    sb: SandboxHandle
    config: Config
    engine: Engine
    sealer: Sealer
    clock: FakeClock

    def advance(self, hours: float) -> None:
        self.sb.advance_clock(hours * 3600)
        self.clock.advance(hours=hours)

    async def backfill(self) -> None:
        """What the daemon does every 15 minutes: fetch the conversations by API."""
        clients = {
            cid: build_channel(cid, self.config, engine=self.engine, clock=self.clock)
            for cid in self.config.channels
        }
        try:
            results = await backfill(
                self.engine, self.config, self.sealer, clients, clock=self.clock
            )
            assert all(r.error is None for r in results), results
        finally:
            for client in clients.values():
                await client.aclose()

    def threads(self) -> list[ThreadSummary]:
        return Inbox(
            self.engine,
            self.config.directory(),
            self.sealer,
            access=unenforced("lan"),
            settings=self.config.inbox.settings(self.config.channels),
            clock=self.clock,
        ).threads()

    def app(self) -> LoaApp:
        config, clock = self.config, self.clock
        return LoaApp(
            self.engine,
            config.directory(),
            actor="lan",
            clock=clock,
            lang="vi",
            refresh_seconds=3600,
            inbox=InboxWiring(
                sealer=lambda: self.sealer,
                settings=config.inbox.settings(config.channels),
                send_reply=lambda box, thread, text, mode, to: answer(
                    box, config, thread, text, mode=mode, to=to, clock=clock
                ),
            ),
        )


@pytest.fixture
def office(sandbox, sqlite_url, tmp_path, monkeypatch) -> Iterator[Office]:
    config, engine = office_on_sandbox(sandbox, sqlite_url, tmp_path, monkeypatch)
    yield Office(sandbox, config, engine, inbox_sealer(engine, config), FakeClock(START))
    engine.dispose()


async def _answer_first_thread(app: LoaApp, pilot, text: str) -> None:
    """What an officer presses: I (inbox), Enter (read), R (reply), the text, Ctrl+S (send)."""
    await open_inbox(pilot)
    await open_thread(pilot)
    await press(pilot, "r")
    app.screen.query_one("#reply-text").insert(text)
    await press(pilot, "ctrl+s")


async def test_an_officer_answers_a_zalo_citizen_and_the_oa_sends_it(office):
    sent = office.sb.citizen_zalo("an", OA, "Có số lạ gọi tự xưng công an, đòi chuyển tiền")
    await office.backfill()
    [thread] = office.threads()
    office.advance(hours=0.5)
    app = office.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _answer_first_thread(app, pilot, "Cảm ơn anh. Tuyệt đối không chuyển tiền.")
        said = notifications(pilot)
        shown = screen_text(app)
    assert f"Hội thoại {thread.id}: đã gửi câu trả lời." in said
    assert "lan:" in shown and "Tuyệt đối không chuyển tiền." in shown
    [record] = office.sb.sent(platform="zalo", channel=OA)
    assert record["accepted"] and record["to"] == sent["user_id"]
    assert record["payload"]["message"]["text"] == "Cảm ơn anh. Tuyệt đối không chuyển tiền."
    [after] = office.threads()
    assert after.state == "answered" and after.waiting_since is None


async def test_a_reply_after_messengers_24_hours_is_refused_in_vietnamese_and_kept(office):
    office.sb.citizen_messenger("binh", PAGE, text="Cho hỏi thủ tục trình báo mất giấy tờ?")
    office.advance(hours=25)
    await office.backfill()
    [thread] = office.threads()
    app = office.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_inbox(pilot)
        await open_thread(pilot)
        await press(pilot, "r")
        # Before sending, the dialog already says Facebook's window has closed.
        warned = str(app.screen.query_one("#reply-window").render())
        app.screen.query_one("#reply-text").insert("Xin lỗi vì trả lời muộn.")
        await press(pilot, "ctrl+s")
        refusal = str(app.screen.query_one("#dialog-error").render())
        in_dialog = screen_text(app)
        still = type(app.screen).__name__
        await press(pilot, "escape")
        shown = screen_text(app)
    assert warned.startswith("Đã hết hạn trả lời trên Facebook")
    assert refusal.startswith(
        f"Facebook từ chối câu trả lời cho hội thoại {thread.id}: Trang chỉ được trả lời trong "
        "vòng 24 giờ"
    ), refusal
    assert "Facebook từ chối câu trả lời cho" in in_dialog  # shown, not only written
    assert still == "ReplyDialog"  # the text stays, to copy elsewhere
    # The refused reply stays in the thread, with the reason in Vietnamese.
    assert "bị nền tảng từ chối" in shown
    assert "Facebook từ chối câu trả lời" in shown
    [record] = office.sb.sent(platform="graph", channel=PAGE)
    assert not record["accepted"]

"""The inbox end to end against the sandbox over real HTTP, on SQLite and PostgreSQL.

Citizens act through the sandbox's control API; the sandbox delivers the webhooks (signed,
retried on its simulated clock) to Loa's receiver; Loa answers through the real channel
clients, and the sandbox records what the Page or OA sent. Loa's clock is the sandbox's,
moved together, so windows and retries are crossed without sleeping."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, func
from sqlmodel import select

from content import inbox_events
from content.accounts import unenforced
from content.db import open_database, session_scope
from content.inbox import Inbox, ReplyRefused, ThreadSummary
from content.messages import render
from content.models import InboundEvent, InboxMessage
from content.sealed import Sealer
from sandbox.testing import SandboxHandle, running_sandbox
from scheduler.channels import build_channel
from scheduler.channels.base import OutgoingPost
from scheduler.config import Config, load
from scheduler.inbox_jobs import backfill, inbox_sealer
from scheduler.inbox_reply import answer
from scheduler.webhooks import Receiver, serving
from tests.helpers import FakeClock

PAGE = "100000000000001"
OA = "4300000000000000001"
VERIFY = "loa-verify-token-e2e"
#: A Monday morning in Hồ Chí Minh City (01:00 UTC = 08:00 office time): no Zalo night ban.
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed=19, verify_pending_polls=1, graph_call_budget=100_000) as sb:
        yield sb


def write_config(path: Path, sb: SandboxHandle) -> Path:
    path.write_text(
        f"""
[office]
name = "Công an tỉnh Demo"

[inbox]
response_target_hours = 4

[channels.tinh-fb]
kind = "facebook"
name = "Công an tỉnh (Facebook)"
page_id = "{PAGE}"
base_url = "{sb.graph_url}"
graph_version = "v26.0"
token = {{ env = "E2E_FB_TOKEN" }}
app_secret = {{ env = "E2E_FB_APP_SECRET" }}
verify_token = {{ env = "E2E_FB_VERIFY" }}
timeout_seconds = 5

[channels.tinh-zalo]
kind = "zalo_oa"
name = "Công an tỉnh (Zalo OA)"
oa_id = "{OA}"
app_id = "{sb.zalo_app_id}"
base_url = "{sb.zalo_url}"
oauth_url = "{sb.zalo_oauth_url}"
app_secret = {{ env = "E2E_ZALO_APP_SECRET" }}
refresh_token = {{ env = "E2E_ZALO_REFRESH" }}
webhook_secret = {{ env = "E2E_ZALO_OA_SECRET" }}
timeout_seconds = 5
""",
        encoding="utf-8",
    )
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class World:
    """A reset sandbox, Loa's config and database, and the receiver (on a fixed port)."""

    sb: SandboxHandle
    config: Config
    engine: Engine
    sealer: Sealer
    clock: FakeClock
    port: int
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}"

    @contextmanager
    def receiver_up(self, **keys: object) -> Iterator[Receiver]:
        receiver = Receiver(self.config, self.engine, self.sealer, clock=self.clock, **keys)
        with serving(receiver, port=self.port):
            yield receiver

    def advance(self, **delta: float) -> None:
        """Move both clocks (the sandbox starts the retries that fell due)."""
        seconds = timedelta(**delta).total_seconds()
        self.sb.advance_clock(seconds)
        self.clock.advance(seconds=seconds)

    def deliver(self) -> None:
        """Let the sandbox make every due delivery, then let the receiver's worker finish."""
        self.sb.run_webhooks()
        deadline = time.monotonic() + 15
        while inbox_events.pending(self.engine):
            assert time.monotonic() < deadline, "the receiver did not process its events"
            time.sleep(0.02)
        # The worker commits the batch it processes at once: no event is half-done here.

    def inbox(self) -> Inbox:
        return Inbox(
            self.engine,
            self.config.directory(),
            self.sealer,
            access=unenforced("lan"),
            settings=self.config.inbox.settings(self.config.channels),
            clock=self.clock,
        )

    def reply(self, thread_id: int, text: str, mode: str | None = None) -> ThreadSummary:
        # The CLI's and the TUI's own path: record, send through the client, settle.
        return answer(self.inbox(), self.config, thread_id, text, mode=mode, clock=self.clock)

    def backfill(self) -> None:
        clients = {
            cid: build_channel(cid, self.config, engine=self.engine, clock=self.clock)
            for cid in self.config.channels
        }

        async def run() -> None:
            try:
                results = await backfill(
                    self.engine, self.config, self.sealer, clients, clock=self.clock
                )
                assert all(r.error is None for r in results), results
            finally:
                for client in clients.values():
                    await client.aclose()

        asyncio.run(run())

    def thread(self, channel: str, kind: str) -> ThreadSummary:
        found = [t for t in self.inbox().threads() if t.channel == channel and t.kind == kind]
        assert len(found) == 1, found
        return found[0]

    def publish(self, text: str) -> str:
        client = build_channel("tinh-fb", self.config, engine=self.engine, clock=self.clock)

        async def run() -> str:
            try:
                done = await client.publish(OutgoingPost(1, "tinh-fb", text))
                return done.remote_id  # type: ignore[union-attr]
            finally:
                await client.aclose()

        return asyncio.run(run())


def office_on_sandbox(
    sandbox: SandboxHandle, url: str, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Config, Engine]:
    """The office of these tests at START on a reset sandbox: its secrets in the environment,
    its channels.toml in ``folder``, its database at ``url`` (the TUI's inbox tests too)."""
    sandbox.reset()
    sandbox.set_clock(START.timestamp(), frozen=True)
    secrets = {
        "E2E_FB_TOKEN": sandbox.page_token(PAGE),
        "E2E_FB_APP_SECRET": sandbox.graph_app_secret,
        "E2E_FB_VERIFY": VERIFY,
        "E2E_ZALO_APP_SECRET": sandbox.zalo_app_secret,
        "E2E_ZALO_REFRESH": sandbox.refresh_token(OA),
        "E2E_ZALO_OA_SECRET": sandbox.zalo_webhook()["oa_secret_keys"][OA],
        "LOA_CREDENTIAL_KEY": Fernet.generate_key().decode(),
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    config = load(write_config(folder / "channels.toml", sandbox))
    return config, open_database(url)


@pytest.fixture
def world(sandbox, db_url, tmp_path, monkeypatch) -> Iterator[World]:
    config, engine = office_on_sandbox(sandbox, db_url, tmp_path, monkeypatch)
    w = World(sandbox, config, engine, inbox_sealer(engine, config), FakeClock(START), free_port())
    yield w
    engine.dispose()


def subscribe(w: World) -> None:
    w.sb.subscribe_zalo_webhook(f"{w.url}/webhooks/zalo")
    w.sb.subscribe_graph_webhook(
        f"{w.url}/webhooks/facebook", VERIFY, fields=["feed", "messages", "message_echoes"]
    )


def out_messages(engine: Engine) -> int:
    with session_scope(engine, write=False) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(InboxMessage)
                .where(InboxMessage.direction == "out")
            ).one()
        )


def all_messages(engine: Engine) -> list[InboxMessage]:
    with session_scope(engine, write=False) as session:
        return list(session.exec(select(InboxMessage)).all())


def test_a_citizens_zalo_message_reaches_the_inbox_and_the_reply_reaches_him(world):
    w = world
    with w.receiver_up():
        subscribe(w)
        sent = w.sb.citizen_zalo(
            "an", OA, "Có số lạ gọi tự xưng công an, đòi chuyển tiền", name="An"
        )
        w.deliver()
        thread = w.thread("tinh-zalo", "zalo_chat")
        assert thread.state == "open" and thread.messages_in == 1
        assert thread.response_due_at == START + timedelta(hours=4)
        view = w.inbox().thread(thread.id)
        assert view.messages[0].text == "Có số lạ gọi tự xưng công an, đòi chuyển tiền"
        assert view.messages[0].platform_id == sent["msg_id"]
        w.advance(minutes=20)
        answered = w.reply(thread.id, "Cảm ơn anh. Tuyệt đối không chuyển tiền; gọi 113 nếu cần.")
        assert answered.state == "answered" and answered.waiting_since is None
        # Zalo's echo (oa_send_text) of the same message comes back: still one reply.
        w.deliver()
    [record] = w.sb.sent(platform="zalo", channel=OA)
    assert record["accepted"] and record["to"] == sent["user_id"]
    assert record["payload"]["message"]["text"].startswith("Cảm ơn anh.")
    assert out_messages(w.engine) == 1


def test_a_messenger_reply_after_24_hours_is_refused_with_the_platforms_reason(world):
    w = world
    with w.receiver_up():
        subscribe(w)
        w.sb.citizen_messenger("binh", PAGE, text="Cho hỏi thủ tục trình báo mất giấy tờ?")
        w.deliver()
        thread = w.thread("tinh-fb", "messenger")
        w.advance(hours=2)
        w.reply(thread.id, "Chào bạn, bạn mang CCCD đến trụ sở công an phường.")
        w.deliver()
        w.sb.citizen_messenger("binh", PAGE, text="Cảm ơn, còn một câu nữa...")
        w.deliver()
        w.advance(hours=25)
        with pytest.raises(ReplyRefused) as refused:
            w.reply(thread.id, "Xin lỗi vì trả lời muộn.")
    error = refused.value
    assert error.code == "reply_window_closed"
    assert error.params["platform_code"] == "10/2018278"
    assert "outside of allowed window" in str(error)
    assert render(error, "vi").startswith(
        f"Facebook từ chối câu trả lời cho hội thoại {thread.id}: Trang chỉ được trả lời trong "
        "vòng 24 giờ"
    )
    kinds = [(r["accepted"], r["kind"]) for r in w.sb.sent(platform="graph", channel=PAGE)]
    assert kinds == [(True, "messenger"), (False, "messenger")]
    states = [m.state for m in w.inbox().thread(thread.id).messages if m.direction == "out"]
    assert states == ["sent", "refused"]


def test_a_comment_gets_one_private_reply_and_public_answers(world):
    w = world
    with w.receiver_up():
        subscribe(w)
        post_id = w.publish("Cảnh giác cuộc gọi giả danh công an")
        comment = w.sb.citizen_comment(
            "chi", post_id, "Hôm qua số 0987 000 111 gọi tôi y như vậy", name="Chi"
        )
        w.deliver()
        thread = w.thread("tinh-fb", "comments")
        assert thread.window.rule == "private_reply_7d"
        w.reply(thread.id, "Chúng tôi nhắn riêng để hỏi thêm chi tiết.", mode="private")
        w.reply(thread.id, "Cảm ơn bạn đã cảnh báo mọi người!")  # public, under the comment
        w.deliver()  # the Page's own comment and the echo come back through the webhook
        with pytest.raises(Exception) as again:
            w.reply(thread.id, "Nhắn riêng lần nữa", mode="private")
    assert getattr(again.value, "code", None) == "private_reply_used"
    sent = w.sb.sent(platform="graph", channel=PAGE)
    private = [r for r in sent if r["kind"] == "private_reply"]
    assert (
        len(private) == 1 and private[0]["accepted"] and private[0]["to"] == comment["comment_id"]
    )
    assert [r["kind"] for r in sent if r["accepted"]] == ["private_reply", "comment_reply"]
    assert out_messages(w.engine) == 2


def test_a_private_reply_after_seven_days_is_refused_by_facebook(world):
    w = world
    with w.receiver_up():
        subscribe(w)
        post_id = w.publish("Thông báo số điện thoại đường dây nóng")
        w.sb.citizen_comment("dung", post_id, "Số này có gọi được ban đêm không?")
        w.deliver()
        thread = w.thread("tinh-fb", "comments")
        w.advance(days=8)
        with pytest.raises(ReplyRefused) as refused:
            w.reply(thread.id, "Có, 24/24.", mode="private")
    assert refused.value.code == "reply_window_closed"
    assert refused.value.params["platform_code"] == "10901"


def test_forged_signatures_are_refused_and_nothing_is_stored(world):
    w = world
    from scheduler.webhooks import Keys

    wrong = Keys.from_config(w.config)
    forged = Keys(
        zalo={
            cid: type(k)(k.oa_id, k.app_id, "not-the-oa-secret-key")
            for cid, k in wrong.zalo.items()
        },
        pages=wrong.pages,
        app_secrets={cid: "not-the-app-secret" for cid in wrong.app_secrets},
        verify_tokens=wrong.verify_tokens,
    )
    with w.receiver_up(keys=forged):
        subscribe(w)
        post_id = w.publish("Bài để bình luận")
        w.sb.citizen_zalo("em", OA, "Xin chào")
        w.sb.citizen_messenger("em", PAGE, text="Xin chào")
        w.sb.citizen_comment("em", post_id, "Xin chào")
        w.sb.run_webhooks()
    attempts = [a for d in w.sb.deliveries() for a in d["attempts"]]
    assert attempts and {a["status"] for a in attempts} == {403}
    with session_scope(w.engine, write=False) as session:
        assert session.exec(select(func.count()).select_from(InboundEvent)).one() == 0
    assert all_messages(w.engine) == []


def test_receiver_down_through_the_retry_schedule_backfill_recovers_each_message_once(world):
    w = world
    subscribe_while_down(w)
    post_id = w.publish("Cảnh báo lừa đảo qua mạng")
    # The receiver is down: citizens write on every channel, several times.
    for n in range(3):
        w.sb.citizen_zalo(f"z{n}", OA, f"Tin Zalo {n}: bị lừa mua hàng online")
        w.sb.citizen_zalo(f"z{n}", OA, f"Tin Zalo {n}, thêm ảnh", type="image")
        w.sb.citizen_messenger(f"m{n}", PAGE, text=f"Tin Messenger {n}")
        w.sb.citizen_comment(f"c{n}", post_id, f"Bình luận {n}")
    # Zalo retries at 30 s, 5 min, 15 min, 30 min and 1 h, then disables the webhook; Meta
    # keeps going for 36 h. An outage of 90 minutes outlasts Zalo's schedule
    # (docs/platforms/zalo-oa.md#delivery-and-retries).
    for minutes in (1, 5, 15, 30, 40):
        w.advance(minutes=minutes)
        w.sb.run_webhooks()
    assert w.sb.zalo_webhook()["webhook"]["enabled"] is False
    with w.receiver_up():
        w.backfill()  # what the daemon does on start and every 15 minutes
        recovered = sorted((m.channel, m.platform_id) for m in all_messages(w.engine))
        assert len(recovered) == 6 + 3 + 3
        # Meta's retries arrive later still: the same messages, not doubled.
        w.advance(hours=3)
        w.deliver()
        w.backfill()
    final = sorted((m.channel, m.platform_id) for m in all_messages(w.engine))
    assert final == recovered
    assert len(set(final)) == len(final)
    zalo = [m for m in all_messages(w.engine) if m.channel == "tinh-zalo"]
    assert {m.source for m in zalo} == {"backfill"}


def subscribe_while_down(w: World) -> None:
    """Register the receiver's URL with the platforms (the handshake needs it up), then stop it."""
    with w.receiver_up():
        subscribe(w)


def test_withdrawal_purges_the_citizens_data_and_backfill_does_not_bring_it_back(world):
    w = world
    with w.receiver_up():
        subscribe(w)
        w.sb.citizen_zalo("giang", OA, "Tôi muốn tố giác một đường dây đánh bạc", name="Giang")
        w.sb.zalo_event(
            "submit_info",
            "giang",
            OA,
            info={"name": "Nguyễn Thị Giang", "phone": "0912345678", "address": "12 Lê Lợi"},
        )
        w.deliver()
        thread = w.thread("tinh-zalo", "zalo_chat")
        assert w.inbox().thread(thread.id).citizen_info["phone"] == "84912345678"
        w.advance(minutes=5)
        w.sb.zalo_event("withdraw", "giang", OA)
        w.deliver()
        w.backfill()  # the OA still has the chat; Loa must not take it back
    view = w.inbox().thread(thread.id)
    assert view.summary.withdrawn and view.summary.state == "closed"
    assert view.citizen_name is None and view.citizen_info == {}
    assert all(m.text is None and m.purged for m in view.messages)
    with pytest.raises(Exception) as refused:
        w.reply(thread.id, "Xin chào")
    assert getattr(refused.value, "code", None) == "inbox_withdrawn"
    texts = [w.sealer.open(m.text_enc) for m in all_messages(w.engine)]
    assert texts == [None] * len(texts)

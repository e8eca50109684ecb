"""The citizens' inbox rules (content.inbox) on SQLite and PostgreSQL: threads, the state
table, the two clocks, sealing, access, audit, withdrawal and retention."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, func, text
from sqlmodel import select

from content.accounts import Access, Accounts, unenforced
from content.db import session_scope
from content.inbox import (
    Inbound,
    Inbox,
    InboxRefused,
    InboxSettings,
    ReplyRefused,
    ThreadFilter,
    ThreadNotFound,
    ingest,
    purge_expired,
)
from content.models import AuditEvent, InboxMessage, InboxThread, Role, ThreadKind
from content.office import ChannelDirectory
from content.sealed import Sealer
from tests.helpers import FakeClock

KEY = Fernet.generate_key()
SECRET_TEXT = "Có người gọi giả danh công an, số 0912 345 678, đòi chuyển tiền"


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(KEY)


@pytest.fixture
def inbox(engine: Engine, directory: ChannelDirectory, sealer: Sealer, clock: FakeClock):
    """The inbox as ``who`` (before accounts exist: everyone sees everything)."""

    def make(access: Access | None = None, **settings) -> Inbox:
        return Inbox(
            engine,
            directory,
            sealer,
            access=access or unenforced("can-bo"),
            settings=InboxSettings(**settings),
            clock=clock,
        )

    return make


def deliver(engine: Engine, sealer: Sealer, clock: FakeClock, *records: Inbound):
    with session_scope(engine) as session:
        return ingest(session, sealer, list(records), now=clock())


def zalo(
    clock: FakeClock,
    msg: str,
    *,
    user: str = "2468",
    text_value: str = SECRET_TEXT,
    channel: str = "tinh-zalo",
    ago: timedelta = timedelta(0),
    **extra,
) -> Inbound:
    return Inbound(
        channel=channel,
        kind=ThreadKind.ZALO_CHAT,
        event="message",
        occurred_at=clock() - ago,
        citizen_id=user,
        citizen_name="Nguyễn Văn Dân",
        platform_id=msg,
        text=text_value,
        **extra,
    )


def only_thread(engine: Engine) -> InboxThread:
    with session_scope(engine, write=False) as session:
        rows = session.exec(select(InboxThread)).all()
    assert len(rows) == 1
    return rows[0]


def test_a_message_delivered_twice_and_backfilled_is_stored_once(engine, sealer, clock, inbox):
    first = deliver(engine, sealer, clock, zalo(clock, "m1"))
    again = deliver(engine, sealer, clock, zalo(clock, "m1"), zalo(clock, "m1", source="backfill"))
    assert (first.messages, first.threads_created) == (1, 1)
    assert (again.messages, again.duplicates) == (0, 2)
    [summary] = inbox().threads()
    assert summary.state == "open"
    assert summary.messages_in == 1
    # The office's clock runs from the message; the platform's from the interaction.
    assert summary.response_due_at == clock() + timedelta(hours=24)
    assert summary.window.rule == "zalo_7d"
    assert summary.window.closes_at == clock() + timedelta(days=7)


def test_the_state_table_drives_every_change(engine, sealer, clock, inbox):
    deliver(engine, sealer, clock, zalo(clock, "m1"))
    box = inbox()
    thread_id = only_thread(engine).id
    assert box.assign(thread_id, officer="can-bo").state == "assigned"
    plan = box.begin_reply(thread_id, "Cảm ơn anh, chúng tôi đã tiếp nhận.")
    clock.advance(minutes=30)
    answered_at = clock()
    answered = box.finish_reply(plan, "oa-msg-1")
    assert answered.state == "answered"
    assert answered.waiting_since is None
    clock.advance(hours=1)
    deliver(engine, sealer, clock, zalo(clock, "m2"))
    # He writes again: back to the officer who has it, the office's clock running again.
    [again] = box.threads()
    assert again.state == "assigned" and again.waiting_since == clock()
    assert box.close(thread_id).state == "closed"
    with pytest.raises(InboxRefused) as refused:
        box.close(thread_id)
    assert refused.value.code == "inbox_state"
    assert refused.value.params == {"thread": thread_id, "tstate": "closed", "taction": "close"}
    assert str(refused.value) == f"thread {thread_id} is closed; closing it is not allowed"
    with pytest.raises(InboxRefused, match="answering it is not allowed"):
        box.begin_reply(thread_id, "muộn")
    clock.advance(hours=1)
    deliver(engine, sealer, clock, zalo(clock, "m3"))
    assert box.threads()[0].state == "assigned"
    with session_scope(engine, write=False) as session:
        thread = session.get(InboxThread, thread_id)
        assert thread is not None
        # The first response time stays the first: what the reports' median is made of.
        assert thread.first_response_at == answered_at


def test_personal_data_is_sealed_at_rest_and_every_reading_is_audited(engine, sealer, clock, inbox):
    deliver(engine, sealer, clock, zalo(clock, "m1"))
    with engine.connect() as conn:
        dump = " ".join(
            str(v)
            for table in ("inboxthread", "inboxmessage")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
            for v in row
        )
    assert "0912" not in dump and "Nguyễn" not in dump and "2468" not in dump
    listed = inbox(Access("lan", "lan")).threads()
    with session_scope(engine, write=False) as session:
        assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 0
    view = inbox(Access("lan", "lan")).thread(listed[0].id)
    assert view.citizen_name == "Nguyễn Văn Dân"
    assert view.messages[0].text == SECRET_TEXT
    with session_scope(engine, write=False) as session:
        [row] = session.exec(select(AuditEvent)).all()
    assert (row.actor, row.action, row.detail) == ("lan", "inbox_read", "thread 1 (tinh-zalo)")
    assert "0912" not in str(row.after) and "Nguyễn" not in (row.detail or "")


def test_an_officer_sees_and_handles_only_his_units_threads(engine, sealer, clock, inbox):
    admin = unenforced("root")
    accounts = Accounts(engine, inbox().directory, by=admin, clock=clock)
    accounts.add("root", Role.ADMIN)
    root = Access("root", "root", Role.ADMIN)
    accounts = Accounts(engine, inbox().directory, by=root, clock=clock)
    accounts.add("xa", Role.AUTHOR, ["xa-fb"])
    accounts.add("tinh", Role.AUTHOR, ["tinh-zalo"])
    deliver(engine, sealer, clock, zalo(clock, "m1"))
    fb = Inbound(
        channel="xa-fb",
        kind=ThreadKind.MESSENGER,
        event="message",
        occurred_at=clock(),
        citizen_id="psid-9",
        platform_id="mid.1",
        text="Xin hỏi giờ làm việc",
    )
    deliver(engine, sealer, clock, fb)
    xa = Access("xa", "xa", Role.AUTHOR, frozenset({"xa-fb"}))
    mine = inbox(xa).threads()
    assert [t.channel for t in mine] == ["xa-fb"]
    zalo_thread = inbox(root).threads(ThreadFilter(channels=("tinh-zalo",)))[0].id
    with pytest.raises(ThreadNotFound):
        inbox(xa).thread(zalo_thread)
    # He may take his own thread, not give it away; an approver may, to someone who sees it.
    assert inbox(xa).assign(mine[0].id, officer="xa").assignee == "xa"
    with pytest.raises(Exception, match="may not assign threads to others"):
        inbox(xa).assign(mine[0].id, officer="root")
    with pytest.raises(InboxRefused) as refused:
        inbox(root).assign(mine[0].id, officer="tinh")
    assert refused.value.code == "inbox_assignee"
    assert inbox(root).counts(by="channel")["tinh-zalo"].open == 1
    assert set(inbox(xa).counts(by="channel")) == {"xa-fb"}


def test_withdrawal_purges_the_citizen_and_blocks_what_he_deleted(engine, sealer, clock, inbox):
    deliver(engine, sealer, clock, zalo(clock, "m1", citizen_alt_id="app-77"))
    deliver(engine, sealer, clock, zalo(clock, "m2", user="other"))
    clock.advance(minutes=5)
    # Zalo's user_withdraw from an app not linked to an OA names only user_id_by_app.
    gone = Inbound(
        channel="tinh-zalo",
        kind=ThreadKind.ZALO_CHAT,
        event="withdraw",
        occurred_at=clock(),
        citizen_alt_id="app-77",
        scope=("tinh-zalo",),
    )
    assert deliver(engine, sealer, clock, gone).withdrawn_threads == 1
    box = inbox()
    withdrawn = [t for t in box.threads() if t.withdrawn]
    assert len(withdrawn) == 1 and withdrawn[0].state == "closed"
    view = box.thread(withdrawn[0].id)
    assert view.citizen_name is None and view.messages[0].text is None
    assert view.messages[0].purged
    # A webhook retry or a backfill of the old message does not bring it back.
    assert deliver(engine, sealer, clock, zalo(clock, "m9", ago=timedelta(minutes=10))).blocked
    with pytest.raises(InboxRefused) as refused:
        box.begin_reply(withdrawn[0].id, "Xin chào")
    assert refused.value.code == "inbox_withdrawn"
    # He writes again of his own accord: a new message, and he can be answered.
    clock.advance(minutes=1)
    deliver(engine, sealer, clock, zalo(clock, "m10", text_value="Tôi muốn hỏi thêm"))
    assert box.begin_reply(withdrawn[0].id, "Vâng, anh cứ hỏi").mode == "message"
    other = [t for t in box.threads() if not t.withdrawn][0]
    assert box.thread(other.id).messages[0].text == SECRET_TEXT


def test_personal_data_older_than_the_retention_is_purged_counts_stay(engine, sealer, clock, inbox):
    deliver(engine, sealer, clock, zalo(clock, "old", ago=timedelta(days=200)))
    deliver(engine, sealer, clock, zalo(clock, "new", user="9999"))
    done = purge_expired(engine, now=clock(), retention=timedelta(days=180))
    assert (done.messages, done.threads) == (1, 1)
    box = inbox()
    by_state = {t.purged: t for t in box.threads()}
    assert by_state[True].messages_in == 1
    assert box.thread(by_state[True].id).messages[0].text is None
    assert box.thread(by_state[False].id).messages[0].text == SECRET_TEXT
    assert purge_expired(engine, now=clock(), retention=timedelta(days=180)).messages == 0


def test_an_echo_arriving_before_the_send_answer_is_one_message(engine, sealer, clock, inbox):
    deliver(engine, sealer, clock, zalo(clock, "m1"))
    box = inbox()
    thread_id = only_thread(engine).id
    plan = box.begin_reply(thread_id, "Đã nhận")
    echo = Inbound(
        channel="tinh-zalo",
        kind=ThreadKind.ZALO_CHAT,
        event="message",
        occurred_at=clock(),
        citizen_id="2468",
        direction="out",
        platform_id="oa-1",
        text="Đã nhận",
    )
    deliver(engine, sealer, clock, echo)
    box.finish_reply(plan, "oa-1")
    view = box.thread(thread_id)
    outs = [m for m in view.messages if m.direction == "out"]
    assert len(outs) == 1 and outs[0].author == "can-bo" and outs[0].state == "sent"
    assert view.summary.state == "answered"


def comment(clock: FakeClock, cid: str, who: str = "u-5", **extra) -> Inbound:
    return Inbound(
        channel="tinh-fb",
        kind=ThreadKind.COMMENTS,
        event="message",
        occurred_at=clock(),
        citizen_id=who,
        citizen_name="Trần Thị B",
        platform_id=cid,
        text="Số điện thoại này lừa đảo: 0987 000 111",
        post_ref="100_1",
        reply_to="100_1",
        **extra,
    )


def test_a_comment_takes_one_private_reply_a_refusal_is_kept(engine, sealer, clock, inbox):
    deliver(engine, sealer, clock, comment(clock, "1_c1"))
    box = inbox()
    thread_id = only_thread(engine).id
    [summary] = box.threads()
    assert summary.window.rule == "private_reply_7d"
    plan = box.begin_reply(thread_id, "Chúng tôi nhắn riêng cho bạn", mode="private")
    assert plan.recipient == "1_c1"
    box.finish_reply(plan, "m_private_1")
    with pytest.raises(InboxRefused) as refused:
        box.begin_reply(thread_id, "Lần nữa", mode="private")
    assert refused.value.code == "private_reply_used"
    assert box.threads()[0].window.private_used
    # A public answer is still possible; a refused one is kept with the platform's reason.
    public = box.begin_reply(thread_id, "Cảm ơn bạn đã báo")
    assert public.mode == "public"
    box.refuse_reply(
        public,
        ReplyRefused(
            "reply_refused",
            thread=thread_id,
            platform="Facebook",
            platform_code="100/33",
            said="Facebook 100/33: Unsupported post request",
        ),
    )
    states = [m.state for m in box.thread(thread_id).messages if m.direction == "out"]
    assert states == ["sent", "refused"]
    with pytest.raises(InboxRefused) as wrong:
        box.begin_reply(thread_id, "x", mode="message")
    assert wrong.value.code == "reply_mode"


def test_messenger_window_is_24_hours_or_7_days_with_the_human_agent_tag(
    engine, sealer, clock, inbox
):
    dm = Inbound(
        channel="tinh-fb",
        kind=ThreadKind.MESSENGER,
        event="message",
        occurred_at=clock(),
        citizen_id="psid-1",
        platform_id="mid.1",
        text="Alo",
    )
    deliver(engine, sealer, clock, dm)
    plain = inbox().threads()[0].window
    tagged = inbox(human_agent=frozenset({"tinh-fb"})).threads()[0].window
    assert plain.closes_at == clock() + timedelta(hours=24)
    assert tagged.closes_at == clock() + timedelta(days=7)
    clock.advance(hours=30)
    assert not plain.is_open(clock()) and tagged.is_open(clock())
    plan = inbox(human_agent=frozenset({"tinh-fb"})).begin_reply(1, "Xin lỗi vì trả lời muộn")
    assert plan.human_agent


def test_tags_and_counts_per_unit(engine, sealer, clock, inbox):
    deliver(engine, sealer, clock, comment(clock, "1_c1"), comment(clock, "1_c2", who="u-6"))
    box = inbox()
    first, second = (t.id for t in box.threads())
    assert box.tag(first, add=["Scam report", "tip"]).tags == ("tip", "scam_report")
    assert box.tag(first, remove=["tip"]).tags == ("scam_report",)
    with pytest.raises(InboxRefused) as refused:
        box.tag(first, add=["urgent"])
    assert refused.value.code == "inbox_tag"
    box.assign(second, unit="fb")
    counts = box.counts()
    assert counts["fb"].open == 1 and counts["fb"].assigned == 1
    assert box.threads(ThreadFilter(tag="scam report"))[0].id == first
    clock.advance(hours=25)
    assert box.counts()["fb"].overdue == 2
    assert len(box.threads(ThreadFilter(overdue=True))) == 2


def test_two_processes_creating_one_citizens_thread_at_once_make_one(engine, sealer, clock):
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            deliver(engine, sealer, clock, zalo(clock, f"m{n}"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    thread = only_thread(engine)
    with session_scope(engine, write=False) as session:
        count = session.exec(
            select(func.count())
            .select_from(InboxMessage)
            .where(InboxMessage.thread_id == thread.id)
        ).one()
    assert count == 4


def test_a_reply_whose_outcome_was_unknown_is_settled_by_the_platforms_echo(
    engine, sealer, clock, inbox
):
    deliver(engine, sealer, clock, zalo(clock, "m1"))
    box = inbox()
    thread_id = only_thread(engine).id
    plan = box.begin_reply(thread_id, "Chúng tôi đã chuyển tin cho công an phường")
    timeout = ReplyRefused(
        "reply_unknown", thread=thread_id, platform="Zalo", platform_code=None, said="ReadTimeout"
    )
    box.reply_unknown(plan, timeout)
    assert box.threads()[0].state == "open"  # not known to be answered yet
    clock.advance(seconds=30)
    echo = Inbound(
        channel="tinh-zalo",
        kind=ThreadKind.ZALO_CHAT,
        event="message",
        occurred_at=clock(),
        citizen_id="2468",
        direction="out",
        platform_id="oa-77",
        text="Chúng tôi đã chuyển tin cho công an phường",
    )
    assert deliver(engine, sealer, clock, echo).duplicates == 1
    view = box.thread(thread_id)
    [out] = [m for m in view.messages if m.direction == "out"]
    assert (out.state, out.platform_id, out.author) == ("sent", "oa-77", "can-bo")
    assert view.summary.state == "answered"

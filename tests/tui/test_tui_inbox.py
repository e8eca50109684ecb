"""The citizens' inbox in the TUI: the list with its two clocks, filters, a thread opened
(and the opening audited), assign, tag and close, an officer's units, and answering a
citizen through the sandbox (accepted, and refused by the platform in Vietnamese).

The database is filled through the library (:func:`content.inbox.ingest`, or the daemon's
backfill from the sandbox); the screens are driven with keys, as an officer would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlmodel import select

from content.accounts import Access, Accounts, identify, unenforced
from content.db import session_scope
from content.inbox import Inbound, Inbox, InboxSettings, ThreadSummary, ingest
from content.models import AuditEvent, Role, ThreadKind
from content.office import ChannelDirectory
from content.sealed import Sealer
from content.ui.context import InboxWiring
from tests.helpers import FakeClock
from tests.tui.conftest import notifications, settle, table_rows
from tests.tui.pilot import open_inbox, open_thread, press
from tests.tui.snapshot import assert_snapshot, screen_text
from tui import LoaApp

SETTINGS = InboxSettings(response_target=timedelta(hours=4))
SCAM = "Có số lạ 0987 000 111 gọi tự xưng công an, đòi chuyển tiền để xác minh tài khoản."
QUESTION = "Cho hỏi thủ tục trình báo mất giấy tờ?"
COMMENT = "Hôm qua số này gọi tôi y như vậy"
THANKS = "Cảm ơn các anh đã cảnh báo"


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(Fernet.generate_key())


def _message(
    clock: FakeClock,
    channel: str,
    kind: ThreadKind,
    citizen: str,
    msg: str,
    text: str,
    ago: timedelta,
    name: str,
    post_ref: str | None = None,
) -> Inbound:
    return Inbound(
        channel=channel,
        kind=kind,
        event="message",
        occurred_at=clock() - ago,
        citizen_id=citizen,
        citizen_name=name,
        platform_id=msg,
        text=text,
        post_ref=post_ref,
    )


@pytest.fixture
def box(engine: Engine, directory: ChannelDirectory, sealer: Sealer, clock: FakeClock) -> Inbox:
    """The inbox through the library, as lan before accounts exist (to arrange and check)."""
    return Inbox(
        engine, directory, sealer, access=unenforced("lan"), settings=SETTINGS, clock=clock
    )


@pytest.fixture
def office_inbox(engine: Engine, sealer: Sealer, clock: FakeClock, box: Inbox) -> dict[str, int]:
    """Four threads, each on its clocks at 08:00 office time (the target is 4 hours):

    * ``zalo``: a scam report 3 h 10 ago, waiting (50 minutes left to the target);
    * ``messenger``: a question 30 h ago, past the target and past Messenger's 24 hours;
    * ``comment``: a comment under the ward's post 40 minutes ago;
    * ``answered``: a Zalo thread the office answered yesterday.
    """
    z, m, c = ThreadKind.ZALO_CHAT, ThreadKind.MESSENGER, ThreadKind.COMMENTS
    hours = timedelta(hours=1)
    records = [
        _message(clock, "tinh-zalo", z, "u1", "z1", SCAM, 3 * hours + hours / 6, "Nguyễn Văn An"),
        _message(clock, "tinh-fb", m, "p1", "m1", QUESTION, 30 * hours, "Trần Thị Bình"),
        _message(clock, "xa-fb", c, "c1", "cm1", COMMENT, hours * 2 / 3, "Lê Chi", post_ref="p"),
        _message(clock, "tinh-zalo", z, "u2", "z2", THANKS, 48 * hours, "Phạm Dũng"),
        Inbound(
            "tinh-zalo",
            z,
            "message",
            clock() - 47 * hours,
            citizen_id="u2",
            direction="out",
            platform_id="z3",
            text="Không có gì ạ.",
        ),
    ]
    with session_scope(engine) as session:
        ingest(session, sealer, records, now=clock())
    ids: dict[str, int] = {}
    for t in box.threads():
        name = {"messenger": "messenger", "comments": "comment"}.get(t.kind)
        ids[name or ("answered" if t.state == "answered" else "zalo")] = t.id
    return ids


def _no_sending(*_args: object) -> ThreadSummary:
    raise AssertionError("no reply is sent in this test")


@pytest.fixture
def make_inbox_app(
    engine: Engine, directory: ChannelDirectory, clock: FakeClock, sealer: Sealer
) -> Callable[..., LoaApp]:
    def make(lang: str = "vi", who: str = "lan", access: Access | None = None) -> LoaApp:
        return LoaApp(
            engine,
            directory,
            actor=who,
            clock=clock,
            lang=lang,
            refresh_seconds=3600,
            inbox=InboxWiring(sealer=lambda: sealer, settings=SETTINGS, send_reply=_no_sending),
            access=access,
        )

    return make


async def test_i_opens_the_inbox_waiting_longest_first_with_both_clocks(
    office_inbox, make_inbox_app
):
    app = make_inbox_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await open_inbox(pilot)
        rows = table_rows(pilot, "#threads")
    ids = office_inbox
    assert [int(r[0]) for r in rows] == [
        ids["messenger"],
        ids["zalo"],
        ids["comment"],
        ids["answered"],
    ]
    by_id = {int(r[0]): r for r in rows}
    # Target and window, as time left or as late/closed, in the officer's language.
    assert by_id[ids["messenger"]][4:6] == ["trễ 1 ngày", "hết hạn"]
    assert by_id[ids["zalo"]][4:6] == ["50 phút", "6 ngày"]
    assert by_id[ids["comment"]][4:6] == ["3h20", "6 ngày"]
    assert by_id[ids["answered"]][3:6] == ["đã trả lời", "-", "5 ngày"]


async def test_the_filters_narrow_the_list_by_state_tag_and_channel(
    office_inbox, make_inbox_app, box
):
    box.tag(office_inbox["zalo"], add=["scam_report"])
    app = make_inbox_app("en")
    async with app.run_test(size=(120, 30)) as pilot:
        await open_inbox(pilot)
        screen = app.screen
        screen.query_one("#inbox-state").value = "overdue"
        await settle(pilot)
        assert [int(r[0]) for r in table_rows(pilot, "#threads")] == [office_inbox["messenger"]]
        screen.query_one("#inbox-state").clear()
        screen.query_one("#inbox-tag").value = "scam_report"
        await settle(pilot)
        assert [int(r[0]) for r in table_rows(pilot, "#threads")] == [office_inbox["zalo"]]
        screen.query_one("#inbox-tag").clear()
        screen.query_one("#inbox-channel").value = "xa-fb"
        await settle(pilot)
        assert [int(r[0]) for r in table_rows(pilot, "#threads")] == [office_inbox["comment"]]


async def test_enter_opens_the_thread_with_the_citizens_words_and_the_reading_is_audited(
    office_inbox, make_inbox_app, engine
):
    app = make_inbox_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_inbox(pilot)
        await press(pilot, "down")  # the second row: the Zalo scam report
        await open_thread(pilot)
        shown = screen_text(app)
    assert "Nguyễn Văn An" in shown
    assert "0987 000 111 gọi tự xưng công an" in shown
    assert "Hạn xử lý: còn 50 phút" in shown and "Hạn Zalo: còn 6 ngày" in shown
    with session_scope(engine, write=False) as session:
        reads = session.exec(select(AuditEvent).where(AuditEvent.action == "inbox_read")).all()
    assert [(r.actor, r.after["thread"]) for r in reads] == [("lan", office_inbox["zalo"])]


async def test_assign_tag_and_close_from_the_thread(office_inbox, make_inbox_app, box):
    thread = office_inbox["zalo"]
    app = make_inbox_app("en")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_inbox(pilot)
        await press(pilot, "down")
        await open_thread(pilot)
        await press(pilot, "a")  # the officer field starts with his own name: Enter takes it
        await press(pilot, "enter")
        await press(pilot, "t", "down", "space", "ctrl+s")  # the second tag: scam report
        summary = box.threads()
        assert "Assigned to: lan" in screen_text(app)
        await press(pilot, "c")
        await press(pilot, "y")
        said = notifications(pilot)
    [after] = [t for t in box.threads() if t.id == thread]
    assert (after.assignee, after.tags, after.state) == ("lan", ("scam_report",), "closed")
    assert f"Thread {thread} is closed." in said
    assert [t for t in summary if t.id == thread][0].state == "assigned"


async def test_an_assignment_the_rules_refuse_is_said_in_the_dialog_which_stays_open(
    office_inbox, make_inbox_app, engine, directory, clock
):
    setup = Accounts(engine, directory, by=unenforced("setup"), clock=clock)
    setup.add("root", Role.ADMIN)
    root = identify(engine, directory, os_user="root", clock=clock)
    Accounts(engine, directory, by=root, clock=clock).add("lan", Role.APPROVER, ["xa-fb"])
    app = make_inbox_app("vi", who="root", access=root)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_inbox(pilot)
        await press(pilot, "down", "a")  # the Zalo thread, to lan, whose unit is the ward
        app.screen.query_one("#assign-officer").value = "lan"
        await press(pilot, "enter")
        shown = screen_text(app)
        still = type(app.screen).__name__
    # Under the form, on screen, and the dialog stays with what was typed, to correct it.
    assert f"lan không nhận được hội thoại {office_inbox['zalo']}" in shown, shown
    assert still == "AssignDialog"


async def test_an_officer_sees_only_his_units_threads(
    office_inbox, make_inbox_app, engine, directory, clock
):
    setup = Accounts(engine, directory, by=unenforced("setup"), clock=clock)
    setup.add("root", Role.ADMIN)
    root = identify(engine, directory, os_user="root", clock=clock)
    Accounts(engine, directory, by=root, clock=clock).add("lan", Role.AUTHOR, ["xa-fb"])
    lan = identify(engine, directory, os_user="lan", clock=clock)
    app = make_inbox_app("vi", who="lan", access=lan)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_inbox(pilot)
        rows = table_rows(pilot, "#threads")
    assert [int(r[0]) for r in rows] == [office_inbox["comment"]]


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
async def test_snapshot_inbox(office_inbox, make_inbox_app, box, lang, size):
    box.tag(office_inbox["zalo"], add=["scam_report", "tip"])
    box.assign(office_inbox["messenger"], officer="minh", unit="fb")
    app = make_inbox_app(lang)
    name = f"{size[0]}x{size[1]}"
    async with app.run_test(size=size) as pilot:
        await open_inbox(pilot)
        await assert_snapshot(pilot, f"inbox_{lang}_{name}")
        await press(pilot, "down")
        await open_thread(pilot)
        await assert_snapshot(pilot, f"inbox_thread_{lang}_{name}")
        await press(pilot, "r")
        await press(pilot, *"Cam on anh.")
        await assert_snapshot(pilot, f"inbox_reply_{lang}_{name}")

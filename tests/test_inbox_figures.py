"""The inbox's figures for the reports (content.inbox.response_figures), on SQLite and
PostgreSQL, and a thread given to a unit of the tree."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from content.accounts import unenforced
from content.db import session_scope
from content.inbox import (
    Inbound,
    Inbox,
    InboxRefused,
    ReplyRefused,
    ResponseFigures,
    ingest,
    response_figures,
)
from content.models import ThreadKind
from content.office import ChannelDirectory
from content.sealed import Sealer
from content.units import UnitInfo, build_tree
from tests.helpers import FakeClock

SEALER = Sealer(Fernet.generate_key())
MIN = timedelta(minutes=1)


def _msg(
    clock: FakeClock,
    at: timedelta,
    msg: str,
    *,
    channel: str = "tinh-zalo",
    citizen: str = "u1",
    out: bool = False,
) -> Inbound:
    kind = ThreadKind.ZALO_CHAT if channel == "tinh-zalo" else ThreadKind.MESSENGER
    return Inbound(
        channel=channel,
        kind=kind,
        event="message",
        occurred_at=clock() + at,
        citizen_id=citizen,
        direction="out" if out else "in",
        platform_id=msg,
        text="…",
    )


def _deliver(engine: Engine, clock: FakeClock, *records: Inbound) -> None:
    with session_scope(engine) as session:
        ingest(session, SEALER, list(records), now=clock())


def _inbox(engine: Engine, directory: ChannelDirectory, clock: FakeClock) -> Inbox:
    return Inbox(engine, directory, SEALER, access=unenforced("lan"), clock=clock)


def test_received_answered_first_response_and_replies_outside_the_window(engine, directory, clock):
    start, end = clock(), clock() + timedelta(days=7)
    _deliver(
        engine,
        clock,
        # Waiting since before the period: answered in it (its message is last week's).
        _msg(clock, -2 * 60 * MIN, "old", citizen="u0"),
        _msg(clock, 30 * MIN, "old-answer", citizen="u0", out=True),
        # Two messages, one answer 30 minutes after the first; then again, 3 hours.
        _msg(clock, 60 * MIN, "z1"),
        _msg(clock, 70 * MIN, "z2"),
        _msg(clock, 90 * MIN, "z3", out=True),
        _msg(clock, 180 * MIN, "z4"),
        _msg(clock, 360 * MIN, "z5", out=True),
        # Messenger: never answered within the period (answered after its end).
        _msg(clock, 120 * MIN, "m1", channel="tinh-fb", citizen="p1"),
        _msg(clock, timedelta(days=8), "m2", channel="tinh-fb", citizen="p1", out=True),
    )
    box = _inbox(engine, directory, clock)
    messenger = next(t for t in box.threads() if t.channel == "tinh-fb")
    clock.advance(days=2)
    plan = box.begin_reply(messenger.id, "Xin lỗi vì trả lời muộn.")
    box.refuse_reply(
        plan,
        ReplyRefused(
            "reply_window_closed",
            thread=messenger.id,
            platform="Facebook",
            platform_code="10/2018278",
            platform_message="(#10) This message is sent outside of allowed window",
            said="Facebook 10/2018278: (#10) This message is sent outside of allowed window",
            rule="messenger_24h",
        ),
    )
    figures = response_figures(engine, start, end)
    zalo, fb = figures["tinh-zalo"], figures["tinh-fb"]
    assert (zalo.received, zalo.answered, zalo.outside_window) == (3, 3, 0)
    assert zalo.waits == [30 * 60, 180 * 60]
    assert zalo.median_first_response == timedelta(minutes=105)
    assert (fb.received, fb.answered, fb.waits, fb.outside_window) == (1, 0, [], 1)
    assert fb.median_first_response is None
    total = ResponseFigures()
    for part in figures.values():
        total.add(part)
    assert (total.received, total.answered, total.outside_window) == (4, 3, 1)
    # The thread keeps the refusal's own code, and the platform's words as it said them.
    [refused] = [m for m in box.thread(messenger.id).messages if m.state == "refused"]
    assert refused.error_code == "reply_window_closed"
    assert refused.error_message.startswith("Facebook 10/2018278: (#10)")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_past_period_does_not_change_when_answers_come_later(engine, directory, clock):
    start, end = clock(), clock() + timedelta(days=1)
    _deliver(engine, clock, _msg(clock, 10 * MIN, "z1"))
    before = response_figures(engine, start, end)["tinh-zalo"]
    _deliver(engine, clock, _msg(clock, timedelta(days=2), "z2", out=True))
    after = response_figures(engine, start, end)["tinh-zalo"]
    assert (before.received, before.answered) == (after.received, after.answered) == (1, 0)


def test_a_thread_is_given_to_a_unit_of_the_tree_holding_its_channel(engine, directory, clock):
    tree = build_tree(
        [
            UnitInfo("tinh", "Công an tỉnh", channels=("tinh-fb", "tinh-zalo")),
            UnitInfo("xa", "Công an xã", parent="tinh", channels=("xa-fb",)),
        ],
        directory.channels,
    )
    office = replace(directory, units=tree)
    _deliver(engine, clock, _msg(clock, 0 * MIN, "m1", channel="tinh-fb", citizen="p1"))
    box = _inbox(engine, office, clock)
    [thread] = box.threads()
    assert box.assign(thread.id, unit="tinh").unit == "tinh"
    with pytest.raises(InboxRefused) as refused:
        box.assign(thread.id, unit="xa")
    assert refused.value.code == "inbox_unit"
    assert refused.value.params["known"] == ["fb", "tinh", "tinh-fb"]

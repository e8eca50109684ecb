"""The TUI with accounts in force: an officer sees his units' posts only, and a refusal is
said in his language from the error's code, not from its English wording."""

from __future__ import annotations

from content.accounts import Accounts, identify, unenforced
from content.models import PostState, Role
from content.queue import PostInput
from tests.tui.conftest import SIZE, notifications, settle, table_rows
from tests.tui.pilot import open_composer, open_review, press
from tui import LoaApp


def _office(engine, directory, clock):
    setup = Accounts(engine, directory, by=unenforced("setup"), clock=clock)
    setup.add("root", Role.ADMIN)
    admin = identify(engine, directory, os_user="root", clock=clock)
    accounts = Accounts(engine, directory, by=admin, clock=clock)
    accounts.add("lan", Role.AUTHOR, ["xa-fb"])
    return admin


def _app(engine, directory, clock, who: str) -> LoaApp:
    access = identify(engine, directory, os_user=who, clock=clock)
    return LoaApp(
        engine,
        directory,
        actor=access.actor,
        access=access,
        clock=clock,
        lang="vi",
        refresh_seconds=3600,
    )


async def test_an_author_sees_his_units_posts_and_is_told_he_cannot_approve(
    engine, directory, clock, make_queue
):
    _office(engine, directory, clock)
    province = make_queue("root").create(PostInput(text="Tin tỉnh", channels=["tinh-fb"]))
    ward = make_queue("root").create(
        PostInput(text="Tin xã: cảnh giác lừa đảo", channels=["xa-fb"]), submit=True
    )
    app = _app(engine, directory, clock, "lan")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert [r[0] for r in table_rows(pilot)] == [str(ward.post.id)]
        await open_review(pilot)
        await press(pilot, "a")
        assert any(
            "lan là người soạn bài, không được duyệt bài: việc này cần người duyệt bài" in m
            for m in notifications(pilot)
        ), notifications(pilot)
    assert make_queue().get(ward.post.id)[0].state == PostState.IN_REVIEW
    assert make_queue().get(province.post.id)[0].state == PostState.DRAFT


async def test_the_composer_offers_only_the_channels_of_his_units(engine, directory, clock):
    _office(engine, directory, clock)
    app = _app(engine, directory, clock, "lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_composer(pilot)
        from textual.widgets import SelectionList

        offered = app.screen.query_one("#composer-channels", SelectionList)
        values = [offered.get_option_at_index(i).value for i in range(offered.option_count)]
        # His ward's Page only: no province channel, no group reaching beyond his unit.
        assert values == ["xa-fb"]

"""Screens as an officer sees them at 120x40, in both languages, on fixed data and a fixed
clock. ``LOA_UPDATE_SNAPSHOTS=1 pytest tests/tui`` rewrites the stored screens."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, update

from content.db import open_database, session_scope
from content.models import Delivery, DeliveryState
from content.office import ChannelDirectory
from content.queue import PostInput, Queue
from tests.helpers import FakeClock, local
from tests.tui.conftest import SIZE, settle
from tests.tui.pilot import open_composer, open_detail, open_engagement
from tests.tui.snapshot import assert_snapshot
from tui import LoaApp


@pytest.fixture
def office_db(sqlite_url: str, directory: ChannelDirectory, clock: FakeClock) -> Iterator[Engine]:
    """Three posts: one half published (one channel failed), one in review, one draft."""
    engine = open_database(sqlite_url)
    lan = Queue(engine, directory, actor="lan", clock=clock)
    minh = Queue(engine, directory, actor="minh", clock=clock)
    published = lan.create(
        PostInput(
            title="Cảnh báo giả danh công an",
            text="Công an không gọi điện yêu cầu chuyển tiền.\nGọi 113 khi nghi ngờ.",
            channels=["tinh-fb", "tinh-zalo"],
            campaign="Lừa đảo 2026",
            tags=["lừa đảo"],
            at=local("2026-11-23 09:00"),
        ),
        submit=True,
    ).post
    minh.approve(published.id)
    lan.create(
        PostInput(
            text="Mẹo: không bấm vào đường link lạ gửi qua tin nhắn.",
            channels=["fb"],
            at=local("2026-11-24 16:00"),
        ),
        submit=True,
    )
    lan.create(PostInput(text="Bản nháp: đường dây nóng 113", channels=["xa-fb"]))
    with session_scope(engine) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == published.id, Delivery.channel == "tinh-fb")
            .values(
                state=DeliveryState.PUBLISHED,
                attempts=1,
                published_at=local("2026-11-23 09:00"),
                permalink="https://facebook.com/100000000000001/posts/42",
            )
        )
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == published.id, Delivery.channel == "tinh-zalo")
            .values(
                state=DeliveryState.FAILED,
                attempts=3,
                last_error_class="content",
                last_error_code="-210",
                last_error_message="Cover image is not reachable",
            )
        )
    yield engine
    engine.dispose()


@pytest.fixture
def office_app(
    office_db: Engine, directory: ChannelDirectory, clock: FakeClock
) -> Callable[[str], LoaApp]:
    """``office_app(lang)``: the app on those posts, as lan, re-reading only when told."""

    def make(lang: str) -> LoaApp:
        return LoaApp(
            office_db, directory, actor="lan", clock=clock, lang=lang, refresh_seconds=3600
        )

    return make


@pytest.mark.parametrize("lang", ["en", "vi"])
async def test_snapshot_queue(office_app, lang):
    app = office_app(lang)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await assert_snapshot(pilot, f"queue_{lang}")


@pytest.mark.parametrize("lang", ["en", "vi"])
async def test_snapshot_composer(office_app, lang):
    app = office_app(lang)
    async with app.run_test(size=SIZE) as pilot:
        await open_composer(pilot)
        await pilot.press(*"Canh bao lua dao")
        app.screen.query_one("#composer-channels").select("tinh-zalo")
        await settle(pilot)
        await assert_snapshot(pilot, f"composer_{lang}")


@pytest.mark.parametrize("lang", ["en", "vi"])
async def test_snapshot_post_detail(office_app, lang):
    app = office_app(lang)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        await assert_snapshot(pilot, f"detail_{lang}")


@pytest.mark.parametrize("lang", ["en", "vi"])
async def test_snapshot_engagement(office_app, office_db, clock, lang):
    from sqlmodel import select

    from content.models import MetricSample

    with session_scope(office_db) as session:
        delivery = session.exec(
            select(Delivery).where(Delivery.state == DeliveryState.PUBLISHED)
        ).one()
        for name, value in (("views", 1520), ("reactions", 42), ("comments", 7), ("shares", 3)):
            session.add(
                MetricSample(
                    delivery_id=delivery.id, collected_at=clock.now, name=name, value=value
                )
            )
    app = office_app(lang)
    async with app.run_test(size=SIZE) as pilot:
        await open_engagement(pilot)
        await assert_snapshot(pilot, f"engagement_{lang}")


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
async def test_snapshot_queue_small_and_large(office_app, lang, size):
    """At 80x24 the text, the channels' states, search, help and quit are all on screen;
    at 200x50 the extra width goes to the text, with the author and campaign beside it."""
    app = office_app(lang)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await assert_snapshot(pilot, f"queue_{lang}_{size[0]}x{size[1]}")


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
async def test_snapshot_composer_small_and_large(office_app, lang, size):
    """The composer's fields, counter and keys at the smallest and a large terminal."""
    app = office_app(lang)
    async with app.run_test(size=size) as pilot:
        await open_composer(pilot)
        await pilot.press(*"Canh bao lua dao")
        app.screen.query_one("#composer-channels").select("tinh-zalo")
        await settle(pilot)
        await assert_snapshot(pilot, f"composer_{lang}_{size[0]}x{size[1]}")

"""Settling one delivery by hand from the post screen: retry a failed one, or say whether a
delivery the daemon could not confirm is online."""

from __future__ import annotations

from sqlalchemy import update

from content.db import session_scope
from content.models import Delivery, DeliveryState, Post, PostState
from content.queue import PostInput
from content.ui.detail import DetailScreen
from tests.helpers import local
from tests.tui.conftest import SIZE, notifications, table_rows
from tests.tui.pilot import open_detail, press


def _settled_post(make_queue, state: str, **values) -> tuple[int, int]:
    """A post approved on tinh-fb and xa-fb whose xa-fb delivery is in ``state``; tinh-fb is
    published, so the post is done."""
    post = (
        make_queue("lan")
        .create(
            PostInput(text="Cảnh báo", channels=["fb"], at=local("2026-11-24 09:00")),
            submit=True,
        )
        .post
    )
    make_queue("minh").approve(post.id)
    engine = make_queue().engine
    with session_scope(engine) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == post.id, Delivery.channel == "tinh-fb")
            .values(
                state=DeliveryState.PUBLISHED, attempts=1, published_at=local("2026-11-24 09:00")
            )
        )
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == post.id, Delivery.channel == "xa-fb")
            .values(state=state, attempts=3, next_attempt_at=None, **values)
        )
        session.execute(update(Post).where(Post.id == post.id).values(state=PostState.DONE))
    delivery = next(d for d in make_queue().get(post.id)[1] if d.channel == "xa-fb")
    return post.id, delivery.id


def _shown(screen: DetailScreen) -> set[str]:
    """The actions the Footer offers now."""
    return {b.binding.action for b in screen.active_bindings.values() if b.enabled}


async def test_failed_delivery_shows_its_error_and_is_retried(make_app, make_queue):
    post_id, delivery_id = _settled_post(
        make_queue,
        DeliveryState.FAILED,
        last_error_class="content",
        last_error_code="368",
        last_error_message="The post was blocked as spam",
    )
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot)
        errors = str(screen.query_one("#detail-errors").render())
        assert "xa-fb: The platform refused this content" in errors
        assert "[368] The post was blocked as spam" in errors
        # The cursor landed on the failed delivery, so its key is offered (and only it).
        assert screen.selected_delivery().channel == "xa-fb"
        assert "retry_delivery" in _shown(screen)
        assert "mark_published" not in _shown(screen)
        await pilot.press("up")  # the published delivery: nothing to retry there
        await pilot.pause()
        assert "retry_delivery" not in _shown(screen)
        await press(pilot, "down", "y")
        assert type(app.screen).__name__ == "ConfirmDialog"
        await press(pilot, "y")
        assert "xa-fb will be sent again now." in notifications(pilot)
        assert table_rows(pilot, "#detail-deliveries")[1][1] == "○ waiting"
        assert table_rows(pilot, "#detail-audit")[-1][1:3] == ["lan", "sent again by hand"]
    post, deliveries = make_queue().get(post_id)
    retried = next(d for d in deliveries if d.id == delivery_id)
    assert retried.state == DeliveryState.PENDING and retried.attempts == 0
    assert post.state == PostState.SCHEDULED  # reopened: the daemon sends it


async def test_needs_review_marked_published_with_its_permalink(make_app, make_queue):
    post_id, delivery_id = _settled_post(make_queue, DeliveryState.NEEDS_REVIEW)
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot)
        assert {"mark_published", "mark_not_published"} <= _shown(screen)
        assert "retry_delivery" not in _shown(screen)
        await press(pilot, "p")
        await pilot.press(*"facebook.com/x")
        await pilot.press("enter")
        await pilot.pause()
        # Not a web address: said under the field, the dialog stays.
        assert "http://" in str(app.screen.query_one("#answer-error").render())
        app.screen.query_one("#answer").value = "https://facebook.com/200/posts/7"
        await press(pilot, "enter")
        assert "xa-fb is marked published." in notifications(pilot)
        assert "https://facebook.com/200/posts/7" in str(
            screen.query_one("#detail-errors").render()
        )
    deliveries = make_queue().get(post_id)[1]
    marked = next(d for d in deliveries if d.id == delivery_id)
    assert marked.state == DeliveryState.PUBLISHED
    assert marked.permalink == "https://facebook.com/200/posts/7"


async def test_needs_review_marked_not_published_is_sent_again(make_app, make_queue):
    post_id, delivery_id = _settled_post(make_queue, DeliveryState.NEEDS_REVIEW)
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        await press(pilot, "u")
        assert type(app.screen).__name__ == "ConfirmDialog"
        await press(pilot, "y")
        assert table_rows(pilot, "#detail-deliveries")[1][1] == "○ waiting"
        # Settled: nothing more to mark on it.
        assert "mark_published" not in _shown(app.screen)
    post, deliveries = make_queue().get(post_id)
    assert next(d for d in deliveries if d.id == delivery_id).state == DeliveryState.PENDING
    assert post.state == PostState.SCHEDULED


async def test_a_refused_change_is_said_in_words(make_app, make_queue, engine):
    """The daemon retried it meanwhile: the queue refuses, and the officer reads why."""
    _post_id, delivery_id = _settled_post(make_queue, DeliveryState.FAILED)
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        with session_scope(engine) as session:
            session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(state=DeliveryState.PENDING)
            )
        await press(pilot, "y")
        await press(pilot, "y")
        assert f"delivery {delivery_id} is waiting; only failed ones can be retried" in (
            notifications(pilot)
        )

"""The queue rules: every transition, every refusal, the audit trail, repeats and warnings.

Each test runs on SQLite and on PostgreSQL (the ``db_url`` fixture)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlmodel import Session, select

from content.accounts import AccessDenied
from content.errors import NotFound, StateError, ValidationError
from content.models import AuditEvent, Delivery, DeliveryState, MediaFile, PostState
from content.queue import ImageInput, PostInput, Queue, Repeat
from tests.helpers import HCM, local

TEXT = "Cảnh giác lừa đảo qua mạng – Không chuyển tiền cho người lạ"


def _post(**overrides) -> PostInput:
    values = dict(text=TEXT, channels=["tinh-fb"], at=local("2026-11-24 09:00"))
    values.update(overrides)
    return PostInput(**values)


def _png(width: int = 64, height: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_new_post_is_a_draft_with_one_pending_delivery_per_channel(make_queue):
    post = make_queue().create(_post(channels=["fb", "tinh-fb"])).post
    _, deliveries = make_queue().get(post.id)
    assert post.state == PostState.DRAFT
    assert [d.channel for d in deliveries] == ["tinh-fb", "xa-fb"]
    assert all(d.state == DeliveryState.PENDING and d.next_attempt_at is None for d in deliveries)


def test_time_is_stored_in_utc(make_queue):
    post = make_queue().create(_post(at=local("2026-11-24 09:00"))).post
    stored, _ = make_queue().get(post.id)
    assert stored.scheduled_at.utcoffset() == timedelta(0)
    assert stored.scheduled_at.astimezone(HCM).hour == 9


def test_submit_then_approve_by_another_user_schedules_the_deliveries(make_queue):
    post = make_queue("officer").create(_post()).post
    make_queue("officer").submit(post.id)
    approved = make_queue("chief").approve(post.id).post
    _, deliveries = make_queue().get(post.id)
    assert approved.state == PostState.SCHEDULED
    assert approved.approved_by == "chief"
    assert deliveries[0].next_attempt_at == local("2026-11-24 09:00")


def test_self_approval_is_refused_when_a_second_approver_is_required(make_queue):
    post = make_queue("officer").create(_post(), submit=True).post
    with pytest.raises(AccessDenied, match="second approver"):
        make_queue("officer").approve(post.id)
    assert make_queue().get(post.id)[0].state == PostState.IN_REVIEW


def test_self_approval_is_allowed_when_the_office_does_not_require_a_second(
    engine, directory, clock
):
    from dataclasses import replace

    from content.queue import Queue

    relaxed = replace(directory, office=replace(directory.office, require_second_approver=False))
    queue = Queue(engine, relaxed, actor="officer", clock=clock)
    assert queue.create(_post(), approve=True).post.state == PostState.SCHEDULED


def test_approval_without_a_time_leaves_the_post_approved_until_scheduled(make_queue):
    post = make_queue("officer").create(_post(at=None), submit=True).post
    assert make_queue("chief").approve(post.id).post.state == PostState.APPROVED
    scheduled = make_queue("chief").schedule(post.id, local("2026-11-25 07:30")).post
    assert scheduled.state == PostState.SCHEDULED


def test_send_back_returns_a_draft_with_the_comment(make_queue):
    post = make_queue("officer").create(_post(), submit=True).post
    back = make_queue("chief").send_back(post.id, "Thêm số điện thoại đường dây nóng").post
    assert back.state == PostState.DRAFT
    assert back.review_comment == "Thêm số điện thoại đường dây nóng"


def test_only_posts_in_review_can_be_approved(make_queue):
    post = make_queue("officer").create(_post()).post
    with pytest.raises(StateError, match="only posts in review"):
        make_queue("chief").approve(post.id)


def test_reschedule_moves_the_pending_deliveries(make_queue):
    post = make_queue("officer").create(_post()).post
    make_queue("officer").submit(post.id)
    make_queue("chief").approve(post.id)
    make_queue("chief").schedule(post.id, local("2026-11-26 16:00"))
    _, deliveries = make_queue().get(post.id)
    assert deliveries[0].next_attempt_at == local("2026-11-26 16:00")


def test_cancel_cancels_waiting_deliveries(make_queue):
    post = make_queue("officer").create(_post(channels=["fb"]), submit=True).post
    make_queue("chief").approve(post.id)
    cancelled = make_queue("chief").cancel(post.id, "trùng lịch").post
    _, deliveries = make_queue().get(post.id)
    assert cancelled.state == PostState.CANCELLED
    assert {d.state for d in deliveries} == {DeliveryState.CANCELLED}
    assert all(d.next_attempt_at is None for d in deliveries)


def test_a_cancelled_post_cannot_be_cancelled_or_approved_again(make_queue):
    post = make_queue().create(_post()).post
    make_queue().cancel(post.id)
    with pytest.raises(StateError):
        make_queue().cancel(post.id)
    with pytest.raises(StateError):
        make_queue().submit(post.id)


def test_a_post_being_sent_cannot_be_edited_moved_or_cancelled(make_queue, engine):
    post = make_queue("officer").create(_post(), submit=True).post
    make_queue("chief").approve(post.id)
    with Session(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.post_id == post.id)).one()
        delivery.state = DeliveryState.SENDING
        session.add(delivery)
        session.commit()
    with pytest.raises(StateError, match="being sent"):
        make_queue("chief").edit(post.id, text="Nội dung mới")
    with pytest.raises(StateError, match="being sent"):
        make_queue("chief").schedule(post.id, local("2026-11-30 09:00"))
    with pytest.raises(StateError, match="being sent"):
        make_queue("chief").cancel(post.id)


def test_editing_after_approval_sends_the_post_back_to_review(make_queue):
    post = make_queue("officer").create(_post(), submit=True).post
    make_queue("chief").approve(post.id)
    outcome = make_queue("officer").edit(post.id, text="Nội dung đã sửa")
    _, deliveries = make_queue().get(post.id)
    assert outcome.post.state == PostState.IN_REVIEW
    assert "back in review" in outcome.warnings[0]
    assert deliveries[0].next_attempt_at is None


def test_edit_can_change_the_channels(make_queue):
    post = make_queue().create(_post(channels=["tinh-fb"])).post
    make_queue().edit(post.id, channels=["xa-fb"])
    _, deliveries = make_queue().get(post.id)
    assert [d.channel for d in deliveries] == ["xa-fb"]


def test_settle_marks_the_post_done_once_every_delivery_is_settled(make_queue, engine):
    post = make_queue("officer").create(_post(channels=["fb"]), submit=True).post
    queue = make_queue("chief")
    queue.approve(post.id)
    with Session(engine) as session:
        first, second = session.exec(select(Delivery).where(Delivery.post_id == post.id)).all()
        first.state = DeliveryState.PUBLISHED
        session.add(first)
        queue.settle(session, post.id)
        session.commit()
        assert queue.get(post.id)[0].state == PostState.SCHEDULED
        second.state = DeliveryState.FAILED
        session.add(second)
        queue.settle(session, post.id)
        session.commit()
    assert queue.get(post.id)[0].state == PostState.DONE


# ---------------------------------------------------------------- refusals


def test_a_time_in_the_past_is_refused(make_queue, clock):
    with pytest.raises(ValidationError, match="in the past") as err:
        make_queue().create(_post(at=clock.now - timedelta(hours=1)))
    assert err.value.field == "at"


def test_now_is_accepted(make_queue, clock):
    assert make_queue().create(_post(at=clock.now)).post.scheduled_at == clock.now


def test_an_unknown_channel_is_refused(make_queue):
    with pytest.raises(ValidationError, match="unknown channel or group 'tinh-tiktok'"):
        make_queue().create(_post(channels=["tinh-tiktok"]))


def test_no_channel_is_refused(make_queue):
    with pytest.raises(ValidationError, match="at least one channel"):
        make_queue().create(_post(channels=[]))


def test_over_long_facebook_text_is_refused(make_queue):
    with pytest.raises(ValidationError, match="63206") as err:
        make_queue().create(_post(text="a" * 63_207))
    assert err.value.field == "text"


def test_zalo_needs_a_title_under_its_limit(make_queue):
    with pytest.raises(ValidationError, match="needs a title"):
        make_queue().create(_post(channels=["tinh-zalo"]))
    with pytest.raises(ValidationError, match="at most 149"):
        make_queue().create(_post(channels=["tinh-zalo"], title="Ả" * 150))


def test_zalo_title_length_is_counted_on_nfc_text(make_queue):
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Ả" * 149)  # 298 code points before NFC
    post = make_queue().create(_post(channels=["tinh-zalo"], title=decomposed)).post
    assert post.title == "Ả" * 149


def test_a_file_that_is_not_an_image_is_refused(make_queue):
    bad = ImageInput("anh.jpg", b"this is not a picture")
    with pytest.raises(ValidationError, match="anh.jpg") as err:
        make_queue().create(_post(images=[bad]))
    assert err.value.field == "image"


def test_a_refused_post_writes_nothing(make_queue, engine):
    with pytest.raises(ValidationError):
        make_queue().create_many([_post(), _post(channels=["nope"])])
    with Session(engine) as session:
        assert session.exec(select(AuditEvent)).all() == []


def test_images_are_kept_in_the_database_once(make_queue, engine):
    image = ImageInput("poster.png", _png())
    first = make_queue().create(_post(images=[image])).post
    second = make_queue().create(_post(text="Khác", images=[image])).post
    with Session(engine) as session:
        files = session.exec(select(MediaFile)).all()
    assert first.image_ids == second.image_ids == [files[0].id]
    assert (files[0].width, files[0].mime) == (64, "image/png")


def test_a_link_must_be_http(make_queue):
    with pytest.raises(ValidationError, match="not an http"):
        make_queue().create(_post(link="javascript:alert(1)"))


# ---------------------------------------------------------------- audit


def test_every_change_writes_an_audit_event_with_who_and_before_after(make_queue):
    post = make_queue("officer").create(_post()).post
    make_queue("officer").submit(post.id)
    make_queue("chief").approve(post.id)
    make_queue("chief").schedule(post.id, local("2026-11-24 10:00"))
    make_queue("chief").cancel(post.id, "không cần nữa")
    events = make_queue().audit_trail(post.id)
    assert [(e.actor, e.action) for e in events] == [
        ("officer", "create"),
        ("officer", "submit"),
        ("chief", "approve"),
        ("chief", "reschedule"),
        ("chief", "cancel"),
    ]
    assert events[0].before is None and events[0].after["state"] == "draft"
    assert events[2].before["state"] == "in_review" and events[2].after["state"] == "scheduled"
    assert events[4].detail == "không cần nữa"


def test_a_missing_post_is_reported(make_queue):
    with pytest.raises(NotFound, match="post 999"):
        make_queue().submit(999)


# ---------------------------------------------------------------- repeats


def test_weekly_repeat_makes_each_occurrence_at_the_office_wall_clock_time(make_queue):
    repeat = Repeat(until=date(2026, 12, 10), weekdays=(0, 3))  # Mondays and Thursdays
    outcome = make_queue().create(_post(at=local("2026-11-26 07:30"), repeat=repeat))
    times = [p.scheduled_at.astimezone(HCM) for p in outcome.posts]
    assert [t.strftime("%a %d %H:%M") for t in times] == [
        "Thu 26 07:30",
        "Mon 30 07:30",
        "Thu 03 07:30",
        "Mon 07 07:30",
        "Thu 10 07:30",
    ]
    assert len({p.series_id for p in outcome.posts}) == 1
    assert len({p.id for p in outcome.posts}) == 5


def test_each_occurrence_can_be_cancelled_alone(make_queue):
    repeat = Repeat(until=date(2026, 11, 30), every_days=2)
    posts = make_queue().create(_post(repeat=repeat)).posts
    make_queue().cancel(posts[1].id)
    states = [make_queue().get(p.id)[0].state for p in posts]
    assert states == [PostState.DRAFT, PostState.CANCELLED, PostState.DRAFT, PostState.DRAFT]


def test_occurrences_of_one_series_do_not_warn_about_each_other(make_queue):
    repeat = Repeat(until=date(2026, 11, 27), every_days=1)
    assert make_queue().create(_post(repeat=repeat)).warnings == []


def test_a_repeat_without_an_end_in_range_is_refused(make_queue):
    with pytest.raises(ValidationError, match="before the first post"):
        make_queue().create(_post(repeat=Repeat(until=date(2026, 11, 1), every_days=1)))


# ---------------------------------------------------------------- warnings


def test_the_same_text_already_queued_is_a_warning_not_a_refusal(make_queue):
    make_queue().create(_post(at=local("2026-11-24 09:00")))
    outcome = make_queue().create(_post(at=local("2026-11-28 09:00")))
    assert outcome.post.id is not None
    assert any("already queued for tinh-fb" in w for w in outcome.warnings)


def test_the_same_text_published_in_the_last_14_days_is_a_warning(make_queue, engine, clock):
    first = make_queue().create(_post(at=clock.now)).post
    with Session(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.post_id == first.id)).one()
        delivery.state = DeliveryState.PUBLISHED
        delivery.published_at = clock.now
        session.add(delivery)
        session.commit()
    clock.advance(days=3)
    outcome = make_queue().create(_post(text=TEXT.upper(), at=local("2026-11-28 09:00")))
    assert any("was published to tinh-fb" in w for w in outcome.warnings)


def test_two_posts_closer_than_the_minimum_spacing_warn(make_queue):
    make_queue().create(_post(text="Bài một", at=local("2026-11-24 09:00")))
    outcome = make_queue().create(_post(text="Bài hai", at=local("2026-11-24 09:20")))
    assert outcome.warnings == [
        "tinh-fb already has post 1 at 2026-11-24 09:00, less than 30 min apart"
    ]


def test_zalo_at_night_warns_about_the_broadcast_ban_once_when_broadcasting(
    engine, directory, clock, make_queue
):
    # An OA that only publishes articles is not warned: the ban is on broadcasts.
    quiet = make_queue().create(
        _post(channels=["tinh-zalo"], title="Cảnh báo", at=local("2026-11-24 23:00"))
    )
    assert quiet.warnings == []
    channels = dict(directory.channels)
    channels["tinh-zalo"] = replace(channels["tinh-zalo"], broadcast=True)
    broadcasting = Queue(
        engine, replace(directory, channels=channels), actor="officer", clock=clock
    )
    weekly = broadcasting.create(
        _post(
            channels=["tinh-zalo"],
            title="Bản tin",
            text="Bản tin tuần",
            at=local("2026-11-25 23:00"),
            repeat=Repeat(until=date(2026, 12, 30), every_days=7),
        )
    )
    assert len(weekly.posts) == 6
    # Said once for the series, not once per week.
    assert [w.code for w in weekly.warnings] == ["warn_zalo_night"]


# ---------------------------------------------------------------- manual fixes


def _set_delivery(engine, post_id, **values):
    with Session(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.post_id == post_id)).one()
        for key, value in values.items():
            setattr(delivery, key, value)
        session.add(delivery)
        session.commit()
        return delivery.id


def test_a_failed_delivery_can_be_retried_and_reopens_its_post(make_queue, engine, clock):
    post = make_queue("officer").create(_post(at=clock.now), submit=True).post
    make_queue("chief").approve(post.id)
    delivery_id = _set_delivery(
        engine, post.id, state=DeliveryState.FAILED, attempts=6, last_error_class="content"
    )
    with Session(engine) as session:
        make_queue("chief").settle(session, post.id)
        session.commit()
    assert make_queue().get(post.id)[0].state == PostState.DONE
    reopened = make_queue("chief").retry_delivery(delivery_id).post
    _, (delivery,) = make_queue().get(post.id)
    assert reopened.state == PostState.SCHEDULED
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (
        "pending",
        0,
        clock.now,
    )
    assert make_queue().audit_trail(post.id)[-1].action == "retry"


def test_only_failed_deliveries_can_be_retried(make_queue, engine):
    post = make_queue().create(_post()).post
    _, (delivery,) = make_queue().get(post.id)
    with pytest.raises(StateError, match="only failed ones"):
        make_queue().retry_delivery(delivery.id)


def test_a_needs_review_delivery_marked_published_keeps_the_permalink(make_queue, engine, clock):
    post = make_queue("officer").create(_post(at=clock.now), submit=True).post
    make_queue("chief").approve(post.id)
    delivery_id = _set_delivery(engine, post.id, state=DeliveryState.NEEDS_REVIEW)
    link = "https://www.facebook.com/100/posts/200"
    done = make_queue("chief").resolve_review(delivery_id, published=True, permalink=link).post
    _, (delivery,) = make_queue().get(post.id)
    assert (delivery.state, delivery.permalink) == ("published", link)
    assert done.state == PostState.DONE
    assert [e.action for e in make_queue().audit_trail(post.id)][-2:] == ["mark_published", "done"]


def test_a_needs_review_delivery_marked_not_published_is_sent_again(make_queue, engine, clock):
    post = make_queue("officer").create(_post(at=clock.now), submit=True).post
    make_queue("chief").approve(post.id)
    delivery_id = _set_delivery(engine, post.id, state=DeliveryState.NEEDS_REVIEW)
    make_queue("chief").resolve_review(delivery_id, published=False)
    _, (delivery,) = make_queue().get(post.id)
    assert (delivery.state, delivery.next_attempt_at) == ("pending", clock.now)


def test_terminal_escapes_and_control_characters_are_kept_out_of_a_post(make_queue):
    outcome = make_queue().create(
        _post(
            title="Tin \x1b[1;31mkhẩn\x1b[0m",
            text="Dòng một\x1b]0;hacked\x07\r\n\tDòng hai\x00",
            campaign="Chiến\x1b[2J dịch",
        )
    )
    post = outcome.posts[0]
    assert (post.title, post.text, post.campaign) == (
        "Tin khẩn",
        "Dòng một\n\tDòng hai",
        "Chiến dịch",
    )

"""The dispatcher's rules, driven through a scripted channel and an injected clock.

The channel here is a script of answers (the platform clients have their own tests
against the sandbox); what is under test is what the dispatcher does with each answer.
Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from content.models import Alert, ChannelState, Delivery, DeliveryState, PostState
from scheduler.channels.base import (
    AuthError,
    ContentError,
    Processing,
    Published,
    TransientError,
)
from scheduler.dispatch import UNCERTAIN, Dispatcher, RetryPolicy, resume_channel
from tests.helpers import ScriptedChannel, approved_post


@pytest.fixture
def scheduled(make_queue, clock):
    """``scheduled(channels, minutes)``: an approved post due ``minutes`` from now."""

    def make(channels=("tinh-fb",), minutes: float = 0, text: str = "Cảnh giác lừa đảo") -> int:
        return approved_post(make_queue, clock, channels=channels, minutes=minutes, text=text)

    return make


@pytest.fixture
def dispatcher(engine, make_queue, clock):
    def make(channels: dict, **kwargs) -> Dispatcher:
        return Dispatcher(
            engine,
            channels,
            make_queue("daemon"),
            worker="test-worker",
            clock=clock,
            rng=random.Random(7),
            policy=kwargs.pop("policy", RetryPolicy(max_attempts=3, base_delay=10, jitter=0)),
            **kwargs,
        )

    return make


def _deliveries(engine, post_id: int) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.exec(select(Delivery).where(Delivery.post_id == post_id)).all())


def _run(d: Dispatcher):
    return asyncio.run(d.run_due())


def test_a_due_post_is_published_and_the_post_is_done(engine, scheduled, dispatcher, make_queue):
    post_id = scheduled()
    channel = ScriptedChannel("tinh-fb", [Published("100_1", "https://fb.example/100_1")])
    results = _run(dispatcher({"tinh-fb": channel}))
    (delivery,) = _deliveries(engine, post_id)
    assert [r.outcome for r in results] == ["published"]
    assert (delivery.state, delivery.remote_id, delivery.attempts) == ("published", "100_1", 1)
    assert delivery.permalink == "https://fb.example/100_1"
    assert make_queue().get(post_id)[0].state == PostState.DONE


def test_nothing_is_sent_before_its_time(engine, scheduled, dispatcher, clock):
    post_id = scheduled(minutes=10)
    channel = ScriptedChannel("tinh-fb")
    d = dispatcher({"tinh-fb": channel})
    assert _run(d) == []
    assert d.next_due() == clock.now + timedelta(minutes=10)
    clock.advance(minutes=10)
    _run(d)
    assert _deliveries(engine, post_id)[0].state == DeliveryState.PUBLISHED


def test_each_channel_succeeds_or_fails_on_its_own(engine, scheduled, dispatcher, make_queue):
    post_id = scheduled(channels=("tinh-fb", "xa-fb"))
    ok = ScriptedChannel("tinh-fb")
    refused = ScriptedChannel("xa-fb", [ContentError("(#506) Duplicate status message", code=506)])
    _run(dispatcher({"tinh-fb": ok, "xa-fb": refused}))
    states = {d.channel: d.state for d in _deliveries(engine, post_id)}
    assert states == {"tinh-fb": "published", "xa-fb": "failed"}
    assert make_queue().get(post_id)[0].state == PostState.DONE


def test_a_content_error_fails_with_the_platform_message_and_alerts(engine, scheduled, dispatcher):
    post_id = scheduled()
    error = ContentError("(#506) Duplicate status message", code=506, subcode=None)
    _run(dispatcher({"tinh-fb": ScriptedChannel("tinh-fb", [error])}))
    (delivery,) = _deliveries(engine, post_id)
    assert (delivery.last_error_class, delivery.last_error_code) == ("content", "506")
    assert delivery.last_error_message == "(#506) Duplicate status message"
    with Session(engine) as session:
        assert [a.kind for a in session.exec(select(Alert)).all()] == ["delivery_failed"]


def test_a_transient_error_retries_after_backoff_then_succeeds(
    engine, scheduled, dispatcher, clock
):
    post_id = scheduled()
    channel = ScriptedChannel("tinh-fb", [TransientError("HTTP 503", code=2)])
    d = dispatcher({"tinh-fb": channel})
    _run(d)
    (delivery,) = _deliveries(engine, post_id)
    assert delivery.state == "pending"
    assert delivery.next_attempt_at == clock.now + timedelta(seconds=10)
    clock.advance(seconds=9)
    assert _run(d) == []
    clock.advance(seconds=1)
    _run(d)
    (delivery,) = _deliveries(engine, post_id)
    assert (delivery.state, delivery.attempts, delivery.last_error_class) == ("published", 2, None)


def test_backoff_doubles_and_the_retries_end_in_failed(engine, scheduled, dispatcher, clock):
    post_id = scheduled()
    channel = ScriptedChannel("tinh-fb", [TransientError("HTTP 503")] * 3)
    d = dispatcher({"tinh-fb": channel})
    waits = []
    for _ in range(3):
        _run(d)
        (delivery,) = _deliveries(engine, post_id)
        if delivery.next_attempt_at:
            waits.append((delivery.next_attempt_at - clock.now).total_seconds())
            clock.now = delivery.next_attempt_at
    assert waits == [10, 20]
    assert (delivery.state, delivery.attempts) == ("failed", 3)


def test_the_platform_named_wait_is_honoured(engine, scheduled, dispatcher, clock):
    post_id = scheduled()
    error = TransientError(
        "(#32) Page request limit reached", code=32, retry_after=3600, channel_wide=True
    )
    _run(dispatcher({"tinh-fb": ScriptedChannel("tinh-fb", [error])}))
    (delivery,) = _deliveries(engine, post_id)
    assert delivery.next_attempt_at == clock.now + timedelta(hours=1)
    with Session(engine) as session:
        assert session.get(ChannelState, "tinh-fb").blocked_until == clock.now + timedelta(hours=1)


def test_a_wait_for_one_post_does_not_hold_the_channel_or_use_attempts(
    engine, scheduled, dispatcher, clock
):
    night, other = scheduled(text="Phát sóng"), scheduled(text="Bài khác", minutes=1)
    ban = TransientError("-234 night ban", code=-234, retry_after=7 * 3600)
    channel = ScriptedChannel("tinh-fb", [ban])
    d = dispatcher({"tinh-fb": channel})
    _run(d)
    (waiting,) = _deliveries(engine, night)
    assert (waiting.state, waiting.attempts) == ("pending", 0)
    assert waiting.next_attempt_at == clock.now + timedelta(hours=7)
    clock.advance(minutes=1)
    _run(d)
    assert _deliveries(engine, other)[0].state == "published"


def test_an_uncertain_failure_is_looked_up_before_any_resend(engine, scheduled, dispatcher, clock):
    post_id = scheduled()
    channel = ScriptedChannel(
        "tinh-fb", [TransientError("read timeout", uncertain=True)], found=Published("100_9")
    )
    d = dispatcher({"tinh-fb": channel})
    _run(d)
    assert _deliveries(engine, post_id)[0].last_error_class == UNCERTAIN
    clock.advance(seconds=10)
    results = _run(d)
    (delivery,) = _deliveries(engine, post_id)
    assert [r.outcome for r in results] == ["found"]
    assert len(channel.published) == 1 and len(channel.finds) == 1
    assert (delivery.state, delivery.remote_id) == ("published", "100_9")


def test_an_uncertain_post_surely_absent_is_sent_again(engine, scheduled, dispatcher, clock):
    post_id = scheduled()
    channel = ScriptedChannel("tinh-fb", [TransientError("HTTP 500", uncertain=True)], found=None)
    d = dispatcher({"tinh-fb": channel})
    _run(d)
    clock.advance(seconds=10)
    _run(d)
    assert len(channel.published) == 2
    assert _deliveries(engine, post_id)[0].state == "published"


def test_a_look_up_that_fails_once_is_asked_again_within_the_same_attempt(
    engine, scheduled, dispatcher, clock
):
    post_id = scheduled()

    class FlakyListing(ScriptedChannel):
        async def find(self, post):
            self.finds.append(post)
            if len(self.finds) == 1:
                raise TransientError("HTTP 503")
            return Published("100_5")

    channel = FlakyListing("tinh-fb", [TransientError("read timeout", uncertain=True)])
    d = dispatcher({"tinh-fb": channel})
    _run(d)
    clock.advance(seconds=60)
    assert [r.outcome for r in _run(d)] == ["found"]
    (delivery,) = _deliveries(engine, post_id)
    # The send, then one look-up attempt that asked twice.
    assert (delivery.state, delivery.remote_id, delivery.attempts) == ("published", "100_5", 2)
    assert len(channel.finds) == 2 and len(channel.published) == 1


def test_a_rate_limited_look_up_is_not_asked_again_at_once(engine, scheduled, dispatcher, clock):
    scheduled()
    channel = ScriptedChannel(
        "tinh-fb",
        [TransientError("read timeout", uncertain=True)],
        found=TransientError("too many calls", retry_after=600),
    )
    d = dispatcher({"tinh-fb": channel})
    _run(d)
    clock.advance(seconds=60)
    _run(d)
    assert len(channel.finds) == 1 and len(channel.published) == 1


def test_when_the_platform_cannot_tell_the_delivery_ends_in_needs_review(
    engine, scheduled, dispatcher, clock
):
    post_id = scheduled()
    channel = ScriptedChannel(
        "tinh-fb",
        [TransientError("HTTP 500", uncertain=True)],
        found=TransientError("listing the Page failed"),
    )
    d = dispatcher({"tinh-fb": channel})
    for _ in range(3):
        _run(d)
        delivery = _deliveries(engine, post_id)[0]
        if delivery.next_attempt_at:
            clock.now = delivery.next_attempt_at
    assert delivery.state == DeliveryState.NEEDS_REVIEW
    assert len(channel.published) == 1


def test_an_auth_error_pauses_the_channel_and_its_posts_wait(engine, scheduled, dispatcher, clock):
    first, second = scheduled(text="Một"), scheduled(text="Hai", minutes=1)
    channel = ScriptedChannel("tinh-fb", [AuthError("Error validating access token", code=190)])
    d = dispatcher({"tinh-fb": channel})
    _run(d)
    clock.advance(minutes=2)
    _run(d)
    assert [d.state for d in _deliveries(engine, first) + _deliveries(engine, second)] == [
        "pending",
        "pending",
    ]
    assert len(channel.published) == 1
    assert d.next_due() is None
    with Session(engine) as session:
        assert [a.kind for a in session.exec(select(Alert)).all()] == ["channel_paused"]
    assert resume_channel(engine, "tinh-fb", clock)
    _run(d)
    assert [x.state for x in _deliveries(engine, first) + _deliveries(engine, second)] == [
        "published",
        "published",
    ]


def test_a_zalo_article_waits_in_processing_then_publishes(engine, scheduled, dispatcher, clock):
    post_id = scheduled()
    channel = ScriptedChannel(
        "tinh-fb", [Processing("zalo_verify", "job-token", retry_after=3), Published("a1")]
    )
    d = dispatcher({"tinh-fb": channel})
    _run(d)
    (delivery,) = _deliveries(engine, post_id)
    assert (delivery.state, delivery.pending_step, delivery.pending_ref) == (
        "pending",
        "zalo_verify",
        "job-token",
    )
    clock.advance(seconds=3)
    _run(d)
    (delivery,) = _deliveries(engine, post_id)
    assert channel.published[1].pending_ref == "job-token"
    assert (delivery.state, delivery.remote_id, delivery.attempts) == ("published", "a1", 1)


def test_a_crash_while_sending_is_recovered_as_uncertain_and_looked_up(
    engine, scheduled, dispatcher, clock
):
    post_id = scheduled()
    crashed = dispatcher({})
    assert crashed.claim(10)  # claimed, then the process died before recording anything
    channel = ScriptedChannel("tinh-fb", found=Published("100_5"))
    restarted = dispatcher({"tinh-fb": channel})
    assert restarted.recover(everything=True) == [_deliveries(engine, post_id)[0].id]
    assert _run(restarted) == []  # the dead daemon's request may still be on its way
    clock.advance(seconds=30)
    _run(restarted)
    assert channel.published == []
    assert _deliveries(engine, post_id)[0].remote_id == "100_5"


def test_recovery_on_several_daemons_waits_for_the_lease(engine, scheduled, dispatcher, clock):
    scheduled()
    dispatcher({}).claim(10)
    other = dispatcher({})
    assert other.recover() == []
    clock.advance(minutes=6)
    assert len(other.recover()) == 1


def test_two_dispatchers_never_claim_the_same_delivery(engine, scheduled, dispatcher):
    for i in range(20):
        scheduled(text=f"Bài {i}")
    a, b = dispatcher({}, default_per_channel=20), dispatcher({}, default_per_channel=20)
    b.worker = "other-worker"
    first, second = a.claim(15), b.claim(15)
    assert len(first) == 15 and len(second) == 5
    assert not set(first) & set(second)


def test_a_claim_takes_no_more_than_a_channel_can_send_at_once(engine, scheduled, dispatcher):
    for i in range(6):
        scheduled(channels=("tinh-fb", "xa-fb"), text=f"Bài {i}")
    claimed = dispatcher({}, per_channel={"tinh-fb": 2, "xa-fb": 2}).claim_batch(100)
    assert sorted(channel for _, channel in claimed) == ["tinh-fb"] * 2 + ["xa-fb"] * 2


def test_a_cancelled_post_is_not_sent(engine, scheduled, dispatcher, make_queue):
    post_id = scheduled()
    make_queue("chief").cancel(post_id)
    channel = ScriptedChannel("tinh-fb")
    assert _run(dispatcher({"tinh-fb": channel})) == []
    assert channel.published == []


def test_per_channel_concurrency_is_bounded(engine, scheduled, dispatcher):
    for i in range(6):
        scheduled(text=f"Bài {i}")
    running, peak = 0, 0
    crowd = asyncio.Event()

    class Slow(ScriptedChannel):
        async def publish(self, post):
            nonlocal peak, running
            running += 1
            peak = max(peak, running)
            if running > 2:
                crowd.set()
            # Hold the call open so that, were the limit broken, a third call would overlap.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(crowd.wait(), 0.2)
            running -= 1
            return Published(f"x{post.delivery_id}")

    _run(dispatcher({"tinh-fb": Slow("tinh-fb")}, per_channel={"tinh-fb": 2}))
    assert peak == 2


def test_the_next_post_goes_out_while_the_last_result_is_being_recorded(
    engine, scheduled, dispatcher
):
    for i in range(2):
        scheduled(text=f"Bài {i}")
    second_call = threading.Event()

    class Watching(ScriptedChannel):
        async def publish(self, post):
            if self.published:
                second_call.set()
            return await super().publish(post)

    d = dispatcher({"tinh-fb": Watching("tinh-fb")}, per_channel={"tinh-fb": 1})
    record, overlapped = d._record, []

    def slow_record(group):
        # A slow database: the first result is still unwritten when the slot is needed.
        overlapped.append(second_call.wait(timeout=5))
        return record(group)

    d._record = slow_record  # type: ignore[method-assign]
    _run(d)
    assert overlapped[0] is True
    assert d.next_due() is None


@pytest.mark.parametrize(
    "answer",
    [
        AuthError("Error validating access token", code=190),
        TransientError("Application request limit reached", retry_after=600, channel_wide=True),
    ],
    ids=["paused", "rate-limited"],
)
def test_an_answer_that_holds_the_channel_stops_its_next_calls(
    engine, scheduled, dispatcher, answer
):
    """The lane's next deliveries were claimed ahead (two per slot) and wait for the slot:
    they are given back untouched, not sent into the refusal."""
    posts = [scheduled(text=f"Bài {i}") for i in range(3)]
    channel = ScriptedChannel("tinh-fb", [answer])
    _run(dispatcher({"tinh-fb": channel}, per_channel={"tinh-fb": 1}, lane_depth=2))
    assert len(channel.published) == 1
    waiting = [d for p in posts[1:] for d in _deliveries(engine, p)]
    assert [(d.state, d.attempts, d.claimed_by, d.last_error_class) for d in waiting] == [
        ("pending", 0, None, None)
    ] * 2


def test_an_uncertain_post_is_still_looked_up_after_its_channel_was_paused(
    engine, scheduled, dispatcher, clock
):
    post_id = scheduled()
    crashed = dispatcher({})
    assert crashed.claim(10)  # the dead daemon's post may be on the Page already

    class TokenExpiresDuringTheLookUp(ScriptedChannel):
        async def find(self, post):
            self.finds.append(post)
            if len(self.finds) == 1:
                raise AuthError("Error validating access token", code=190)
            return Published("100_7")

    channel = TokenExpiresDuringTheLookUp("tinh-fb")
    restarted = dispatcher({"tinh-fb": channel})
    restarted.recover(everything=True)
    clock.advance(seconds=30)
    _run(restarted)
    assert _deliveries(engine, post_id)[0].last_error_class == UNCERTAIN
    assert resume_channel(engine, "tinh-fb", clock)
    _run(restarted)
    assert channel.published == []
    assert len(channel.finds) == 2
    assert _deliveries(engine, post_id)[0].remote_id == "100_7"

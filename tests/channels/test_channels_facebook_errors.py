"""Facebook client: sandbox faults and Graph error codes map to the right error class, and the
usage headers pace the client (with an injected clock and sleep: nothing really waits)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from content.queue import fingerprint
from sandbox.testing import running_sandbox
from scheduler.channels import build_channel
from scheduler.channels.base import (
    AuthError,
    ContentError,
    MediaBlob,
    OutgoingPost,
    TransientError,
)
from scheduler.channels.facebook_errors import GraphErrorBody, to_channel_error
from scheduler.channels.graph_usage import Usage, read_usage
from tests.channels.conftest import PAGE_ID, jpeg, make_env
from tests.helpers import FakeClock


def post(text: str, **kw: object) -> OutgoingPost:
    return OutgoingPost(
        delivery_id=1, channel="tinh-fb", text=text, fingerprint=fingerprint(text), **kw
    )  # type: ignore[arg-type]


@pytest.fixture
async def page(env):
    client = build_channel("tinh-fb", env.config, engine=env.engine)
    yield client
    await client.aclose()


@pytest.mark.parametrize("kind", ["expired", "password_changed", "app_removed", "logged_out"])
async def test_token_faults_are_auth_errors(env, page, kind):
    env.sb.set_faults(PAGE_ID, auth=kind)
    with pytest.raises(AuthError) as caught:
        await page.publish(post("x"))
    assert caught.value.code == "190"
    assert caught.value.subcode is not None


async def test_service_error_on_publish_is_uncertain(env, page):
    env.sb.set_faults(PAGE_ID, script=["error"], error_code=2)
    with pytest.raises(TransientError) as caught:
        await page.publish(post("x"))
    assert caught.value.uncertain is True
    assert caught.value.code == "2"
    assert env.sb.posts(PAGE_ID) == []  # the early fault created nothing


async def test_service_error_on_a_read_is_transient_but_certain(env, page):
    env.sb.set_faults(PAGE_ID, script=["error"], error_code=1)
    with pytest.raises(TransientError) as caught:
        await page.find(post("x"))
    assert caught.value.uncertain is False


async def test_dropped_connection_on_publish_is_uncertain(env, page):
    env.sb.set_faults(PAGE_ID, script=["reset"])
    with pytest.raises(TransientError) as caught:
        await page.publish(post("x"))
    assert caught.value.uncertain is True


async def test_timeout_on_publish_is_uncertain(module_sandbox, media_server, tmp_path, monkeypatch):
    module_sandbox.reset()
    env = make_env(module_sandbox, tmp_path, monkeypatch, media_server, timeout=0.3)
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    env.sb.set_faults(PAGE_ID, script=["timeout"], hang_s=5)
    with pytest.raises(TransientError) as caught:
        await page.publish(post("x"))
    assert caught.value.uncertain is True
    await page.aclose()


async def test_connection_refused_is_transient_and_certain(env):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    page = build_channel(
        "tinh-fb", env.config, engine=env.engine, transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(TransientError) as caught:
        await page.publish(post("x"))
    assert caught.value.uncertain is False
    await page.aclose()


async def test_content_verdict_is_a_content_error(env, page):
    env.sb.set_faults(PAGE_ID, script=["reject"], reject_code=368)
    with pytest.raises(ContentError) as caught:
        await page.publish(post("x"))
    assert caught.value.code_text() == "368/1346003"
    assert "Community Standards" in caught.value.message


async def test_duplicate_message_is_a_content_error(env, page):
    await page.publish(post("Trùng"))
    with pytest.raises(ContentError) as caught:
        await page.publish(post("Trùng"))
    assert caught.value.code == "506"


async def test_missing_image_file_is_a_content_error(env, page):
    with pytest.raises(ContentError):
        await page.publish(post("x", images=[MediaBlob("a.jpg", "image/jpeg", b"not an image")]))


async def test_user_token_is_a_permission_error(env, monkeypatch):
    monkeypatch.setenv("LOA_TEST_FB_TOKEN", env.sb.user_token)
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    with pytest.raises(AuthError) as caught:
        await page.publish(post("x"))
    assert caught.value.code == "200"
    await page.aclose()


async def test_missing_token_env_is_an_auth_error_naming_the_variable(env, monkeypatch):
    monkeypatch.delenv("LOA_TEST_FB_TOKEN")
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    with pytest.raises(AuthError, match="LOA_TEST_FB_TOKEN"):
        await page.publish(post("x"))
    await page.aclose()


@pytest.mark.parametrize(
    ("code", "subcode", "publish", "expected", "uncertain"),
    [
        (190, 463, True, AuthError, False),
        (190, 460, False, AuthError, False),
        (102, None, False, AuthError, False),
        (10, None, True, AuthError, False),
        (200, None, True, AuthError, False),
        (299, None, False, AuthError, False),
        (506, None, True, ContentError, False),
        (368, 1346003, True, ContentError, False),
        (368, 1404102, True, ContentError, False),
        (100, None, True, ContentError, False),
        (324, None, True, ContentError, False),
        (1609005, None, True, ContentError, False),
        (1, None, True, TransientError, True),
        (2, None, True, TransientError, True),
        (2, None, False, TransientError, False),
        (4, None, True, TransientError, False),
        (17, None, False, TransientError, False),
        (32, None, False, TransientError, False),
        (341, None, False, TransientError, False),
        (613, None, False, TransientError, False),
        (80000, None, False, TransientError, False),
        (80001, None, True, TransientError, False),
        (80014, None, False, TransientError, False),
        (368, 1390008, True, TransientError, False),
    ],
)
def test_error_table(code, subcode, publish, expected, uncertain):
    error = to_channel_error(
        GraphErrorBody(code, subcode, f"(#{code}) message"), status=400, publish=publish
    )
    assert type(error) is expected
    if isinstance(error, TransientError):
        assert error.uncertain is uncertain
    if (code, subcode) == (368, 1390008):
        assert error.retry_after and error.retry_after > 0


def test_usage_headers_are_read_as_the_highest_figure():
    headers = {
        "x-app-usage": '{"call_count": 28, "total_cputime": 25, "total_time": 25}',
        "x-business-use-case-usage": (
            '{"123": [{"type": "pages", "call_count": 12, "total_cputime": 3, '
            '"total_time": 81, "estimated_time_to_regain_access": 7}]}'
        ),
        "x-page-usage": '{"call_count": 40, "total_cputime": 1, "total_time": 1}',
    }
    assert read_usage(headers) == Usage(percent=81, regain_minutes=7)
    assert read_usage({}) is None
    assert read_usage({"x-app-usage": "garbage"}) is None


class Recorder:
    """An injected sleep: records the pauses and moves the fake clock instead of waiting."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.pauses: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.advance(seconds=seconds)


def graph_calls(sb) -> int:
    return sum(1 for r in sb.requests(limit=1000)["log"] if r["api"] == "graph")


async def test_usage_slows_down_then_pauses_then_waits_as_told(media_server, tmp_path, monkeypatch):
    # 20 calls per (long) window: every call is 5% of the budget.
    with running_sandbox(seed=7, graph_call_budget=20, graph_usage_window_s=10**7) as sb:
        env = make_env(sb, tmp_path, monkeypatch, media_server)
        clock = FakeClock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
        sleep = Recorder(clock)
        page = build_channel("tinh-fb", env.config, engine=env.engine, clock=clock, sleep=sleep)
        for i in range(15):  # up to 75%
            await page.publish(post(f"bài {i}"))
        assert sleep.pauses == []
        for i in range(15, 19):  # 80%, 85%, 90%, 95%: each call pauses a little longer
            await page.publish(post(f"bài {i}"))
        assert len(sleep.pauses) == 4
        assert sleep.pauses == sorted(sleep.pauses) and sleep.pauses[0] >= 1.0
        # At 95% the client stops calling: no request leaves, the error says how long.
        before = graph_calls(sb)
        with pytest.raises(TransientError) as caught:
            await page.publish(post("bài 19"))
        assert caught.value.retry_after == pytest.approx(600, abs=1)
        assert graph_calls(sb) == before
        # After the pause one call goes through; Graph throttles (100%): wait as Graph says.
        clock.advance(seconds=601)
        with pytest.raises(TransientError) as caught:
            await page.publish(post("bài 20"))
        assert caught.value.code == "80001"
        regain = sb.requests()["log"][-1]
        assert regain["error"] == 80001
        assert caught.value.retry_after is not None and caught.value.retry_after >= 60
        wait = caught.value.retry_after
        # Blocked: nothing is sent until the estimate has passed.
        clock.advance(seconds=wait - 5)
        with pytest.raises(TransientError) as caught:
            await page.find(post("x"))
        assert caught.value.retry_after == pytest.approx(5, abs=1)
        assert graph_calls(sb) == before + 1
        await page.aclose()
        env.engine.dispose()


async def test_rate_limit_fault_waits_the_estimated_time(env):
    clock = FakeClock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    page = build_channel(
        "tinh-fb", env.config, engine=env.engine, clock=clock, sleep=Recorder(clock)
    )
    env.sb.set_faults(PAGE_ID, script=["rate_limit"], rate_limit_code=80001, regain_minutes=7)
    with pytest.raises(TransientError) as caught:
        await page.publish(post("x"))
    assert caught.value.retry_after == pytest.approx(7 * 60)
    # Still blocked a minute later, without asking Graph.
    clock.advance(minutes=1)
    before = graph_calls(env.sb)
    with pytest.raises(TransientError) as caught:
        await page.publish(post("x"))
    assert caught.value.retry_after == pytest.approx(6 * 60)
    assert graph_calls(env.sb) == before
    clock.advance(minutes=6, seconds=1)
    await page.publish(post("x"))
    await page.aclose()


async def test_throttle_without_estimate_waits_an_hour(env):
    clock = FakeClock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    page = build_channel(
        "tinh-fb", env.config, engine=env.engine, clock=clock, sleep=Recorder(clock)
    )
    env.sb.set_faults(PAGE_ID, script=["rate_limit"], rate_limit_code=4, regain_minutes=0)
    with pytest.raises(TransientError) as caught:
        await page.publish(post("x", images=[MediaBlob("a.jpg", "image/jpeg", jpeg())]))
    assert caught.value.retry_after == pytest.approx(3600)
    await page.aclose()

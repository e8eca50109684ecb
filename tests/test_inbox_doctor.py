"""`loa doctor`'s inbox lines against the sandbox: the receiver's public address answers as
Meta and Zalo expect, the Page is subscribed to feed and messages (GET subscribed_apps), and
every inbox secret is readable; each problem one line, in Vietnamese for the office."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from content.i18n import language, set_language
from scheduler.channels import build_channel
from scheduler.doctor_inbox import check_inbox, check_subscriptions
from tests.test_inbox_e2e import PAGE, VERIFY, World, subscribe
from tests.test_inbox_e2e import _no_proxy as _no_proxy  # noqa: F401 - fixtures
from tests.test_inbox_e2e import sandbox as sandbox  # noqa: F401
from tests.test_inbox_e2e import world as world  # noqa: F401


@pytest.fixture
def vietnamese():
    before = language()
    set_language("vi")
    yield
    set_language(before)


def with_webhook_url(w: World, url: str | None):
    inbox = w.config.inbox.model_copy(update={"webhook_url": url})
    return dataclasses.replace(w.config, inbox=inbox)


def subscriptions(w: World, config) -> list:
    clients = {cid: build_channel(cid, config, engine=w.engine) for cid in config.channels}

    async def run():
        try:
            return await check_subscriptions(config, clients)
        finally:
            for client in clients.values():
                await client.aclose()

    return asyncio.run(run())


def test_the_receiver_answering_and_the_page_subscribed_pass(world):
    w = world
    config = with_webhook_url(w, w.url)
    with w.receiver_up():
        subscribe(w)
        lines = [c.line() for c in check_inbox(config)]
        subscribed = subscriptions(w, config)
    assert all(line.startswith("ok") for line in lines), lines
    assert any(f"{w.url} answers as the platforms expect" in line for line in lines)
    assert [c.ok for c in subscribed] == [True]


def test_each_inbox_problem_is_one_line_in_vietnamese(world, vietnamese, monkeypatch):
    w = world
    # Meta's app subscribed to comments only: Messenger messages would never arrive.
    with w.receiver_up():
        w.sb.subscribe_graph_webhook(f"{w.url}/webhooks/facebook", VERIFY, fields=["feed"])
    monkeypatch.delenv("E2E_ZALO_OA_SECRET")
    config = with_webhook_url(w, w.url)  # nobody listens there now
    lines = [c.line() for c in check_inbox(config) if not c.ok]
    assert len(lines) == 2, lines
    assert "tinh-zalo: không đọc được webhook_secret" in lines[0]
    assert f"{w.url} không trả lời" in lines[1]
    assert "loa webhooks serve" in lines[1]
    [page] = [c.line() for c in subscriptions(w, config)]
    assert page.startswith("FAIL") and "không nhận messages" in page
    assert f"POST /{PAGE}/subscribed_apps?subscribed_fields=feed,messages" in page
    no_url = [c.line() for c in check_inbox(with_webhook_url(w, None)) if not c.ok]
    assert any("chưa có webhook_url trong [inbox]" in line for line in no_url)

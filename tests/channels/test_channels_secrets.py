"""No token value in any log line, exception text or repr, through a full publish + refresh."""

from __future__ import annotations

import logging
import traceback
from dataclasses import replace

import pytest

from scheduler.channels import build_channel
from scheduler.channels.base import ChannelError, MediaBlob, OutgoingPost, Processing
from scheduler.channels.credentials import TokenStore
from scheduler.channels.http import redact, register_secret, safe_url, strip_params
from tests.channels.conftest import OA_ID, PAGE_ID, jpeg


def secrets_of(sb) -> set[str]:
    tokens = sb.tokens()
    values = {sb.page_token(PAGE_ID), sb.user_token, sb.zalo_app_secret}
    for oa in tokens["zalo"]["oas"].values():
        values.update(v for k, v in oa.items() if "token" in k and isinstance(v, str) and v)
    return values


async def test_no_token_in_logs_exceptions_or_reprs(env, caplog):
    caplog.set_level(logging.DEBUG)
    seen: set[str] = set(secrets_of(env.sb))
    texts: list[str] = []
    fb = build_channel("tinh-fb", env.config, engine=env.engine)
    oa = build_channel("tinh-zalo", env.config, engine=env.engine)
    store = TokenStore(env.engine)
    post = OutgoingPost(
        delivery_id=1,
        channel="tinh-fb",
        text="Tin an ninh",
        images=[MediaBlob("a.jpg", "image/jpeg", jpeg())],
    )
    published = await fb.publish(post)
    texts += [repr(fb), repr(published)]
    await fb.fetch_metrics([published.remote_id])
    zpost = replace(post, channel="tinh-zalo", title="Tin an ninh")
    step = await oa.publish(zpost)  # first refresh happens here
    seen |= secrets_of(env.sb)
    while isinstance(step, Processing):
        step = await oa.publish(replace(zpost, pending_step=step.step, pending_ref=step.ref))
    # Force an expired-token path: Zalo's clock jumps 26 h, the client refreshes once.
    env.sb.advance_clock(26 * 3600)
    await oa.health()
    seen |= secrets_of(env.sb)
    texts += [repr(oa), repr(store), repr(store.current("tinh-zalo"))]
    # Errors carrying platform text, with tokens dead or faulted.
    env.sb.set_faults(PAGE_ID, auth="expired")
    env.sb.set_faults(OA_ID, auth="invalid")
    for call in (fb.publish(post), oa.publish(zpost)):
        with pytest.raises(ChannelError) as caught:
            await call
        texts.append(str(caught.value))
        texts.append("".join(traceback.format_exception(caught.value)))
    seen |= secrets_of(env.sb)
    await fb.aclose()
    await oa.aclose()
    everything = "\n".join([caplog.text, *texts, *(r.getMessage() for r in caplog.records)])
    assert len(seen) >= 5
    leaked = [s[:8] + "..." for s in seen if s in everything]
    assert leaked == []
    # The logs did record the traffic (so the assertion above is meaningful).
    assert "/feed" in caplog.text or "/photos" in caplog.text
    assert "article/create" in caplog.text


def test_redaction_helpers():
    secret = "EAAP-very-secret-token-value"
    register_secret(secret)
    assert redact(f"error for {secret}!") == "error for ***!"
    assert "very-secret" not in safe_url(f"https://g/x?access_token={secret}&limit=5")
    assert safe_url("https://g/x?a=1") == "https://g/x?a=1"
    assert strip_params(f"https://g/v21.0/1/feed?limit=100&access_token={secret}&after=Q") == (
        "https://g/v21.0/1/feed?limit=100&after=Q"
    )


def test_filter_scrubs_records_from_other_loggers(caplog):
    secret = "zalo-refresh-token-abcdefgh"
    register_secret(secret)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").info("HTTP Request: POST %s", f"https://x/?refresh_token={secret}")
    try:
        raise RuntimeError(f"boom {secret}")
    except RuntimeError:
        logging.getLogger("loa.channels.test").exception("failed")
    assert secret not in caplog.text

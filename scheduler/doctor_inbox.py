"""`loa doctor`'s checks of the citizens' inbox, each problem one line in the office's language.

* **secrets**: a Facebook channel in the inbox needs its Meta app secret (it signs the deliveries,
  docs/platforms/facebook-graph.md#signatures) and the verify token (the handshake,
  docs/platforms/facebook-graph.md#verification-handshake); a Zalo channel the OA Secret Key of its
  webhook settings (docs/platforms/zalo-oa.md#signatures). Each must be readable where channels.toml
  says.
* **endpoint**: ``[inbox] webhook_url`` is where the platforms deliver; Loa asks it as Meta
  would (the verification handshake must echo the challenge) and as a stranger would (an
  unsigned Zalo event must be refused), so a proxy that does not pass ``/webhooks/`` or a
  receiver that is not running is found before citizens' messages are lost.
* **subscription**: Meta delivers only to an app the Page is subscribed to, and only the fields it
  subscribed (``GET /{page-id}/subscribed_apps``,
  docs/platforms/facebook-graph.md#subscribing-a-page; Meta unsubscribes an app after sustained
  failures, docs/platforms/facebook-graph.md#delivery-and-retries): Loa needs ``feed`` (comments)
  and ``messages``.
"""

from __future__ import annotations

import secrets as random
from collections.abc import Mapping
from typing import Any

import httpx

from content.errors import LoaError
from content.i18n import _
from content.messages import render
from scheduler.channels.base import Channel, ChannelError
from scheduler.config import Config, FacebookChannel, SecretRef, ZaloChannel
from scheduler.doctor import Check

#: The Page webhook fields the inbox needs (comments, Messenger).
NEEDED_FIELDS = ("feed", "messages")
#: Paths of ``loa webhooks serve`` (scheduler.webhooks; not imported: it pulls in uvicorn).
ZALO_PATH = "/webhooks/zalo"
FACEBOOK_PATH = "/webhooks/facebook"
NAME = "inbox"


def in_inbox(config: Config) -> dict[str, FacebookChannel | ZaloChannel]:
    """The channels set up to receive citizens' messages (any inbox secret referenced)."""
    out: dict[str, FacebookChannel | ZaloChannel] = {}
    for cid, channel in config.channels.items():
        if isinstance(channel, FacebookChannel) and (channel.verify_token or channel.app_secret):
            out[cid] = channel
        if isinstance(channel, ZaloChannel) and channel.webhook_secret:
            out[cid] = channel
    return out


def check_secrets(config: Config) -> list[Check]:
    """Every inbox secret referenced and readable."""
    checks: list[Check] = []
    for cid, channel in in_inbox(config).items():
        wanted: dict[str, SecretRef | None]
        if isinstance(channel, FacebookChannel):
            wanted = {"app_secret": channel.app_secret, "verify_token": channel.verify_token}
        else:
            wanted = {"webhook_secret": channel.webhook_secret}
        problems = []
        for key, ref in wanted.items():
            if ref is None:
                problems.append(
                    _(
                        "{channel}: no {key} in channels.toml: its webhook deliveries are refused"
                    ).format(channel=cid, key=key)
                )
                continue
            try:
                ref.resolve()
            except LoaError as exc:
                problems.append(
                    _("{channel}: {key} cannot be read: {reason}").format(
                        channel=cid, key=key, reason=render(exc, field=False)
                    )
                )
        if problems:
            checks.extend(Check(f"{NAME} {cid}", False, p) for p in problems)
        else:
            keys = ", ".join(wanted)
            checks.append(
                Check(f"{NAME} {cid}", True, _("secrets readable: {keys}").format(keys=keys))
            )
    return checks


def check_endpoint(config: Config, *, transport: httpx.BaseTransport | None = None) -> Check:
    """The public webhook address answers as ``loa webhooks serve`` does."""
    base = str(config.inbox.webhook_url or "").rstrip("/")
    if not base:
        return Check(
            f"{NAME} webhook",
            False,
            _("no [inbox] webhook_url: Loa cannot check that the platforms reach the receiver"),
            _("set webhook_url in [inbox] to the public address of loa webhooks serve"),
        )
    channels = in_inbox(config)
    advice = _("start loa webhooks serve and let the reverse proxy pass /webhooks/ to it")
    try:
        with httpx.Client(transport=transport, timeout=10.0, trust_env=False) as client:
            for channel in channels.values():
                if isinstance(channel, FacebookChannel) and channel.verify_token:
                    problem = _handshake(client, base, channel.verify_token.resolve())
                    if problem:
                        return Check(f"{NAME} webhook", False, problem, advice)
                    break
            if any(isinstance(c, ZaloChannel) for c in channels.values()):
                answer = client.post(base + ZALO_PATH, content=b"{}")
                if answer.status_code not in (401, 403):
                    said = _("{url} accepted an unsigned Zalo event (HTTP {status})").format(
                        url=base + ZALO_PATH, status=answer.status_code
                    )
                    return Check(f"{NAME} webhook", False, said, advice)
    except (httpx.HTTPError, LoaError) as exc:
        said = _("{url} does not answer: {reason}").format(url=base, reason=type(exc).__name__)
        return Check(f"{NAME} webhook", False, said, advice)
    return Check(
        f"{NAME} webhook", True, _("{url} answers as the platforms expect").format(url=base)
    )


def _handshake(client: httpx.Client, base: str, token: str) -> str | None:
    challenge = str(random.randbelow(10**9))
    params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": challenge}
    answer = client.get(base + FACEBOOK_PATH, params=params)
    if answer.status_code != 200 or answer.text != challenge:
        return _("{url} failed Meta's verification handshake (HTTP {status})").format(
            url=base + FACEBOOK_PATH, status=answer.status_code
        )
    return None


async def check_subscriptions(config: Config, clients: Mapping[str, Channel]) -> list[Check]:
    """Each Facebook channel's Page subscribed to the fields the inbox needs."""
    checks: list[Check] = []
    for cid, channel in in_inbox(config).items():
        client: Any = clients.get(cid)
        if not isinstance(channel, FacebookChannel) or client is None:
            continue
        try:
            apps = await client.subscribed_apps()
        except ChannelError as exc:
            said = _("{channel}: the Page's subscriptions cannot be read: {reason}").format(
                channel=cid, reason=exc.message
            )
            checks.append(Check(f"{NAME} {cid}", False, said))
            continue
        fields = {str(f) for app in apps for f in app.get("subscribed_fields") or []}
        missing = [f for f in NEEDED_FIELDS if f not in fields]
        if not apps:
            said = _("{channel}: the Page is subscribed to no app: Meta delivers nothing").format(
                channel=cid
            )
        elif missing:
            said = _("{channel}: the Page's app does not receive {fields}").format(
                channel=cid, fields=", ".join(missing)
            )
        else:
            checks.append(
                Check(f"{NAME} {cid}", True, _("the Page delivers feed and messages to the app"))
            )
            continue
        advice = _(
            "subscribe it: POST /{page}/subscribed_apps?subscribed_fields=feed,messages "
            "with the Page token"
        ).format(page=channel.page_id)
        checks.append(Check(f"{NAME} {cid}", False, said, advice))
    return checks


def check_inbox(config: Config, *, transport: httpx.BaseTransport | None = None) -> list[Check]:
    """The inbox's local checks (secrets, endpoint); none when no channel is in the inbox."""
    if not in_inbox(config):
        return []
    return [*check_secrets(config), check_endpoint(config, transport=transport)]

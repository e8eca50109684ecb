"""Channel clients: one per platform behind :class:`~scheduler.channels.base.Channel`.

The dispatcher, the metrics collector and ``loa doctor`` get their clients from
:func:`build_channel` and never see a platform's quirks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine

from content import infographic
from content.errors import LoaError
from content.messages import Notice
from scheduler.channels.base import Channel
from scheduler.channels.broadcast_caps import BroadcastLedger
from scheduler.channels.credentials import TokenStore
from scheduler.channels.facebook import FacebookPage
from scheduler.channels.graph_versions import notice as graph_version_notice
from scheduler.channels.media_store import MediaStore
from scheduler.channels.zalo import ZaloOA
from scheduler.config import Config, FacebookChannel, ZaloChannel

__all__ = ["ChannelNotice", "build_channel", "channel_notices", "office_branding"]


@dataclass(frozen=True)
class ChannelNotice:
    """Something about a channel's configuration a person must see to before it breaks."""

    channel: str
    message: str
    advice: str


def channel_notices(config: Config, today: date) -> list[ChannelNotice]:
    """Notices read from the configuration alone (no platform call): today, each Facebook
    channel whose Graph API version ends within 60 days or has ended."""
    out = []
    for channel_id, channel in config.channels.items():
        if isinstance(channel, FacebookChannel):
            found = graph_version_notice(channel.graph_version, today)
            if found is not None:
                out.append(ChannelNotice(channel_id, found.text(), found.advice()))
    return out


def build_channel(
    channel_id: str,
    config: Config,
    *,
    engine: Engine,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    tokens: TokenStore | None = None,
    key_file: Path | None = None,
) -> Channel:
    """The client of channel ``channel_id`` as channels.toml describes it.

    ``engine`` holds the Zalo token store; ``transport`` routes HTTP elsewhere (tests);
    ``clock`` returns the aware current time and ``sleep`` waits (both injectable so tests
    never sleep). ``tokens`` shares one :class:`TokenStore` between clients; otherwise one is
    made with the key from LOA_CREDENTIAL_KEY, else LOA_CREDENTIAL_KEY_FILE, ``key_file`` or
    ``credential_key_file`` in ``[office]`` (default beside a SQLite database).
    Secrets are read lazily, on the first call that needs them. Call ``aclose()`` when done.
    """
    channel = config.channels.get(channel_id)
    if channel is None:
        known = sorted(config.channels)
        raise LoaError(
            "channel_not_configured", id=channel_id, known=known or Notice("none_configured")
        )
    if isinstance(channel, FacebookChannel):
        return FacebookPage(channel_id, channel, transport=transport, clock=clock, sleep=sleep)
    assert isinstance(channel, ZaloChannel)
    store = tokens or TokenStore(
        engine,
        key_file=key_file or config.office.credential_key_file,
        clock=clock,
        sleep=sleep,
    )
    media = MediaStore.from_config(config.media) if config.media else None
    return ZaloOA(
        channel_id,
        channel,
        tokens=store,
        media=media,
        branding=office_branding(config),
        transport=transport,
        clock=clock,
        ledger=BroadcastLedger(
            engine, config.directory().office.timezone, channel.broadcasts_per_month
        ),
    )


def office_branding(config: Config) -> infographic.Branding:
    """The office's look for rendered covers, from ``[office]`` in channels.toml."""
    brand = config.office.branding
    return infographic.Branding(
        office_name=config.office.name,
        primary=brand.primary,
        accent=brand.accent,
        logo_path=brand.logo,
    )

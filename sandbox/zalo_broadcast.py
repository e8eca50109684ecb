"""Zalo broadcasts: followers (synthetic, deterministic), target filters, night ban, caps."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from sandbox.runtime import Sandbox
from sandbox.state import ZaloBroadcast
from sandbox.zalo_common import ZaloError, office_time, opaque_id

NIGHT_START_HOUR = 22
NIGHT_END_HOUR = 6
TARGET_FIELDS = ("ages", "gender", "locations", "cities", "platform")


@lru_cache(maxsize=64)
def follower_profiles(seed: int, oa_id: str, count: int) -> tuple[tuple[int, ...], ...]:
    """(age group 0-7, gender 1-2, location 0-2, city 0-62, platform 1-3) per follower."""
    profiles = []
    for index in range(count):
        digest = hashlib.sha256(f"{seed}:{oa_id}:follower:{index}".encode()).digest()
        profiles.append(
            (digest[0] % 8, 1 + digest[1] % 2, digest[2] % 3, digest[3] % 63, 1 + digest[4] % 3)
        )
    return tuple(profiles)


def parse_target_values(name: str, value: Any) -> set[int] | None:
    """A filter as a set: ``"2,3"``, ``2`` and ``[2, 3]`` are all accepted (None = no filter)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ZaloError(-201, f"{name} is invalid")
    items: list[Any]
    if isinstance(value, int):
        items = [value]
    elif isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list):
        items = value
    else:
        raise ZaloError(-201, f"{name} is invalid")
    try:
        return {int(item) for item in items}
    except (TypeError, ValueError):
        raise ZaloError(-201, f"{name} is invalid") from None


def parse_target(target: Any) -> dict[str, set[int]]:
    """The ``recipient.target`` filters that narrow the audience."""
    if target is None:
        return {}
    if not isinstance(target, dict):
        raise ZaloError(-201, "target is invalid")
    filters = {}
    for name in TARGET_FIELDS:
        values = parse_target_values(name, target.get(name))
        if values is not None:
            filters[name] = values
    if filters.get("gender") == {0}:
        del filters["gender"]  # 0 means every gender
    if "cities" in filters:
        filters.pop("locations", None)  # a city filter overrides regions
    return filters


def _matches(profile: tuple[int, ...], filters: dict[str, set[int]]) -> bool:
    age, gender, location, city, platform = profile
    values = {
        "ages": age,
        "gender": gender,
        "locations": location,
        "cities": city,
        "platform": platform,
    }
    return all(values[name] in allowed for name, allowed in filters.items())


def article_to_broadcast(sandbox: Sandbox, oa_id: str, body: Any) -> str:
    """The article id of a broadcast body, after the shape checks Zalo makes."""
    message = body.get("message") if isinstance(body, dict) else None
    attachment = message.get("attachment") if isinstance(message, dict) else None
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    if not isinstance(payload, dict) or (attachment or {}).get("type") != "template":
        raise ZaloError(-201, "message is invalid")
    if payload.get("template_type") != "media":
        raise ZaloError(-201, "template_type is invalid")
    elements = payload.get("elements")
    if not isinstance(elements, list) or not elements:
        raise ZaloError(-201, "elements is invalid")
    element = elements[0]
    if not isinstance(element, dict) or element.get("media_type") != "article":
        raise ZaloError(-201, "media_type is invalid")
    article = sandbox.state.articles.get(str(element.get("attachment_id", "")))
    if article is None or article.removed or article.oa_id != oa_id:
        raise ZaloError(-201, "attachment_id is invalid")
    if article.status != "show":
        # Only a shown article can be broadcast [our choice of code; not attested].
        raise ZaloError(-201, "article is not shown")
    return article.id


def is_night(epoch: float) -> bool:
    """22:00-05:59 office time: promotional messages are refused."""
    hour = office_time(epoch).hour
    return hour >= NIGHT_START_HOUR or hour < NIGHT_END_HOUR


def broadcast(sandbox: Sandbox, oa_id: str, body: dict[str, Any]) -> ZaloBroadcast:
    """Send an article to the matching followers; those at their cap are silently skipped."""
    oa = sandbox.oas[oa_id]
    target = (body.get("recipient") or {}).get("target") if isinstance(body, dict) else None
    filters = parse_target(target)
    article_id = article_to_broadcast(sandbox, oa_id, body)
    if not oa.is_verified:
        raise ZaloError(-221, "The OA needs to be verified to use this feature")
    now = sandbox.now()
    if is_night(now):
        raise ZaloError(-234, "This message cannot be sent at night (10:00PM - 6:00AM)")
    local = office_time(now)
    day, month = local.strftime("%Y-%m-%d"), local.strftime("%Y-%m")
    caps = sandbox.state.follower_caps.setdefault(oa_id, {})
    reached = skipped = 0
    for index, profile in enumerate(follower_profiles(sandbox.config.seed, oa_id, oa.followers)):
        if not _matches(profile, filters):
            continue
        last_day, cap_month, count = caps.get(str(index), [None, month, 0])
        if cap_month != month:  # caps reset on the 1st of each month
            last_day, count = None, 0
        if last_day == day or count >= oa.monthly_broadcast_cap:
            skipped += 1
            continue
        caps[str(index)] = [day, month, count + 1]
        reached += 1
    serial = sandbox.state.new_zalo_serial()
    record = ZaloBroadcast(
        message_id=opaque_id(sandbox.config.seed, "message", oa_id, serial),
        oa_id=oa_id,
        article_id=article_id,
        target=target if isinstance(target, dict) else {},
        received_at=now,
        reached=reached,
        skipped=skipped,
        payload=body,
    )
    sandbox.state.broadcasts.append(record)
    sandbox.touch()
    return record

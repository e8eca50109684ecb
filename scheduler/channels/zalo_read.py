"""Reading one Zalo OA's article list: the look-up of an article, and the articles' figures.

``getslice`` lists articles at most 10 a call, in an order Zalo does not state, and each
item's ``create_date``, ``total_view`` and ``total_share`` rest on one community source
(docs/platforms/zalo-oa.md#listing-and-detail): the walk trusts the order only while the
dates seen never go up, and reads the date defensively (:func:`created_ms`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from content.limits import nfc
from scheduler.channels.base import ContentError, Published, TransientError
from scheduler.channels.zalo_article import body_fingerprint
from scheduler.channels.zalo_errors import PLATFORM
from scheduler.channels.zalo_transport import ZaloTransport, log

#: getslice answers at most 10 items per call.
SLICE_LIMIT = 10
#: find() walks the article list back to the first attempt (or to its end); this many pages
#: (100,000 articles) is only a guard against a list that never ends. Stopping there is
#: "could not finish looking" (TransientError), never "not there".
FIND_MAX_PAGES = 10_000
#: A ``create_date`` below this (September 2001 in epoch ms) is not an epoch-ms value (e.g.
#: seconds): such an item cannot tell how far back the walk has come.
_MIN_EPOCH_MS = 1_000_000_000_000
#: fetch_metrics() reads at most this many getslice pages before asking getdetail per id.
METRICS_PAGES = 10


class ArticleList:
    """One OA's article list, read through its :class:`ZaloTransport`."""

    def __init__(self, api: ZaloTransport) -> None:
        self._api = api
        self.id = api.id

    async def walk(self, title: str, wanted: str, since: float | None) -> Published | None:
        """The article titled ``title`` whose text blocks have the fingerprint ``wanted``.

        Reads getslice pages from the newest; ``since`` (epoch ms) or the end stops it.
        Raises TransientError when the walk cannot finish.
        """
        offset = 0
        # The list is trusted to be newest first (so an older item ends the walk) only while
        # the dates seen never go up: Zalo does not state the order
        # (docs/platforms/zalo-oa.md#listing-and-detail).
        order = _Order()
        # Articles created during the walk push the list down, so a page can repeat items of
        # the one before: those are skipped (already compared, and not out of order).
        seen: set[str] = set()
        total: int | None = None
        for _ in range(FIND_MAX_PAGES):
            page = await self._slice(offset)
            fresh = _fresh_items(page, seen, total, offset)
            total = page.total if page.total is not None else total
            reached_older = False
            for item in fresh:
                seen.add(str(item["id"]))
                created = created_ms(item)
                if created is not None:
                    order.see(created)
                    if since is not None and created < since:
                        # Made before the first attempt: not this post, and (newest first)
                        # nothing further down is either. The rest of the page is still read.
                        reached_older = True
                        continue
                if nfc(str(item.get("title", ""))) == title:
                    found = await self._confirm(item, wanted)
                    if found is not None:
                        return found
            if reached_older and order.newest_first:
                return None
            offset += page.size
            if _list_ended(page, offset):
                return None
        raise TransientError(
            f"Zalo look-up stopped after {FIND_MAX_PAGES} pages of articles without reaching "
            "the first attempt or the end of the list",
            platform=PLATFORM,
        )

    async def _confirm(self, item: Mapping[str, Any], wanted: str) -> Published | None:
        """The listed article ``item`` when its text blocks have the fingerprint ``wanted``."""
        detail = await self._api.read(
            "v2.0/article/getdetail", params={"id": str(item["id"])}, step="getdetail"
        )
        blocks = [
            str(b.get("content", ""))
            for b in (detail or {}).get("body") or []
            if isinstance(b, dict) and b.get("type") == "text"
        ]
        if body_fingerprint(blocks) != wanted:
            return None
        link = (detail or {}).get("link") or item.get("link")
        return Published(remote_id=str(item["id"]), permalink=link)

    async def _slice(self, offset: int) -> _Slice:
        data = await self._api.read(
            "v2.0/article/getslice",
            params={"offset": str(offset), "limit": str(SLICE_LIMIT), "type": "normal"},
            step="getslice",
        )
        raw = (data or {}).get("medias") or []
        raw = raw if isinstance(raw, list) else []
        medias = [m for m in raw if isinstance(m, dict) and m.get("id")]
        total = (data or {}).get("total")
        if isinstance(total, bool) or not isinstance(total, int | float):
            return _Slice(medias, len(raw), None)
        return _Slice(medias, len(raw), int(total))

    async def fetch_metrics(self, remote_ids: Sequence[str]) -> Mapping[str, Mapping[str, float]]:
        """Views and shares per article (getslice pages, then getdetail for the rest)."""
        wanted = set(remote_ids)
        results: dict[str, dict[str, float]] = {}
        for page in range(METRICS_PAGES):
            if not wanted - results.keys():
                break
            listed = await self._slice(page * SLICE_LIMIT)
            for item in listed.medias:
                if str(item.get("id")) in wanted:
                    results[str(item["id"])] = _figures(item)
            if (page + 1) * SLICE_LIMIT >= (listed.total or 0):
                break
        for article_id in sorted(wanted - results.keys()):
            try:
                detail = await self._api.call(
                    "GET", "v2.0/article/getdetail", params={"id": article_id}, step="getdetail"
                )
            except ContentError as exc:
                log.warning("%s: no figures for %s: %s", self.id, article_id, exc.message)
                continue
            results[article_id] = _figures(detail or {})
        return results


@dataclass(frozen=True)
class _Slice:
    """One getslice page: its usable items, how many items it held, the list's total."""

    medias: list[dict[str, Any]]
    size: int
    total: int | None


@dataclass
class _Order:
    """Whether the dates seen so far never went up (the list is then newest first)."""

    newest_first: bool = True
    previous: float | None = None

    def see(self, created: float) -> None:
        """Take the next item's date into account."""
        if self.previous is not None and created > self.previous:
            self.newest_first = False
        self.previous = created


def _fresh_items(
    page: _Slice, seen: set[str], total: int | None, offset: int
) -> list[dict[str, Any]]:
    """The items of ``page`` not read before; raises when the list cannot be walked on."""
    if total is not None and page.total is not None and page.total < total:
        # An article was removed meanwhile: the offsets moved up and an item may have
        # been stepped over. Looking again later is cheap; a missed article is not.
        raise TransientError(
            "Zalo's article list shrank during the look-up; it could not finish",
            platform=PLATFORM,
        )
    fresh = [item for item in page.medias if str(item["id"]) not in seen]
    if page.medias and not fresh:
        # A full page of items already read: the list is not moving on (a faulty
        # answer repeating itself), so the walk cannot reach its end.
        raise TransientError(
            f"Zalo repeated articles at offset {offset}; the look-up could not finish",
            platform=PLATFORM,
        )
    return fresh


def _list_ended(page: _Slice, offset: int) -> bool:
    """Whether the walk, now at ``offset`` after ``page``, has read the whole list."""
    if page.total is not None:
        if offset >= page.total:
            return True
        if page.size == 0:
            raise TransientError(
                f"Zalo listed no articles at offset {offset} of {page.total}; "
                "the look-up could not finish",
                platform=PLATFORM,
            )
        return False
    return page.size < SLICE_LIMIT  # a short page without a total is the end of the list


def created_ms(item: Mapping[str, Any]) -> float | None:
    """An article item's ``create_date`` in epoch ms, or None when it has no usable one.

    The field is documented by one community source only
    (docs/platforms/zalo-oa.md#listing-and-detail), so a numeric string is read too. A value that
    cannot be epoch ms (missing, a bool, other text, seconds) is None: the item is still
    compared, but it never ends a look-up early.
    """
    value = item.get("create_date")
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value) or value < _MIN_EPOCH_MS:
        return None
    return float(value)


def _figures(item: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for key, name in (("total_view", "views"), ("total_share", "shares")):
        value = item.get(key)
        if isinstance(value, int | float):
            out[name] = float(value)
    return out

"""UTM tags on links, so the office's web analytics can tell which channel sent a reader."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote_plus, unquote_plus, urlsplit, urlunsplit

from content.office import FACEBOOK, ZALO_OA

#: utm_source per channel kind.
UTM_SOURCES = {FACEBOOK: "facebook", ZALO_OA: "zalo"}
_UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")


@dataclass(frozen=True)
class UtmSettings:
    """Whether (and how) drafts tag their link per channel.

    ``campaign`` None means ``feed-<id>`` for drafts made from a feed.
    """

    enabled: bool = True
    medium: str = "social"
    campaign: str | None = None


def add_utm(url: str, source: str, medium: str, campaign: str) -> str:
    """``url`` with utm_source/utm_medium/utm_campaign set.

    Other query parameters and the fragment are kept byte for byte (they are not
    re-encoded); UTM parameters already on the link are replaced, not repeated.
    """
    parts = urlsplit(url)
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and unquote_plus(pair.partition("=")[0]) not in _UTM_KEYS
    ]
    values = (source, medium, campaign)
    kept.extend(f"{key}={quote_plus(value)}" for key, value in zip(_UTM_KEYS, values, strict=True))
    return urlunsplit(parts._replace(query="&".join(kept)))

"""How a post will look on each platform, worked out before it is published.

The composer shows this (and the CLI could): a Facebook post as the feed shows it, with the
point where Facebook folds a long text behind "See more", and a Zalo OA article's card
(title, cover, description). The text rules here are the ones the channel clients publish
with (``scheduler.channels.zalo_article`` and ``scheduler.channels.facebook`` call
:func:`zalo_title`, :func:`zalo_description` and :func:`facebook_message`), so the preview
and the published post cannot drift apart. Only the Facebook fold is an estimate: Meta does
not document it.

Nothing here reads files or the network: images are passed in as a count, and a link card
shows the link's host only (the composer cannot fetch the page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from content.errors import ValidationError
from content.limits import TEXT_LIMITS, nfc
from content.office import FACEBOOK, ZALO_OA, ChannelDirectory

#: Where Facebook's feed folds a long text behind "See more". Meta documents no rule; the
#: commonly observed fold is after roughly the first 5 lines or ~480 characters, whichever
#: comes first (apps and screen widths differ). An estimate, said as such to the officer.
FACEBOOK_FOLD_LINES = 5
FACEBOOK_FOLD_CHARS = 480

#: What a Zalo article's cover is made from, in zalo_article.cover_bytes's order of
#: preference: a rendered infographic, else the first image, else a default card drawn
#: from the title.
COVER_INFOGRAPHIC = "infographic"
COVER_IMAGE = "image"
COVER_DEFAULT = "default"

_ZALO = TEXT_LIMITS[ZALO_OA]


def clip(text: str, limit: int) -> str:
    """NFC ``text`` on one line, cut to at most ``limit`` characters at a word boundary with
    an ellipsis (how Loa fits Zalo's title, description and author)."""
    text = " ".join(nfc(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def _title_source(title: str | None, text: str) -> str:
    """The post's title, else its first non-empty line."""
    return title or next((line for line in text.splitlines() if line.strip()), "")


def zalo_title(title: str | None, text: str) -> str:
    """The article title Zalo gets: the title, else the text's first line, within the limit
    ("" when there is neither: Zalo refuses the article)."""
    return clip(_title_source(title, text), _ZALO.title or 149)


def zalo_description(title: str | None, text: str) -> str:
    """The description Zalo shows under the title: the text on one line, cut within the
    limit; the title when the text is empty."""
    return clip(text, _ZALO.description or 299) or zalo_title(title, text)


def facebook_message(text: str, link: str | None, has_images: bool) -> str:
    """The message Facebook gets: the text, plus the link when it cannot be a link post.

    A photo post has no ``link`` parameter (so no link card): the link goes at the end of
    the text, unless the text already carries it.
    """
    text = text.strip()
    if has_images and link and link not in text:
        return f"{text}\n\n{link}" if text else link
    return text


def link_host(link: str | None) -> str | None:
    """The host a link card names (``www.`` dropped), or None without a usable link."""
    raw = (link or "").strip()
    if not raw:
        return None
    # A link typed without its scheme still names a host.
    host = urlsplit(raw if "//" in raw else f"//{raw}").hostname
    if not host:
        return None
    return host.removeprefix("www.")


@dataclass(frozen=True)
class Fold:
    """A text as the feed first shows it: ``shown``, then "See more" if ``hidden`` > 0."""

    shown: str
    #: Characters behind "See more" (0: the whole text shows).
    hidden: int


def facebook_fold(message: str) -> Fold:
    """Where the feed folds ``message`` (an estimate: see :data:`FACEBOOK_FOLD_LINES`)."""
    message = nfc(message).strip()
    shown = "\n".join(message.split("\n")[:FACEBOOK_FOLD_LINES])
    if len(shown) > FACEBOOK_FOLD_CHARS:
        cut = shown[:FACEBOOK_FOLD_CHARS]
        # The feed breaks between words, not inside one.
        space = max(cut.rfind(" "), cut.rfind("\n"))
        shown = cut[:space] if space > FACEBOOK_FOLD_CHARS // 2 else cut
    shown = shown.rstrip()
    if len(shown) >= len(message):
        return Fold(message, 0)
    return Fold(shown, len(message) - len(shown))


@dataclass(frozen=True)
class FacebookLook:
    """A Facebook Page post as the feed will show it."""

    channel: str
    page: str
    #: The channel publishes its own text (a variant), not the main one.
    own_text: bool
    fold: Fold
    images: int
    #: The link card's host (a post without images), or None.
    link_card: str | None
    #: A photo post carries its link at the end of the text instead of a card.
    link_in_text: bool


@dataclass(frozen=True)
class ZaloLook:
    """A Zalo OA article's card as followers will see it."""

    channel: str
    oa: str
    own_text: bool
    #: "" when the post has neither a title nor a first line (Zalo refuses it).
    title: str
    #: The title was longer than Zalo takes and is cut.
    title_cut: bool
    description: str
    #: COVER_INFOGRAPHIC, COVER_IMAGE or COVER_DEFAULT.
    cover: str
    #: The OA sends the article to its followers (channels.toml ``broadcast``).
    broadcast: bool
    #: The link's host, when the link is added at the end of the article's body.
    link_in_body: str | None


Look = FacebookLook | ZaloLook


def zalo_cover(infographic: bool, images: int) -> str:
    """What the article's cover will be made from."""
    if infographic:
        return COVER_INFOGRAPHIC
    return COVER_IMAGE if images else COVER_DEFAULT


def post_looks(
    directory: ChannelDirectory,
    chosen: Sequence[str],
    *,
    title: str | None,
    text: str,
    link: str | None,
    images: int,
    variants: Mapping[str, str] | None = None,
    infographic: bool = False,
) -> list[Look]:
    """One look per chosen channel (groups and units expanded), in the office's order.

    A channel with its own text (``variants``) is shown with that text. Unknown names give
    no looks: the queue names them when saving.
    """
    try:
        channels = directory.expand(list(chosen))
    except ValidationError:
        return []
    looks: list[Look] = []
    for channel in channels:
        info = directory.channels[channel]
        own = (variants or {}).get(channel)
        body = own if own is not None else text
        if info.kind == FACEBOOK:
            looks.append(
                FacebookLook(
                    channel=channel,
                    page=info.name,
                    own_text=own is not None,
                    fold=facebook_fold(facebook_message(body, link, images > 0)),
                    images=images,
                    link_card=None if images else link_host(link),
                    link_in_text=bool(images and link and link not in body),
                )
            )
        elif info.kind == ZALO_OA:
            source = " ".join(nfc(_title_source(title, body)).split())
            shown_title = zalo_title(title, body)
            looks.append(
                ZaloLook(
                    channel=channel,
                    oa=info.name,
                    own_text=own is not None,
                    title=shown_title,
                    title_cut=shown_title != source,
                    description=zalo_description(title, body) if shown_title else "",
                    cover=zalo_cover(infographic, images),
                    broadcast=info.broadcast,
                    link_in_body=link_host(link) if link and link not in body else None,
                )
            )
    return looks

"""The composer's preview cards: a post as Facebook's feed and a Zalo OA article will show it.

What each platform does with the text (where Facebook folds it, how Zalo cuts the title and
takes the description) is worked out in :mod:`content.preview`, shared with the channel
clients; this module only words it for the officer, in a column about 34 cells wide at
80x24 (no emoji: their width differs between terminals).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.text import Text

from content.limits import TEXT_LIMITS
from content.office import ZALO_OA
from content.preview import (
    COVER_DEFAULT,
    COVER_INFOGRAPHIC,
    FACEBOOK_FOLD_CHARS,
    FACEBOOK_FOLD_LINES,
    FacebookLook,
    Look,
    ZaloLook,
)
from content.ui.i18n import _


def _image_line(image: str | None, count: int) -> str:
    """The first image as the composer knows it (its caption once read, else its name)."""
    if image:
        return image
    return _("{n} image(s)").format(n=count)


def facebook_card(look: FacebookLook, image: str | None) -> RenderableType:
    """One Facebook Page post: the Page, the text up to the fold, the image, the link card."""
    parts: list[RenderableType] = [
        Text(f" Facebook · {look.page} ", style="bold reverse"),
        Text(look.channel + (" · " + _("own text") if look.own_text else ""), style="dim"),
    ]
    if look.fold.shown:
        parts.append(Text(look.fold.shown))
    else:
        parts.append(Text(_("(no text)"), style="italic dim"))
    if look.fold.hidden:
        parts.append(
            Text.assemble(
                (_("… See more"), "bold"),
                (" " + _("({n:,} more characters folded)").format(n=look.fold.hidden), "dim"),
            )
        )
    if look.images:
        parts.append(Text(_("Image: {image}").format(image=_image_line(image, look.images))))
    if look.link_card:
        parts.append(
            Text(_("Link card: {host}").format(host=look.link_card.upper()), style="underline")
        )
    elif look.link_in_text:
        parts.append(Text(_("A photo post has no link card: the link ends the text."), "dim"))
    return Group(*parts)


def zalo_card(look: ZaloLook, image: str | None, images: int) -> RenderableType:
    """One Zalo OA article card: the title, the cover, the description, the broadcast."""
    limit = TEXT_LIMITS[ZALO_OA].title
    parts: list[RenderableType] = [
        Text(f" Zalo OA · {look.oa} ", style="bold reverse"),
        Text(look.channel + (" · " + _("own text") if look.own_text else ""), style="dim"),
    ]
    if look.title:
        parts.append(Text(look.title, style="bold"))
    else:
        parts.append(Text(_("No title: Zalo will refuse the article."), style="bold red"))
    if look.title_cut:
        parts.append(Text(_("Title cut at {limit} characters.").format(limit=limit), "yellow"))
    if look.cover == COVER_INFOGRAPHIC:
        cover = _("the infographic")
    elif look.cover == COVER_DEFAULT:
        cover = _("a card drawn from the title")
    else:
        cover = _image_line(image, images)
    parts.append(Text(_("Cover: {cover}").format(cover=cover)))
    if look.description:
        parts.append(Text(look.description, style="italic"))
    if look.link_in_body:
        parts.append(
            Text(_("Link at the end of the article: {host}").format(host=look.link_in_body))
        )
    if look.broadcast:
        parts.append(
            Text(_("Sent to the OA's followers as a broadcast (never 22:00–06:00)."), "yellow")
        )
    return Group(*parts)


def render_looks(looks: Sequence[Look], image: str | None, images: int) -> RenderableType:
    """Every chosen channel's card, one under another, and what is only an estimate."""
    if not looks:
        return Text(_("Choose a channel to see how the post will look."), style="italic")
    cards: list[RenderableType] = []
    for look in looks:
        if cards:
            cards.append(Text(""))
        if isinstance(look, FacebookLook):
            cards.append(facebook_card(look, image))
        else:
            cards.append(zalo_card(look, image, images))
    if any(isinstance(look, FacebookLook) for look in looks):
        cards.append(Text(""))
        cards.append(
            Text(
                _(
                    "Where Facebook folds a text is an estimate: about {lines} lines or "
                    "{chars} characters."
                ).format(lines=FACEBOOK_FOLD_LINES, chars=FACEBOOK_FOLD_CHARS),
                style="dim",
            )
        )
    return Group(*cards)

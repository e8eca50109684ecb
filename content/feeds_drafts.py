"""What a draft made from a feed item says: title, text, per-channel UTM variants and the
infographic fields. Pure functions: :mod:`content.feeds` hands the result to the queue."""

from __future__ import annotations

from content.feeds_utm import UTM_SOURCES, UtmSettings, add_utm
from content.limits import TEXT_LIMITS
from content.models import FeedItem, FeedSource
from content.office import ChannelDirectory
from content.queue import PostInput

_ELLIPSIS = "…"
#: Template fields filled from the item's summary (the first that a template has).
_BODY_FIELDS = ("body", "caption", "quote")
#: Template fields filled with the feed's title (who issued the item).
_ISSUER_FIELDS = ("author",)


def source_tag(source_id: int) -> str:
    """The ``Post.source`` of drafts made from feed ``source_id``."""
    return f"feed:{source_id}"


def fit(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Cut mid-word only when the last space is so early that most of the room would be lost.
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–") + _ELLIPSIS


def draft_request(
    item: FeedItem,
    source: FeedSource,
    directory: ChannelDirectory,
    channels: list[str],
    utm: UtmSettings | None,
) -> PostInput:
    """The post a feed item becomes: title, cleaned summary + link, optional infographic and,
    when ``utm`` is enabled, a text variant per channel carrying that channel's tagged link."""
    assert source.id is not None
    kinds = {directory.kind_of(c) for c in channels}
    summary = (item.summary or "").strip()
    title = item.title or (summary.splitlines()[0] if summary else None)
    title_limits = [TEXT_LIMITS[k].title for k in kinds if TEXT_LIMITS[k].title is not None]
    if title and title_limits:
        title = fit(title, min(t for t in title_limits if t is not None))
    body = summary or item.title or ""
    text = _compose(body, item.link, kinds)
    variants: dict[str, str] = {}
    if utm is not None and utm.enabled and item.link:
        campaign = utm.campaign or f"feed-{source.id}"
        for channel in channels:
            kind = directory.kind_of(channel)
            tagged = add_utm(item.link, UTM_SOURCES.get(kind, kind), utm.medium, campaign)
            variants[channel] = _compose(body, tagged, {kind})
    infographic = None
    if source.template:
        infographic = {
            "template": source.template,
            "fields": template_fields(source.template, item, source.title),
        }
    return PostInput(
        text=text,
        channels=channels,
        title=title,
        link=item.link,
        campaign=utm.campaign if utm is not None and utm.enabled else None,
        variants=variants,
        infographic=infographic,
        source=source_tag(source.id),
    )


def template_fields(template: str, item: FeedItem, issuer: str | None) -> dict[str, str]:
    """Infographic fields filled from the item, each fitted to the template's limit.

    Fields with no counterpart in a feed item (a hotline number, a photo credit) are left
    out: the template's default applies, or the reviewer fills them in.
    """
    # Imported here: Pillow is only needed by feeds that use a template.
    from content.infographic import list_templates

    info = next((t for t in list_templates() if t.name == template), None)
    if info is None:
        return {}
    specs = {f.name: f for f in info.fields}
    summary = (item.summary or "").strip()
    values: dict[str, str] = {}
    if "title" in specs and item.title:
        values["title"] = fit(item.title, specs["title"].max_chars)
    body_field = next((name for name in _BODY_FIELDS if name in specs), None)
    if body_field and summary:
        spec = specs[body_field]
        text = summary if spec.multiline else " ".join(summary.split())
        values[body_field] = fit(text, spec.max_chars)
    items = [name for name in specs if name.startswith("item") and name[4:].isdigit()]
    lines = [line.lstrip("•- ").strip() for line in summary.splitlines() if line.strip()]
    for name, line in zip(items, lines, strict=False):
        values[name] = fit(line, specs[name].max_chars)
    for name in _ISSUER_FIELDS:
        if name in specs and issuer:
            values[name] = fit(issuer, specs[name].max_chars)
    return values


def _compose(body: str, link: str | None, kinds: set[str]) -> str:
    """Body, a blank line, the link; the body is shortened if a channel's limit demands."""
    limits = [TEXT_LIMITS[k].text for k in kinds if TEXT_LIMITS[k].text is not None]
    suffix = f"\n\n{link}" if link else ""
    if limits:
        body = fit(body, min(t for t in limits if t is not None) - len(suffix))
    return f"{body}{suffix}" if body else (link or "")

"""Zalo articles: validation of create/update bodies and the asynchronous processing job."""

from __future__ import annotations

import asyncio
import unicodedata
from typing import Any

from sandbox.engagement import engagement
from sandbox.media import ONE_MB, fetch_image, is_plausible_public_url
from sandbox.runtime import Sandbox
from sandbox.state import ZaloArticle, ZaloJob
from sandbox.zalo_common import ZaloError, epoch_ms, office_time, opaque_id

# Limits counted on NFC text; Zalo refuses strings of exactly these lengths
# (docs/platforms/zalo-oa.md#creating-an-article).
TITLE_LIMIT = 150
DESCRIPTION_LIMIT = 300
AUTHOR_LIMIT = 50
BODY_TYPES = ("text", "image", "video", "product")


def nfc_length(value: str) -> int:
    """Characters after NFC normalisation (what Zalo counts)."""
    return len(unicodedata.normalize("NFC", value))


def _limited_text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 1 <= nfc_length(value) < limit:
        # Zalo's message says "1 to <limit>" yet refuses exactly <limit> characters.
        raise ZaloError(-201, f"{name} allow 1 to {limit} characters")
    return value


def _choice(body: dict[str, Any], name: str, default: str) -> str:
    value = body.get(name, default)
    if value not in ("show", "hide"):
        raise ZaloError(-201, f"{name} is invalid")
    return value


def validate_article(body: Any) -> dict[str, Any]:
    """The normalised article of a create/update body, or the -201 Zalo gives."""
    if not isinstance(body, dict):
        raise ZaloError(-201, "body is invalid")
    kind = body.get("type", "normal")
    if kind not in ("normal", "video"):
        raise ZaloError(-201, "type is invalid")
    title = _limited_text(body, "title", TITLE_LIMIT)
    description = _limited_text(body, "description", DESCRIPTION_LIMIT)
    article: dict[str, Any] = {
        "type": kind,
        "title": title,
        "description": description,
        "status": _choice(body, "status", "hide"),
        "comment": _choice(body, "comment", "show"),
        "tracking_link": body.get("tracking_link") or "",
    }
    if kind == "video":
        # Video articles are accepted but not processed further (no video upload flow here).
        if not body.get("video_id"):
            raise ZaloError(-201, "video_id is invalid")
        article.update(author="", cover={"cover_type": "video", "video_id": body["video_id"]})
        article["body"] = []
        article["avatar"] = body.get("avatar") or ""
        return article
    article["author"] = _limited_text(body, "author", AUTHOR_LIMIT)
    article["cover"] = _cover(body.get("cover"))
    article["body"] = _blocks(body.get("body"))
    return article


def _cover(cover: Any) -> dict[str, Any]:
    valid = (
        isinstance(cover, dict)
        and cover.get("cover_type") == "photo"
        and cover.get("status") in ("show", "hide")
        and bool(cover.get("photo_url"))
    )
    if not valid:
        raise ZaloError(-201, "cover value is invalid")
    if not is_plausible_public_url(cover["photo_url"]):
        # Spaces or Vietnamese letters must be percent-encoded.
        raise ZaloError(-201, "photo_url is invalid")
    return dict(cover)


def _blocks(blocks: Any) -> list[dict[str, Any]]:
    if not isinstance(blocks, list) or not blocks:
        raise ZaloError(-201, "body is invalid")
    for index, block in enumerate(blocks):
        if not isinstance(block, dict) or block.get("type") not in BODY_TYPES:
            raise ZaloError(-201, f"body[{index}] is invalid")
        kind = block["type"]
        if kind == "text" and not (isinstance(block.get("content"), str) and block["content"]):
            raise ZaloError(-201, f"body[{index}].content is invalid")
        if kind == "image" and not is_plausible_public_url(block.get("url")):
            raise ZaloError(-201, f"body[{index}].url is invalid")
        if kind == "video" and not (block.get("url") or block.get("video_id")):
            raise ZaloError(-201, f"body[{index}] video is invalid")
        if kind == "product" and not block.get("id"):
            raise ZaloError(-201, f"body[{index}].id is invalid")
    return [dict(block) for block in blocks]


def media_urls(article: dict[str, Any]) -> list[str]:
    """The URLs Zalo fetches while processing: the cover and every body image."""
    urls = []
    if article.get("cover", {}).get("cover_type") == "photo":
        urls.append(article["cover"]["photo_url"])
    urls += [block["url"] for block in article.get("body", []) if block.get("type") == "image"]
    return urls


def check_article_quota(sandbox: Sandbox, oa_id: str) -> None:
    """-223 once the OA created its monthly number of articles (office-time months)."""
    month = office_time(sandbox.now()).strftime("%Y-%m")
    used = sandbox.state.article_counts.get(oa_id, {}).get(month, 0)
    if used >= sandbox.oas[oa_id].monthly_article_quota:
        raise ZaloError(-223, "Your OA has reach the limit quota create article")


def count_article(sandbox: Sandbox, oa_id: str) -> None:
    """Count one created article against this month's quota."""
    month = office_time(sandbox.now()).strftime("%Y-%m")
    counts = sandbox.state.article_counts.setdefault(oa_id, {})
    counts[month] = counts.get(month, 0) + 1


def new_job(sandbox: Sandbox, oa_id: str, kind: str, article: dict[str, Any], target: str | None):
    """Queue a create/update; the token it returns is what ``verify`` polls."""
    serial = sandbox.state.new_zalo_serial()
    token = opaque_id(sandbox.config.seed, "job", oa_id, serial, length=40)
    job = ZaloJob(
        token=token,
        oa_id=oa_id,
        kind=kind,
        payload=article,
        created_at=sandbox.now(),
        article_id=target,
    )
    sandbox.state.jobs[token] = job
    sandbox.touch()
    return job


async def advance_job(sandbox: Sandbox, job: ZaloJob) -> str:
    """One verify poll: the article id when done, else the Zalo error for the job's state."""
    job.polls += 1
    sandbox.touch()
    if job.outcome == "ok":
        assert job.article_id is not None
        return job.article_id
    if job.outcome == "failed":
        raise ZaloError(-200, "Upload media failed")
    if job.polls <= sandbox.config.verify_pending_polls:
        raise ZaloError(-214, "Article is being processed")
    await complete_job(sandbox, job)
    if job.outcome == "failed":
        raise ZaloError(-200, "Upload media failed")
    assert job.article_id is not None
    return job.article_id


async def complete_job(sandbox: Sandbox, job: ZaloJob) -> None:
    """Finish processing: fetch the cover and body images from their URLs, then apply.

    A job is processed once: a verify poll and a list read that meet a job still processing
    wait for the same processing (two runs could otherwise disagree, one failing a slow
    cover fetch while the other creates the article).
    """
    if job.outcome is not None:
        return
    running = sandbox.zalo_processing.get(job.token)
    if running is None:
        running = asyncio.ensure_future(_process_job(sandbox, job))
        sandbox.zalo_processing[job.token] = running
        running.add_done_callback(lambda _: sandbox.zalo_processing.pop(job.token, None))
    await asyncio.shield(running)


async def _process_job(sandbox: Sandbox, job: ZaloJob) -> None:
    for url in media_urls(job.payload):
        fetched = await fetch_image(
            url,
            max_bytes=ONE_MB,
            allowed=("jpeg", "png"),
            timeout_s=sandbox.config.media_fetch_timeout_s,
        )
        if not fetched.ok:
            job.outcome = "failed"
            job.problem = f"{url}: {fetched.problem}"
            sandbox.touch()
            return
    article = _apply(sandbox, job)
    job.outcome = "ok"
    job.article_id = article.id
    sandbox.touch()


async def complete_pending_jobs(sandbox: Sandbox, oa_id: str) -> None:
    """Zalo processes articles whether or not anyone polls: by the time an OA lists its
    articles, every queued job (even one whose create answer was lost) has finished."""
    for job in list(sandbox.state.jobs.values()):
        if job.oa_id == oa_id and job.outcome is None:
            await complete_job(sandbox, job)


def _apply(sandbox: Sandbox, job: ZaloJob) -> ZaloArticle:
    now = sandbox.now()
    data = job.payload
    existing = sandbox.state.articles.get(job.article_id or "")
    if existing is not None and not existing.removed:
        was_shown = existing.status == "show"
        for name in ("type", "title", "author", "description", "cover", "body", "status"):
            setattr(existing, name, data.get(name, getattr(existing, name)))
        existing.comment = data.get("comment", existing.comment)
        existing.updated_at = now
        if existing.status == "show" and not was_shown:
            existing.published_at = now
        existing.payload = data
        return existing
    serial = sandbox.state.new_zalo_serial()
    article_id = opaque_id(sandbox.config.seed, "article", job.oa_id, serial)
    # Zalo dates an article from the create call that queued it, not from the moment its
    # processing ended (which here is the first verify or list read, however late that is).
    created = job.created_at
    article = ZaloArticle(
        id=article_id,
        oa_id=job.oa_id,
        type=data["type"],
        title=data["title"],
        author=data.get("author", ""),
        description=data["description"],
        cover=data.get("cover", {}),
        body=data.get("body", []),
        status=data["status"],
        comment=data["comment"],
        link=f"https://zalo.me/s/{job.oa_id}/{article_id}",
        created_at=created,
        updated_at=now,
        published_at=now if data["status"] == "show" else None,
        payload=data,
    )
    sandbox.state.articles[article_id] = article
    return article


def article_figures(sandbox: Sandbox, article: ZaloArticle) -> tuple[int, int]:
    """(total_view, total_share) now; zero while the article is hidden."""
    if article.published_at is None or article.status != "show":
        return (0, 0)
    figures = engagement(sandbox.config.seed, article.id, sandbox.now() - article.published_at)
    return (figures.views, figures.shares)


def article_summary(sandbox: Sandbox, article: ZaloArticle) -> dict[str, Any]:
    """An item of ``getslice``' ``data.medias``."""
    views, shares = article_figures(sandbox, article)
    thumb = article.cover.get("photo_url", "") if isinstance(article.cover, dict) else ""
    return {
        "id": article.id,
        "type": article.type,
        "title": article.title,
        "status": article.status,
        "thumb": thumb,
        "link": article.link,
        "create_date": epoch_ms(article.created_at),
        "update_date": epoch_ms(article.updated_at),
        "total_view": views,
        "total_share": shares,
    }


def article_detail(sandbox: Sandbox, article: ZaloArticle) -> dict[str, Any]:
    """``getdetail``' ``data``: the summary plus the content."""
    detail = article_summary(sandbox, article)
    detail.update(
        author=article.author,
        description=article.description,
        cover=article.cover,
        body=article.body,
        comment=article.comment,
        tracking_link=article.payload.get("tracking_link", ""),
        related_medias=[],
    )
    return detail

"""Graph publishing: feed posts, photos, multi-photo posts, scheduling and edits."""

from __future__ import annotations

from typing import Any

from sandbox.config import PageIdentity
from sandbox.graph_call import GraphCall, as_bool, collect_attached_media, parse_schedule_time
from sandbox.graph_errors import GraphError, duplicate_status, invalid_parameter
from sandbox.media import fetch_image, image_kind
from sandbox.runtime import Sandbox
from sandbox.state import GraphPhoto, GraphPost

MAX_MESSAGE_CHARS = 63_206  # the de-facto limit schedulers use (Meta documents none)
MAX_PHOTO_BYTES = 4 * 1024 * 1024
PHOTO_KINDS = ("jpeg", "png", "gif", "bmp", "tiff")
SCHEDULE_MIN_S = 10 * 60
SCHEDULE_MAX_S = 30 * 24 * 3600


def scheduling(sb: Sandbox, params: dict[str, Any]) -> tuple[bool, int | None]:
    """(published, scheduled_publish_time) after Graph's rules."""
    published = as_bool(params.get("published"), True)
    raw = params.get("scheduled_publish_time")
    if raw is None or raw == "":
        return published, None
    when = parse_schedule_time(raw)
    if published:
        raise invalid_parameter("You cannot specify a scheduled publish time on a published post")
    check_schedule_window(sb, when)
    return False, when


def check_schedule_window(sb: Sandbox, when: int) -> None:
    """Code 100 unless ``when`` is 10 minutes to 30 days ahead of the simulated clock."""
    delta = when - sb.now()
    if not SCHEDULE_MIN_S <= delta <= SCHEDULE_MAX_S:
        raise GraphError(
            100,
            "(#100) The specified scheduled_publish_time is invalid: it must be between "
            "10 minutes and 30 days from the time of the request",
            user_title="Invalid scheduled publish time",
            user_msg="Choose a time between 10 minutes and 30 days from now.",
        )


def payload_of(call: GraphCall) -> dict[str, Any]:
    """What inspection records of a call: its parameters without the token, files described."""
    payload = {k: v for k, v in call.params.items() if k != "access_token"}
    for name, upload in call.files.items():
        payload[name] = upload.describe()
    return payload


def create_feed_post(sb: Sandbox, call: GraphCall, page: PageIdentity) -> GraphPost:
    """``POST /{page-id}/feed``: a text, link or multi-photo post (published or scheduled)."""
    params = call.params
    message = params.get("message") or None
    link = params.get("link") or None
    if message is not None and not isinstance(message, str):
        message = str(message)
    if message and len(message) > MAX_MESSAGE_CHARS:
        raise invalid_parameter("Message is too long")
    if params.get("picture") and not link:
        raise invalid_parameter("A link must be provided if a picture URL is given")
    if link and not (isinstance(link, str) and link.startswith(("http://", "https://"))):
        raise invalid_parameter("link URL is not properly formatted")
    photo_ids = attached_media(sb, params, page)
    if not (message or link or photo_ids):
        raise invalid_parameter("Missing message or attachment")
    published, scheduled = scheduling(sb, params)
    if message and sb.state.last_message.get(page.page_id) == message:
        raise duplicate_status()
    status_type = "mobile_status_update"
    if photo_ids:
        status_type = "added_photos"
    elif link:
        status_type = "shared_story"
    post = new_post(sb, call, page, message, link, published, scheduled, status_type)
    post.photo_ids = photo_ids
    for photo_id in photo_ids:
        photo = sb.state.photos[photo_id]
        photo.attached_to = post.id
        photo.post_id = post.id
        photo.published = published
    return post


def new_post(
    sb: Sandbox,
    call: GraphCall,
    page: PageIdentity,
    message: str | None,
    link: str | None,
    published: bool,
    scheduled: int | None,
    status_type: str,
) -> GraphPost:
    """Store a new post (and remember its message for the duplicate check)."""
    state = sb.state
    now = sb.now()
    post = GraphPost(
        id=f"{page.page_id}_{state.new_graph_id()}",
        page_id=page.page_id,
        message=message,
        link=link,
        created_time=now,
        updated_time=now,
        is_published=published,
        scheduled_publish_time=scheduled,
        published_at=now if published else None,
        status_type=status_type,
        received_at=now,
        payload=payload_of(call),
    )
    sb.add_post(post)
    if message:
        state.last_message[page.page_id] = message
    sb.touch()
    return post


def attached_media(sb: Sandbox, params: dict[str, Any], page: PageIdentity) -> list[str]:
    """The photo ids of ``attached_media``: unpublished, unattached photos of this page."""
    entries = collect_attached_media(params)
    photo_ids = []
    for index, entry in enumerate(entries):
        fbid = str(entry.get("media_fbid", "")) if isinstance(entry, dict) else ""
        photo = sb.state.photos.get(fbid)
        usable = (
            photo is not None
            and photo.page_id == page.page_id
            and not photo.deleted
            and not photo.published
            and photo.attached_to is None
        )
        if not usable:
            raise invalid_parameter(
                f"param attached_media[{index}] must be the id of an unpublished photo "
                "uploaded to this page"
            )
        photo_ids.append(fbid)
    return photo_ids


async def create_photo(sb: Sandbox, call: GraphCall, page: PageIdentity) -> dict[str, Any]:
    """``POST /{page-id}/photos``: ``{"id", "post_id"}`` when published, else ``{"id"}``."""
    params = call.params
    image = await photo_image(sb, call)
    published, scheduled = scheduling(sb, params)
    message = params.get("message") or params.get("caption") or None
    state = sb.state
    now = sb.now()
    photo = GraphPhoto(
        id=state.new_graph_id(),
        page_id=page.page_id,
        message=message,
        published=published,
        post_id=None,
        created_time=now,
        image=image,
        received_at=now,
        payload=payload_of(call),
    )
    state.photos[photo.id] = photo
    sb.touch()
    if not (published or scheduled):
        return {"id": photo.id}
    post = new_post(sb, call, page, message, None, published, scheduled, "added_photos")
    post.photo_ids = [photo.id]
    photo.post_id = post.id
    photo.attached_to = post.id
    if not published:
        # A scheduled photo answers like an unpublished one: only the photo id.
        return {"id": photo.id}
    return {"id": photo.id, "post_id": post.id}


async def photo_image(sb: Sandbox, call: GraphCall) -> dict[str, Any]:
    """Check the uploaded or fetched image; Graph answers (#324) when there is none."""
    upload = call.files.get("source")
    if upload is not None:
        kind = image_kind(upload.data)
        if kind not in PHOTO_KINDS:
            raise GraphError(324, "(#324) Missing or invalid image file")
        if len(upload.data) > MAX_PHOTO_BYTES:
            raise invalid_parameter(
                "Photos should be smaller than 4 MB and saved as JPG, PNG", subcode=1366046
            )
        return {"source": "upload", "kind": kind, "size": len(upload.data)}
    if isinstance(call.params.get("source"), str):
        raise GraphError(324, "(#324) Requires upload file")
    url = call.params.get("url")
    if not url:
        raise GraphError(324, "(#324) Requires upload file")
    # Meta downloads the image itself, so it must be reachable from the server.
    fetched = await fetch_image(
        str(url),
        max_bytes=MAX_PHOTO_BYTES,
        allowed=PHOTO_KINDS,
        timeout_s=sb.config.media_fetch_timeout_s,
    )
    if not fetched.ok:
        raise GraphError(324, "(#324) Missing or invalid image file")
    return {"source": "url", "url": url, "kind": fetched.kind, "size": fetched.size}


def edit_post(sb: Sandbox, call: GraphCall, post: GraphPost) -> dict[str, Any]:
    """``POST /{post-id}``: new message, new schedule time or publish now."""
    params = call.params
    changed = False
    if "message" in params:
        post.message = str(params["message"])
        changed = True
    if params.get("scheduled_publish_time") not in (None, ""):
        if post.is_published:
            raise invalid_parameter("A published post cannot be rescheduled")
        when = parse_schedule_time(params["scheduled_publish_time"])
        check_schedule_window(sb, when)
        post.scheduled_publish_time = when
        changed = True
    if as_bool(params.get("is_published"), False) and not post.is_published:
        now = sb.now()
        post.is_published = True
        post.published_at = now
        post.created_time = now
        changed = True
    if "is_hidden" in params:
        changed = True
    if not changed:
        raise invalid_parameter("No fields to update were given")
    post.updated_time = sb.now()
    post.edits.append({"at": sb.now(), "payload": payload_of(call)})
    sb.note_schedule(post)
    sb.touch()
    return {"success": True}

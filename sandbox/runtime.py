"""The live sandbox: config, clock, state, faults and meters shared by every API."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from sandbox.citizen_media import HostedMedia
from sandbox.clock import SimClock
from sandbox.config import OaIdentity, PageIdentity, SandboxConfig
from sandbox.faults import FaultBook
from sandbox.state import (
    GraphPost,
    RequestRecord,
    SandboxState,
    ZaloGrant,
    load_state,
    save_state,
)
from sandbox.usage import MinuteLimiter, RollingUsage
from sandbox.webhooks import WebhookDispatcher

log = logging.getLogger("sandbox")


@dataclass
class PageGrant:
    """What a page token may do now: its scopes, the admin's tasks, its expiry (0 = never).

    Starts from the page's config; the control API changes it at run time.
    """

    scopes: set[str]
    tasks: set[str]
    expires_at: float = 0.0


class GraphApp:
    """The Meta app's settings that the control API can change."""

    def __init__(self, config: SandboxConfig) -> None:
        self.require_appsecret_proof = config.graph_require_appsecret_proof
        #: The app passed App Review for the Human Agent feature (HUMAN_AGENT tag, 7 days).
        self.human_agent = config.graph_human_agent
        self.user_scopes = set(config.graph_user_scopes)
        self.page_grants = {
            p.page_id: PageGrant(set(p.scopes), set(p.tasks), p.token_expires_at)
            for p in config.pages
        }
        #: Zalo: permission groups each OA granted the app.
        self.zalo_groups = {o.oa_id: set(o.permissions) for o in config.oas}


class Sandbox:
    """One sandbox instance.  All access happens on the server's event loop (no locks needed)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = SimClock()
        self.faults = FaultBook(config.seed, config.faults)
        self.pages: dict[str, PageIdentity] = {p.page_id: p for p in config.pages}
        self.page_by_token: dict[str, PageIdentity] = {p.token: p for p in config.pages}
        self.oas: dict[str, OaIdentity] = {o.oa_id: o for o in config.oas}
        self.graph_usage = RollingUsage(config.graph_call_budget, config.graph_usage_window_s)
        self.zalo_limiter = MinuteLimiter(config.zalo_rate_limit_per_minute)
        self.app = GraphApp(config)
        self.state = self._initial_state()
        self._dirty = False
        #: Citizens' attachments served at expiring URLs (memory only: see citizen_media).
        self.citizen_media: dict[str, HostedMedia] = {}
        #: Webhook deliveries to the inbox receivers (platform rules registered by the app).
        self.webhooks = WebhookDispatcher(self)
        # Indexes over state.posts, rebuilt whenever the state is replaced (see _index_posts).
        self._posts_by_page: dict[str, list[GraphPost]] = {}
        self._unpublished_scheduled: set[str] = set()
        #: Zalo jobs being processed now (token -> the processing), so a verify and a list read
        #: arriving together finish a job once, with one outcome.
        self.zalo_processing: dict[str, asyncio.Task[None]] = {}
        if config.state_path:
            saved = load_state(config.state_path)
            if saved is not None:
                self.state = saved
                self._restore_clock(saved.clock)
                # OAs added to the config since the state was saved start at generation 0.
                for oa_id, grant in self._initial_state().grants.items():
                    self.state.grants.setdefault(oa_id, grant)
        self._index_posts()

    def _index_posts(self) -> None:
        self._posts_by_page = {}
        self._unpublished_scheduled = set()
        for post in self.state.posts.values():
            self._posts_by_page.setdefault(post.page_id, []).append(post)
            if post.scheduled_publish_time is not None and not post.is_published:
                self._unpublished_scheduled.add(post.id)

    def add_post(self, post: GraphPost) -> None:
        """Store a new Graph post (and index it)."""
        self.state.posts[post.id] = post
        self._posts_by_page.setdefault(post.page_id, []).append(post)
        self.note_schedule(post)
        self.touch()

    def note_schedule(self, post: GraphPost) -> None:
        """Track a post that waits for its scheduled time (call after scheduling changes)."""
        if post.scheduled_publish_time is not None and not post.is_published:
            self._unpublished_scheduled.add(post.id)
        else:
            self._unpublished_scheduled.discard(post.id)

    def posts_of(self, page_id: str) -> list[GraphPost]:
        """Every post of a page, deleted ones included, in creation order."""
        return self._posts_by_page.get(page_id, [])

    def _initial_state(self) -> SandboxState:
        state = SandboxState()
        now = self.clock.now()
        for oa in self.config.oas:
            state.grants[oa.oa_id] = ZaloGrant(
                oa_id=oa.oa_id, generation=0, refresh_token=oa.refresh_token, refresh_issued_at=now
            )
        return state

    def _restore_clock(self, saved: dict[str, Any]) -> None:
        # A frozen demo clock comes back frozen; a running one comes back at real time + offset.
        if saved.get("frozen"):
            self.clock.set(saved["epoch"], frozen=True)
        elif "offset" in saved:
            self.clock.set(self.clock.now() + saved["offset"])

    def reset(self, *, keep_clock: bool = False) -> None:
        """Forget everything that happened since start-up (identities and start-up faults stay)."""
        if not keep_clock:
            self.clock.reset()
        self.webhooks.cancel_all()
        self.state = self._initial_state()
        self._index_posts()
        self.faults.reset()
        self.app = GraphApp(self.config)
        self.graph_usage.reset()
        self.zalo_limiter.reset()
        self.touch()

    def now(self) -> float:
        """Simulated UNIX time."""
        return self.clock.now()

    def touch(self) -> None:
        """Note that the state changed (it is saved after the current request)."""
        self._dirty = True

    def save_if_dirty(self) -> None:
        """Persist the state to ``config.state_path`` when it changed."""
        if not (self._dirty and self.config.state_path):
            return
        self.state.clock = {
            "frozen": self.clock.frozen,
            "epoch": self.clock.now(),
            "offset": self.clock.now() - time.time(),
        }
        save_state(self.state, self.config.state_path)
        self._dirty = False

    def record_request(
        self,
        *,
        api: str,
        method: str,
        path: str,
        channel: str | None,
        status: int,
        error: int | None = None,
        fault: str | None = None,
    ) -> None:
        """Add a line to the request log (paths only: never tokens or bodies)."""
        self.state.log_request(
            RequestRecord(
                seq=self.state.request_count + 1,
                at=self.now(),
                api=api,
                method=method,
                path=path,
                channel=channel,
                status=status,
                error=error,
                fault=fault,
            )
        )
        self.touch()

    def publish_due_posts(self) -> list[str]:
        """Publish every scheduled Graph post whose time has come; return their ids."""
        now = self.now()
        published = []
        for post_id in sorted(self._unpublished_scheduled):
            post = self.state.posts[post_id]
            if post.is_published or post.deleted or post.scheduled_publish_time is None:
                self._unpublished_scheduled.discard(post_id)
                continue
            if post.scheduled_publish_time <= now:
                self._unpublished_scheduled.discard(post_id)
                when = float(post.scheduled_publish_time)
                post.is_published = True
                post.published_at = when
                # Graph shows a scheduled post's created_time as the time it went live.
                post.created_time = when
                post.updated_time = when
                for photo_id in post.photo_ids:
                    photo = self.state.photos.get(photo_id)
                    if photo is not None:
                        photo.published = True
                published.append(post.id)
        if published:
            self.touch()
        return published

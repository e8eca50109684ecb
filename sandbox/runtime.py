"""The live sandbox: config, clock, state, faults and meters shared by every API."""

from __future__ import annotations

import logging
import time
from typing import Any

from sandbox.clock import SimClock
from sandbox.config import OaIdentity, PageIdentity, SandboxConfig
from sandbox.faults import FaultBook
from sandbox.state import RequestRecord, SandboxState, ZaloGrant, load_state, save_state
from sandbox.usage import MinuteLimiter, RollingUsage

log = logging.getLogger("sandbox")


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
        self.state = self._initial_state()
        self._dirty = False
        if config.state_path:
            saved = load_state(config.state_path)
            if saved is not None:
                self.state = saved
                self._restore_clock(saved.clock)
                # OAs added to the config since the state was saved start at generation 0.
                for oa_id, grant in self._initial_state().grants.items():
                    self.state.grants.setdefault(oa_id, grant)

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
        self.state = self._initial_state()
        self.faults.reset()
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
        for post in self.state.posts.values():
            due = post.scheduled_publish_time is not None and post.scheduled_publish_time <= now
            if not post.is_published and not post.deleted and due:
                assert post.scheduled_publish_time is not None
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

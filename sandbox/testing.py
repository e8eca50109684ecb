"""Start a sandbox on a free loopback port for a test, and drive it through its control API.

with running_sandbox(seed=7, verify_pending_polls=1) as sb:
    httpx.post(f"{sb.graph_url}/v26.0/{page}/feed", data={...})
    sb.advance_clock(3600)
    sb.posts()
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from sandbox.config import SandboxConfig, build_config, with_options
from sandbox.server import base_urls, bind_socket, make_server
from sandbox.zalo_broadcast import NIGHT_END_HOUR, is_night
from sandbox.zalo_common import office_time

START_TIMEOUT_S = 10.0


class SandboxControlError(RuntimeError):
    """The control API refused a request (e.g. a fault spec with an unknown field)."""


@dataclass
class SandboxHandle:
    """A running sandbox: its URLs and a small control API (plain httpx, synchronous)."""

    url: str
    config: SandboxConfig
    graph_url: str = ""
    zalo_url: str = ""
    zalo_oauth_url: str = ""
    control_url: str = ""
    _client: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        urls = base_urls(self.url)
        self.graph_url = urls["graph"]
        self.zalo_url = urls["zalo"]
        self.zalo_oauth_url = urls["zalo_oauth"]
        self.control_url = urls["control"]
        self._client = httpx.Client(base_url=self.control_url, timeout=10.0, trust_env=False)

    def close(self) -> None:
        """Close the control client."""
        self._client.close()

    def _call(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        response = self._client.request(
            method, path, json=json, params={k: v for k, v in params.items() if v is not None}
        )
        if response.is_error:
            raise SandboxControlError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    # identities ------------------------------------------------------------
    def page_token(self, page_id: str | None = None) -> str:
        """The page token of ``page_id`` (default: the first page)."""
        pages = {p.page_id: p.token for p in self.config.pages}
        return pages[page_id or self.config.pages[0].page_id]

    @property
    def page_ids(self) -> list[str]:
        """Every page id, demo pages first."""
        return [p.page_id for p in self.config.pages]

    @property
    def oa_ids(self) -> list[str]:
        """Every OA id, demo OAs first."""
        return [o.oa_id for o in self.config.oas]

    @property
    def user_token(self) -> str:
        """The Graph user token (admin of every page; cannot publish as a page)."""
        return self.config.graph_user_token

    @property
    def zalo_app_id(self) -> str:
        """The Zalo app id."""
        return self.config.zalo_app_id

    @property
    def zalo_app_secret(self) -> str:
        """The Zalo app secret (sent in the ``secret_key`` header)."""
        return self.config.zalo_app_secret

    def tokens(self) -> dict[str, Any]:
        """Live tokens, including each OA's current Zalo pair."""
        return self._call("GET", "/tokens")

    def refresh_token(self, oa_id: str | None = None) -> str:
        """The refresh token an OA accepts right now."""
        oa_id = oa_id or self.oa_ids[0]
        return self.tokens()["zalo"]["oas"][oa_id]["refresh_token"]

    def zalo_access_token(self, oa_id: str | None = None) -> str:
        """Refresh ``oa_id``'s grant through the real token endpoint; return the access token."""
        oa_id = oa_id or self.oa_ids[0]
        response = self._client.post(
            f"{self.zalo_oauth_url}/v4/oa/access_token",
            data={
                "app_id": self.zalo_app_id,
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token(oa_id),
            },
            headers={"secret_key": self.zalo_app_secret},
        )
        return response.json()["access_token"]

    def expire_access_token(self, oa_id: str | None = None) -> float:
        """Make ``oa_id``'s access token expire now (its next call answers -220)."""
        body = {"oa_id": oa_id or self.oa_ids[0]}
        return float(self._call("POST", "/zalo/expire", json=body)["access_expires_at"])

    def consent(self, oa_id: str | None = None, code_challenge: str | None = None) -> str:
        """An authorization code, as if the OA's admin approved the app."""
        body = {"oa_id": oa_id or self.oa_ids[0], "code_challenge": code_challenge}
        return self._call("POST", "/zalo/consent", json=body)["code"]

    # permissions -----------------------------------------------------------
    def require_appsecret_proof(self, required: bool = True) -> dict[str, Any]:
        """Switch the Meta app's "Require App Secret" on (or off)."""
        return self._call("PUT", "/graph/app", json={"require_appsecret_proof": required})

    def set_user_scopes(self, scopes: list[str]) -> dict[str, Any]:
        """The permissions of the Graph user token."""
        return self._call("PUT", "/graph/app", json={"user_scopes": scopes})

    def set_page_grant(
        self,
        page_id: str | None = None,
        *,
        scopes: list[str] | None = None,
        tasks: list[str] | None = None,
        expires_at: float | None = None,
    ) -> dict[str, Any]:
        """What ``page_id``'s token may do: its scopes, the admin's tasks, its expiry (0 =
        never); arguments left None stay as they are."""
        body: dict[str, Any] = {}
        if scopes is not None:
            body["scopes"] = scopes
        if tasks is not None:
            body["tasks"] = tasks
        if expires_at is not None:
            body["expires_at"] = expires_at
        return self._call("PUT", f"/graph/pages/{page_id or self.page_ids[0]}", json=body)

    def set_zalo_permissions(self, groups: list[str], oa_id: str | None = None) -> dict[str, Any]:
        """The permission groups ``oa_id`` granted the app (article, message, ...)."""
        return self._call(
            "PUT", f"/zalo/permissions/{oa_id or self.oa_ids[0]}", json={"groups": groups}
        )

    @property
    def graph_app_secret(self) -> str:
        """The Meta app's secret (the key of ``appsecret_proof``)."""
        return self.config.graph_app_secret

    # faults ----------------------------------------------------------------
    def set_faults(self, channel: str = "*", **spec: Any) -> dict[str, Any]:
        """Replace the faults of ``channel`` (page id, OA id or ``"*"``); see FaultSpec."""
        return self._call("PUT", f"/faults/{channel}", json=spec)

    def clear_faults(self, channel: str | None = None) -> None:
        """Remove one channel's faults, or all of them."""
        if channel is None:
            self._call("DELETE", "/faults")
        else:
            self._call("DELETE", f"/faults/{channel}")

    # clock -----------------------------------------------------------------
    def clock(self) -> dict[str, Any]:
        """``{"now": iso, "epoch": s, "frozen": bool}``."""
        return self._call("GET", "/clock")

    def now(self) -> float:
        """Simulated UNIX time."""
        return float(self.clock()["epoch"])

    def set_clock(self, when: str | float, *, frozen: bool = True) -> dict[str, Any]:
        """Jump to ``when`` (ISO 8601 or UNIX seconds); frozen there unless ``frozen=False``."""
        return self._call("POST", "/clock", json={"set": when, "frozen": frozen})

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move simulated time forward (scheduled posts due by then get published)."""
        return self._call("POST", "/clock", json={"advance": seconds})

    # inspection ------------------------------------------------------------
    def posts(self, page_id: str | None = None) -> list[dict[str, Any]]:
        """Graph posts received (payload, times, engagement now)."""
        return self._call("GET", "/posts", page_id=page_id)["posts"]

    def photos(self, page_id: str | None = None) -> list[dict[str, Any]]:
        """Graph photos received."""
        return self._call("GET", "/photos", page_id=page_id)["photos"]

    def articles(self, oa_id: str | None = None, *, settle: bool = False) -> dict[str, Any]:
        """``{"articles": [...], "jobs": [...]}`` for Zalo.

        ``settle`` first finishes the jobs still processing (as Zalo would on its own), so an
        accepted create whose answer was lost is listed among the articles.
        """
        return self._call("GET", "/articles", oa_id=oa_id, settle=1 if settle else None)

    def uploads(self) -> list[dict[str, Any]]:
        """Zalo image uploads."""
        return self._call("GET", "/uploads")["uploads"]

    def broadcasts(self, oa_id: str | None = None) -> dict[str, Any]:
        """``{"broadcasts": [...], "reached": {oa_id: n}, "per_article": {article_id: n}}``."""
        return self._call("GET", "/broadcasts", oa_id=oa_id)

    def out_of_night_ban(self, *, margin_hours: float = 2.0) -> bool:
        """Move the clock (running) to 07:00 office time when Zalo's night ban is on or
        starts within ``margin_hours``, so broadcasts are accepted during a run.

        Only ever forward: an earlier clock would date new posts and articles before the
        caller's own clock, and look-ups that stop at "created before the first attempt"
        would stop too soon. Returns whether the clock moved.
        """
        now = self.now()
        later = now + margin_hours * 3600
        if not (is_night(now) or is_night(later)):
            return False
        local = office_time(now)
        morning = local.replace(hour=NIGHT_END_HOUR + 1, minute=0, second=0, microsecond=0)
        if morning <= local:
            morning += timedelta(days=1)
        self.set_clock(morning.timestamp(), frozen=False)
        return True

    def received(self) -> list[dict[str, Any]]:
        """Everything published, in arrival order."""
        return self._call("GET", "/received")["received"]

    def requests(self, limit: int = 200) -> dict[str, Any]:
        """``{"summary": counts, "log": [...]}``."""
        return self._call("GET", "/requests", limit=limit)

    def reset(self, *, keep_clock: bool = False) -> None:
        """Forget everything since start-up (faults back to start-up ones, clock to real)."""
        self._call("POST", "/reset", json={"keep_clock": keep_clock})

    # citizens and webhooks (sandbox/README.md, "Citizens and webhooks") -----
    def subscribe_graph_webhook(
        self,
        callback_url: str,
        verify_token: str,
        *,
        fields: list[str] | None = None,
        pages: list[str] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Register the Meta app's callback (Meta's GET handshake runs first) and install the
        app on ``pages`` (default: every page) for ``fields`` (default feed and messages)."""
        body = {
            "callback_url": callback_url,
            "verify_token": verify_token,
            "fields": fields or ["feed", "messages"],
            "pages": self.page_ids if pages is None else pages,
            **options,
        }
        return self._call("PUT", "/graph/webhook", json=body)

    def subscribe_zalo_webhook(self, url: str, **options: Any) -> dict[str, Any]:
        """Register (or re-enable) the Zalo app's webhook URL; answers the OA secret keys."""
        return self._call("PUT", "/zalo/webhook", json={"url": url, **options})

    def graph_webhook(self) -> dict[str, Any]:
        """The Meta webhook, each Page's subscribed fields and failure state."""
        return self._call("GET", "/graph/webhook")

    def zalo_webhook(self) -> dict[str, Any]:
        """The Zalo webhook (``enabled``, why it was disabled) and the OA secret keys."""
        return self._call("GET", "/zalo/webhook")

    def citizen_comment(
        self, citizen: str, post_id: str, message: str, **extra: Any
    ) -> dict[str, Any]:
        """A citizen comments on a published post (``parent_id=`` to reply to a comment)."""
        body = {"citizen": citizen, "post_id": post_id, "message": message, **extra}
        return self._call("POST", "/graph/comment", json=body)

    def change_comment(
        self, comment_id: str, verb: str, message: str | None = None
    ) -> dict[str, Any]:
        """The citizen edits (``edited``, with ``message``) or removes (``remove``) his
        comment, or the Page hides (``hide``) or unhides it: the ``feed`` change is delivered."""
        body = {"comment_id": comment_id, "verb": verb, "message": message}
        return self._call("POST", "/graph/comment/change", json=body)

    def citizen_messenger(self, citizen: str, page_id: str, **content: Any) -> dict[str, Any]:
        """A citizen writes to a Page in Messenger: ``text=``, ``image=``, ``location=``."""
        return self._call(
            "POST", "/graph/message", json={"citizen": citizen, "page_id": page_id, **content}
        )

    def citizen_zalo(
        self, citizen: str, oa_id: str, text: str | None = None, **content: Any
    ) -> dict[str, Any]:
        """A citizen writes to an OA: ``type=`` text (default), image, location, sticker..."""
        body = {"citizen": citizen, "oa_id": oa_id, **content}
        if text is not None:
            body["text"] = text
        return self._call("POST", "/zalo/message", json=body)

    def zalo_event(
        self, action: str, citizen: str, oa_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """``follow``, ``unfollow``, ``submit_info``, ``chatnow`` or ``withdraw``."""
        body: dict[str, Any] = {"citizen": citizen, **extra}
        if oa_id is not None:
            body["oa_id"] = oa_id
        return self._call("POST", f"/zalo/{action}", json=body)

    def citizens(self) -> list[dict[str, Any]]:
        """Every citizen with their ids."""
        return self._call("GET", "/citizens")["citizens"]

    def citizen(self, handle: str, **changes: Any) -> dict[str, Any]:
        """One citizen (created if needed); ``changes`` set ``name``, ``blocked``,
        ``inactive``, ``minor``."""
        return self._call("PUT", f"/citizens/{handle}", json=changes)

    def set_human_agent(self, enabled: bool = True) -> dict[str, Any]:
        """Whether the Meta app has the Human Agent feature (HUMAN_AGENT tag to 7 days)."""
        return self._call("PUT", "/graph/app", json={"human_agent": enabled})

    def run_webhooks(self) -> list[dict[str, Any]]:
        """Start the retries due by the simulated clock and wait for every delivery in
        flight; the attempts made meanwhile."""
        return self._call("POST", "/webhooks/run")["attempts"]

    def deliveries(
        self, platform: str | None = None, channel: str | None = None, state: str | None = None
    ) -> list[dict[str, Any]]:
        """Webhook deliveries with their attempts, oldest first."""
        return self._call(
            "GET", "/webhooks/deliveries", platform=platform, channel=channel, state=state
        )["deliveries"]

    def duplicate_delivery(self, delivery: str) -> str:
        """Send a delivery's exact request again (as Meta sometimes does); the new id."""
        return self._call("POST", "/webhooks/duplicate", json={"delivery": delivery})["delivery"]

    def sent(
        self, platform: str | None = None, channel: str | None = None, kind: str | None = None
    ) -> list[dict[str, Any]]:
        """What Pages and OAs sent (accepted or refused), in order."""
        return self._call("GET", "/sent", platform=platform, channel=channel, kind=kind)["sent"]


@contextmanager
def running_sandbox(config: SandboxConfig | None = None, **options: Any) -> Iterator[SandboxHandle]:
    """Run a sandbox on 127.0.0.1 (a free port) in a background thread for the block's duration.

    ``options`` are :func:`sandbox.config.build_config` arguments (``seed``, ``pages``, ``oas``,
    ``faults``, ``graph_call_budget``, ...) or, with ``config``, fields to override.
    """
    if config is None:
        config = build_config(**options)
    elif options:
        config = with_options(config, **options)
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = make_server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox:{port}", daemon=True
    )
    thread.start()
    handle = SandboxHandle(url=f"http://127.0.0.1:{port}", config=config)
    try:
        _wait_until_up(server, thread, handle)
        yield handle
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        handle.close()
        sock.close()


def _wait_until_up(server: Any, thread: threading.Thread, handle: SandboxHandle) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.005)
    handle.clock()  # it answers


@asynccontextmanager
async def async_running_sandbox(
    config: SandboxConfig | None = None, **options: Any
) -> AsyncIterator[SandboxHandle]:
    """:func:`running_sandbox` for ``async with`` (the server still runs on its own thread)."""
    with running_sandbox(config, **options) as handle:
        yield handle

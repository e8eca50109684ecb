"""Who exists in the sandbox: pages, OAs, apps, their tokens, and the knobs of its rules.

Everything secret is derived from the seed so that a restarted sandbox (or a test that only knows
the seed) hands out the same tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sandbox.faults import FaultSpec

DEFAULT_SEED = 2026

DEMO_PAGES = (("100000000000001", "Công an tỉnh Demo"), ("100000000000002", "Công an phường 1"))
DEMO_OAS = (
    ("4300000000000000001", "Công an tỉnh Demo"),
    ("4300000000000000002", "Công an phường 1"),
)
DEMO_ZALO_APP_ID = "3100000000000000001"
DEMO_GRAPH_APP_ID = "1500000000000001"

#: Permissions (scopes) a sandbox Page token carries unless configured otherwise: the family
#: Postiz and Mixpost request (docs/platforms/facebook-graph.md#permissions-and-tasks), and the
#: inbox's.
GRAPH_SCOPES = (
    "pages_show_list",
    "business_management",
    "pages_manage_posts",
    "pages_manage_engagement",
    "pages_read_engagement",
    "read_insights",
    "public_profile",
    # The inbox (docs/platforms/facebook-graph.md#permissions-and-tasks): webhooks, comment bodies,
    # Messenger.
    "pages_manage_metadata",
    "pages_read_user_content",
    "pages_messaging",
)
#: Page tasks of the admin behind a token (docs/platforms/facebook-graph.md#tokens).
PAGE_TASKS = ("ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE")
#: Zalo OA permission groups (docs/platforms/zalo-oa.md#permission-groups):
#: article = "Quản lý bài viết", message = "Quyền gửi tin nhắn" (CS messages, uploads),
#: conversation = "Quyền quản lý tin nhắn người dùng", oa_info = "Quyền quản lý thông tin OA".
ZALO_PERMISSION_GROUPS = ("article", "message", "conversation", "oa_info")


def derive_secret(seed: int | str, purpose: str, length: int = 64) -> str:
    """A deterministic hex secret for ``purpose`` under ``seed`` (same seed -> same secret)."""
    digest = hmac.new(f"loa-sandbox:{seed}".encode(), purpose.encode(), hashlib.sha256)
    out = digest.hexdigest()
    while len(out) < length:
        digest = hmac.new(digest.digest(), purpose.encode(), hashlib.sha256)
        out += digest.hexdigest()
    return out[:length]


@dataclass(frozen=True)
class PageIdentity:
    """A Facebook Page the sandbox hosts; its page token never expires (like a real one)."""

    page_id: str
    name: str
    token: str
    followers: int = 1500
    category: str = "Government organization"
    #: Permissions the page token was granted, and the tasks of the admin it came from.
    scopes: tuple[str, ...] = GRAPH_SCOPES
    tasks: tuple[str, ...] = PAGE_TASKS
    #: When the page token expires (UNIX seconds); 0 = never, like one from a long-lived token.
    token_expires_at: float = 0.0


@dataclass(frozen=True)
class OaIdentity:
    """A Zalo Official Account; ``refresh_token`` is the grant it accepts on first use."""

    oa_id: str
    name: str
    refresh_token: str
    followers: int = 1200
    # Follower receive caps: at most 1 broadcast a day and this many a month (package "Nâng cao").
    monthly_broadcast_cap: int = 4
    # Articles that may be created per calendar month (one source says 15 for small packages).
    monthly_article_quota: int = 15
    package_name: str = "Gói Nâng cao"
    is_verified: bool = True
    #: Permission groups the OA granted the app on consent (see ZALO_PERMISSION_GROUPS).
    permissions: tuple[str, ...] = ZALO_PERMISSION_GROUPS


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox starts from; all fields have demo-friendly defaults.

    ``faults`` maps a channel id (page id, OA id, or ``"*"`` for every channel without its own
    entry) to the faults injected on that channel.
    """

    seed: int = DEFAULT_SEED
    pages: tuple[PageIdentity, ...] = ()
    oas: tuple[OaIdentity, ...] = ()
    graph_app_id: str = DEMO_GRAPH_APP_ID
    graph_app_secret: str = ""
    graph_user_token: str = ""
    graph_user_id: str = "10000000000000099"
    #: Permissions of the user token (an admin of every page).
    graph_user_scopes: tuple[str, ...] = GRAPH_SCOPES
    #: The app's "Require App Secret" setting: every call with a user or page token must carry
    #: a valid ``appsecret_proof``. A proof that is sent is checked either way.
    graph_require_appsecret_proof: bool = False
    #: The app has the Human Agent feature (App Review): HUMAN_AGENT-tagged Messenger replies
    #: are accepted up to 7 days after the citizen's last message
    #: (docs/platforms/facebook-graph.md#the-24-hour-window).
    graph_human_agent: bool = False
    zalo_app_id: str = DEMO_ZALO_APP_ID
    zalo_app_secret: str = ""
    # Graph usage: calls allowed per bucket (page or app) in the rolling window, then throttling.
    # Small on purpose so that tests reach high usage in a handful of calls.
    graph_call_budget: int = 200
    graph_usage_window_s: float = 3600.0
    # Zalo: calls per app per (simulated) minute before -32.
    zalo_rate_limit_per_minute: int = 4000
    # How many article/verify polls answer -214 "being processed" before the job completes.
    verify_pending_polls: int = 2
    access_token_lifetime_s: int = 90_000
    refresh_token_lifetime_s: int = 90 * 24 * 3600
    media_fetch_timeout_s: float = 5.0
    faults: dict[str, FaultSpec] = field(default_factory=dict)
    # Directory served under /media (Loa's public media store in the demo), if any.
    media_dir: str | None = None
    # JSON file the state is saved to after every change, and loaded from at start.
    state_path: str | None = None

    def __post_init__(self) -> None:
        # Fill derived secrets so a config built from only a seed is complete.
        if not self.pages:
            object.__setattr__(self, "pages", make_pages(self.seed, DEMO_PAGES))
        if not self.oas:
            object.__setattr__(self, "oas", make_oas(self.seed, DEMO_OAS))
        if not self.graph_app_secret:
            secret = derive_secret(self.seed, f"graph-app-secret:{self.graph_app_id}", 32)
            object.__setattr__(self, "graph_app_secret", secret)
        if not self.graph_user_token:
            token = "EAAU" + derive_secret(self.seed, f"graph-user:{self.graph_user_id}", 120)
            object.__setattr__(self, "graph_user_token", token)
        if not self.zalo_app_secret:
            secret = derive_secret(self.seed, f"zalo-app-secret:{self.zalo_app_id}", 20)
            object.__setattr__(self, "zalo_app_secret", secret)

    @property
    def graph_app_token(self) -> str:
        """The app token ``{app_id}|{app_secret}`` (for /debug_token)."""
        return f"{self.graph_app_id}|{self.graph_app_secret}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description that :func:`config_from_dict` turns back into this config."""
        data = asdict(self)
        data["faults"] = {key: spec.to_dict() for key, spec in self.faults.items()}
        return data


def page_token(seed: int | str, page_id: str) -> str:
    """The never-expiring page token of ``page_id`` under ``seed``."""
    return "EAAP" + derive_secret(seed, f"graph-page:{page_id}", 120)


def initial_refresh_token(seed: int | str, oa_id: str) -> str:
    """The refresh token an OA accepts on first use (generation 0 of its rotation)."""
    return zalo_token(seed, oa_id, "refresh", 0)


def zalo_token(seed: int | str, oa_id: str, kind: str, generation: int) -> str:
    """Generation ``generation`` of an OA's ``kind`` ("access" or "refresh") token."""
    return derive_secret(seed, f"zalo-{kind}:{oa_id}:{generation}", 160 if kind == "access" else 96)


def make_pages(seed: int | str, pages: Any) -> tuple[PageIdentity, ...]:
    """Pages from ``(page_id, name)`` pairs, with tokens derived from the seed."""
    return tuple(PageIdentity(pid, name, page_token(seed, pid)) for pid, name in pages)


def make_oas(seed: int | str, oas: Any) -> tuple[OaIdentity, ...]:
    """OAs from ``(oa_id, name)`` pairs, with initial refresh tokens derived from the seed."""
    return tuple(OaIdentity(oid, name, initial_refresh_token(seed, oid)) for oid, name in oas)


def numbered_pages(count: int) -> list[tuple[str, str]]:
    """``count`` page ids/names, starting with the two demo pages (for benchmarks)."""
    out = list(DEMO_PAGES[:count])
    for n in range(len(out) + 1, count + 1):
        out.append((str(100000000000000 + n), f"Công an xã {n}"))
    return out


def numbered_oas(count: int) -> list[tuple[str, str]]:
    """``count`` OA ids/names, starting with the two demo OAs (for benchmarks)."""
    out = list(DEMO_OAS[:count])
    for n in range(len(out) + 1, count + 1):
        out.append((str(4300000000000000000 + n), f"Công an xã {n}"))
    return out


def build_config(
    *,
    seed: int = DEFAULT_SEED,
    pages: int | list[tuple[str, str]] | None = None,
    oas: int | list[tuple[str, str]] | None = None,
    **options: Any,
) -> SandboxConfig:
    """A config from a short description: a seed, page/OA counts or ``(id, name)`` lists, knobs.

    ``faults`` may be given as plain dicts (``{"100000000000001": {"error_rate": 0.2}}``).
    """
    if isinstance(pages, int):
        pages = numbered_pages(pages)
    if isinstance(oas, int):
        oas = numbered_oas(oas)
    if "faults" in options:
        options["faults"] = {
            key: spec if isinstance(spec, FaultSpec) else FaultSpec.from_dict(spec)
            for key, spec in options["faults"].items()
        }
    known = {f.name for f in fields(SandboxConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown sandbox option(s): {', '.join(unknown)}")
    return SandboxConfig(
        seed=seed,
        pages=make_pages(seed, pages) if pages else (),
        oas=make_oas(seed, oas) if oas else (),
        **options,
    )


def config_from_dict(data: dict[str, Any]) -> SandboxConfig:
    """The inverse of :meth:`SandboxConfig.to_dict` (also accepts hand-written partial JSON)."""
    data = dict(data)
    seed = data.get("seed", DEFAULT_SEED)
    # Counts are a short way to ask for many channels (benchmarks): {"pages": 50, "oas": 50}.
    if isinstance(data.get("pages"), int):
        data["pages"] = [
            {"page_id": pid, "name": name} for pid, name in numbered_pages(data["pages"])
        ]
    if isinstance(data.get("oas"), int):
        data["oas"] = [{"oa_id": oid, "name": name} for oid, name in numbered_oas(data["oas"])]
    if "pages" in data and data["pages"] and isinstance(data["pages"], list):
        data["pages"] = tuple(
            PageIdentity(**{"token": page_token(seed, p["page_id"]), **_tuples(p)})
            for p in data["pages"]
        )
    if "oas" in data and data["oas"] and isinstance(data["oas"], list):
        data["oas"] = tuple(
            OaIdentity(**{"refresh_token": initial_refresh_token(seed, o["oa_id"]), **_tuples(o)})
            for o in data["oas"]
        )
    if isinstance(data.get("graph_user_scopes"), list):
        data["graph_user_scopes"] = tuple(data["graph_user_scopes"])
    if "faults" in data:
        data["faults"] = {k: FaultSpec.from_dict(v) for k, v in data["faults"].items()}
    return SandboxConfig(**data)


def _tuples(item: dict[str, Any]) -> dict[str, Any]:
    """JSON lists as tuples (identities are frozen and compared)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}


def load_config_file(path: str | Path) -> SandboxConfig:
    """Read a JSON config description (see :func:`config_from_dict`)."""
    return config_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def with_options(config: SandboxConfig, **options: Any) -> SandboxConfig:
    """A copy of ``config`` with some fields replaced."""
    return replace(config, **options)

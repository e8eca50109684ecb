"""The demo identities as environment variables, matching the repository's channels.toml."""

from __future__ import annotations

from sandbox.config import DEFAULT_SEED, SandboxConfig

# channels.toml references these names; values are what a sandbox with the same seed accepts.
DEMO_ENV_NAMES = (
    "LOA_TOKEN_TINH_FB",
    "LOA_TOKEN_PHUONG1_FB",
    "LOA_ZALO_APP_SECRET",
    "LOA_REFRESH_TINH_ZALO",
    "LOA_REFRESH_PHUONG1_ZALO",
)


def demo_environment(seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Env var values for channels.toml's demo channels against a sandbox started with ``seed``.

    The Zalo refresh tokens are the first of each OA's rotation: they work once, on a fresh
    sandbox (or one whose saved state has not rotated them yet).
    """
    config = SandboxConfig(seed=seed)
    pages = {p.page_id: p.token for p in config.pages}
    oas = {o.oa_id: o.refresh_token for o in config.oas}
    return {
        "LOA_TOKEN_TINH_FB": pages["100000000000001"],
        "LOA_TOKEN_PHUONG1_FB": pages["100000000000002"],
        "LOA_ZALO_APP_SECRET": config.zalo_app_secret,
        "LOA_REFRESH_TINH_ZALO": oas["4300000000000000001"],
        "LOA_REFRESH_PHUONG1_ZALO": oas["4300000000000000002"],
    }

"""Graph API versions as the real Graph serves them (docs/platforms/facebook-graph.md#versions).

A version is *live* from its release date to its end date (by the sandbox's simulated clock).
A call naming an expired version is served by the oldest live version, silently: the
``facebook-api-version`` header names the version that actually served it. A name Graph never
had (``v99.0``, ``v2.13``, or a version not yet released at the simulated time) answers
code 2500 "Unknown path components", as the real Graph does for a mistyped version
(arsduo/koala#611). Unversioned calls are served by the oldest live version (an app's default
version is moved up when it expires).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.graph_errors import GraphError


def _day(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


#: Release dates as Meta publishes them (v21.0 on, docs/platforms/facebook-graph.md#versions); older
#: ones only need to exist and be expired.
RELEASED: dict[str, float] = {
    "v20.0": _day("2024-05-21"),
    "v21.0": _day("2024-10-02"),
    "v22.0": _day("2025-01-21"),
    "v23.0": _day("2025-05-29"),
    "v24.0": _day("2025-10-08"),
    "v25.0": _day("2026-02-18"),
    "v26.0": _day("2026-07-29"),
}
#: End dates: v20.0, v21.0 and v25.0 as Meta publishes them; the others by the rule those follow
#: (the next version's release + 2 years). v26.0 has no end date yet.
ENDS: dict[str, float] = {
    "v20.0": _day("2026-09-24"),
    "v21.0": _day("2027-01-21"),
    "v22.0": _day("2027-05-29"),
    "v23.0": _day("2027-10-08"),
    "v24.0": _day("2028-02-18"),
    "v25.0": _day("2028-07-29"),
}
#: Versions Graph had before v20.0, all ended by now.
HISTORIC = (
    ["v1.0"]
    + [f"v2.{n}" for n in range(13)]
    + [f"v3.{n}" for n in range(4)]
    + [f"v{n}.0" for n in range(4, 20)]
)


def is_known(version: str, now: float) -> bool:
    """Whether Graph has (or had) ``version`` at ``now``."""
    if version in HISTORIC:
        return True
    released = RELEASED.get(version)
    return released is not None and released <= now


def live_versions(now: float) -> list[str]:
    """Versions served as themselves at ``now``, oldest first."""
    live = [v for v, released in RELEASED.items() if released <= now and ENDS.get(v, now + 1) > now]
    return sorted(live, key=lambda v: RELEASED[v])


def oldest_live(now: float) -> str:
    """The version expired and unversioned calls are served with."""
    live = live_versions(now)
    return live[0] if live else max(RELEASED, key=lambda v: RELEASED[v])


def serve_version(requested: str | None, path: list[str], now: float) -> str:
    """The version that serves a call naming ``requested`` (None: unversioned).

    Raises the code-2500 error for a version Graph does not know at ``now``.
    """
    if requested is None:
        return oldest_live(now)
    if not is_known(requested, now):
        raise GraphError(2500, "Unknown path components: /" + "/".join(path))
    if requested in live_versions(now):
        return requested
    return oldest_live(now)

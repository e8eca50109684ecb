"""The Graph API version calendar (docs/platforms/facebook-graph.md#versions).

Meta keeps a version for about two years after the next one comes out. A call naming an
expired version does not fail: Meta serves it with the oldest live version instead, so a Page
whose pinned version lapses changes behaviour without any error. Loa therefore warns
:data:`WARN_BEFORE` ahead of its version's end date (``loa doctor`` and the alert digest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

#: Warn this long before the configured version's end date.
WARN_BEFORE = timedelta(days=60)

#: Release dates as Meta publishes them (docs/platforms/facebook-graph.md#versions).
RELEASED = {
    "v21.0": date(2024, 10, 2),
    "v22.0": date(2025, 1, 21),
    "v23.0": date(2025, 5, 29),
    "v24.0": date(2025, 10, 8),
    "v25.0": date(2026, 2, 18),
    "v26.0": date(2026, 7, 29),
}
#: End dates. v20.0, v21.0 and v25.0 are Meta's (docs/platforms/facebook-graph.md#versions); the
#: others follow the rule those two obey (the next version's release + 2 years). v26.0 has no
#: successor yet.
ENDS = {
    "v20.0": date(2026, 9, 24),
    "v21.0": date(2027, 1, 21),
    "v22.0": date(2027, 5, 29),
    "v23.0": date(2027, 10, 8),
    "v24.0": date(2028, 2, 18),
    "v25.0": date(2028, 7, 29),
}


@dataclass(frozen=True)
class VersionNotice:
    """What Loa has to say about a configured version on a given day."""

    version: str
    #: The version's end date, when the calendar knows it.
    ends: date | None
    #: True once the end date has passed (Meta already serves another version).
    expired: bool
    #: The newest version the calendar knows.
    newest: str

    def text(self) -> str:
        """One line for a person: what happens and when."""
        if self.expired:
            return (
                f"Graph API {self.version} ended on {self.ends}; Meta now answers with the "
                "oldest live version instead"
            )
        return f"Graph API {self.version} ends on {self.ends}"

    def advice(self) -> str:
        """What to do about it."""
        return (
            f'set graph_version = "{self.newest}" for this channel in channels.toml (or remove '
            "the key to use Loa's default), then run `loa doctor`"
        )


def newest_version() -> str:
    """The newest version the calendar knows."""
    return max(RELEASED, key=lambda v: RELEASED[v])


def end_date(version: str) -> date | None:
    """When ``version`` stops being served (None: not known / no successor yet)."""
    if version in ENDS:
        return ENDS[version]
    major = _major(version)
    if major is not None and major < 20:
        # Everything before v20.0 ended before v20.0 did.
        return ENDS["v20.0"]
    return None


def notice(version: str, today: date) -> VersionNotice | None:
    """A notice when ``version`` ends within :data:`WARN_BEFORE` of ``today`` (or has ended)."""
    ends = end_date(version)
    if ends is None or today < ends - WARN_BEFORE:
        return None
    return VersionNotice(version, ends, today >= ends, newest_version())


def _major(version: str) -> int | None:
    try:
        return int(version.lstrip("v").split(".")[0])
    except ValueError:
        return None

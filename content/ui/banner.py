"""The bar under every screen's header that says, in words, when posts are not going out.

A post due 23:09 with no daemon running still read "scheduled" at 23:16 and the header
looked fine. The bar is hidden while all is well and coloured when not, so an officer
cannot miss it; it names each problem with its count and the key that lists the posts.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from textual.widgets import Static

from content.health import FAILED, LATE, NEEDS_REVIEW, NO_DAEMON, PAUSED, Health
from content.ui.fmt import when
from content.ui.i18n import _, ngettext

#: Problems that colour the bar red: posts are not going out. The others (to check by
#: hand, a paused channel) are yellow: someone must act, but nothing is silently stuck.
URGENT = frozenset({NO_DAEMON, LATE, FAILED})


def since_text(since: datetime, now: datetime, tz: ZoneInfo) -> str:
    """``23:09`` today (office time), else the full date and time."""
    local = since.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return local.strftime("%H:%M")
    return when(since, tz)


def _key(key: str) -> str:
    """``key L``: the key that lists the posts, in words an untrained officer follows."""
    return _("key {key}").format(key=key)


def banner_text(health: Health | None, tz: ZoneInfo) -> str:
    """What the bar says about ``health`` in the current language; "" when all is well.

    One line at 80 columns for the usual cases: most urgent first, each count followed by
    the key that lists those posts in the queue (L for late, ! for failed and to check).
    """
    if health is None or health.healthy:
        return ""
    parts: list[str] = []
    daemon = health.problem(NO_DAEMON)
    if daemon is not None:
        since = daemon.params.get("since")
        parts.append(
            _("Publishing stopped at {time}: tell the administrator").format(
                time=since_text(since, health.checked_at, tz)
            )
            if since
            else _("Publishing is not running: tell the administrator")
        )
    late = health.problem(LATE)
    if late is not None:
        # Posts, not deliveries: the L list shows posts, one row each.
        n = late.params["posts"]
        parts.append(ngettext("{n} post late", "{n} posts late", n).format(n=n) + f" ({_key('L')})")
    checks = []
    for code in (FAILED, NEEDS_REVIEW):
        problem = health.problem(code)
        if problem is not None:
            n = problem.params["n"]
            checks.append(
                ngettext("{n} failed", "{n} failed", n).format(n=n)
                if code == FAILED
                else ngettext("{n} to check", "{n} to check", n).format(n=n)
            )
    if checks:
        parts.append(", ".join(checks) + f" ({_key('!')})")
    paused = health.problem(PAUSED)
    if paused is not None:
        parts.append(_("paused: {channels}").format(channels=", ".join(paused.params["channels"])))
    return "⚠ " + " · ".join(parts)


class HealthBanner(Static):
    """A one-line coloured bar under the header; hidden while all is well."""

    def __init__(self) -> None:
        super().__init__("", id="health-banner", markup=False)

    def show(self, health: Health | None, tz: ZoneInfo) -> None:
        """Say what is wrong in ``health`` (or hide when nothing is)."""
        text = banner_text(health, tz)
        self.update(text)
        self.set_class(bool(text), "-shown")
        urgent = health is not None and any(p.code in URGENT for p in health.problems)
        self.set_class(bool(text) and not urgent, "-warning")

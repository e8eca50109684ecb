"""A Facebook Page channel's health, as ``loa doctor`` and the daemon show it: the Graph
version, the Page token (type, Page, scopes, expiry), the Page reachable, and the headroom.

The token is read with ``debug_token`` (docs/platforms/facebook-graph.md#token-debugging) so
that a missing permission is named before a publish fails on it. Each failing check carries
its own advice: a refused token is renewed (docs/platforms/facebook-graph.md#tokens), a
missing scope is granted (docs/platforms/facebook-graph.md#permissions-and-tasks), an
unreachable Graph is a network or base_url matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from scheduler.channels.base import AuthError, ChannelError, Health, HealthCheck, TransientError
from scheduler.channels.facebook_errors import PLATFORM
from scheduler.channels.facebook_transport import Clock, GraphTransport
from scheduler.channels.graph_versions import VersionNotice
from scheduler.channels.graph_versions import notice as version_notice
from scheduler.channels.http import redact

#: What each permission a Page token needs is for
#: (docs/platforms/facebook-graph.md#permissions-and-tasks): publishing needs the first three,
#: the figures the last one.
REQUIRED_SCOPES = {
    "pages_manage_posts": "Loa cannot publish",
    "pages_read_engagement": "Loa cannot publish or read reactions, comments and shares",
    "pages_show_list": "Meta refuses to publish without it",
    "read_insights": "Loa cannot read views, reach and clicks",
}
#: A token that expires sooner than this is reported as a warning by ``loa doctor``.
EXPIRY_WARNING = timedelta(days=7)
RENEW_ADVICE = (
    "put a new Page token in the secret named in channels.toml (from a long-lived user token "
    "of a Page admin: GET /me/accounts), then run `loa doctor` again"
)
NETWORK_ADVICE = "check the channel's base_url and this server's network, then run `loa doctor`"
WRONG_KIND_ADVICE = (
    "put the Page's own token in the secret named in channels.toml (the access_token of this "
    "Page in GET /me/accounts, with a Page admin's long-lived user token)"
)


class PageHealth:
    """Checks one Page channel through its :class:`GraphTransport`, and keeps the token's
    expiry from the last ``debug_token`` answer."""

    def __init__(self, graph: GraphTransport, clock: Clock) -> None:
        self._graph = graph
        self._clock = clock
        #: The Page token's expiry from the last ``debug_token`` answer (None: not read yet,
        #: or a token that never expires).
        self.token_expires_at: datetime | None = None

    @property
    def _page_id(self) -> str:
        return self._graph.config.page_id

    async def check(self) -> Health:
        """Graph version, the token (type, Page, scopes, expiry), the Page reachable, headroom."""
        pacer = self._graph.pacer
        checks = [self._version_check()]
        try:
            info = await self._debug_token()
        except AuthError as exc:
            checks.append(HealthCheck("token", False, exc.message, advice=RENEW_ADVICE))
            return Health(checks=checks, headroom=pacer.headroom)
        except TransientError as exc:
            checks.append(HealthCheck("reach", False, exc.message, advice=NETWORK_ADVICE))
            return Health(checks=checks, headroom=pacer.headroom)
        except ChannelError as exc:
            # This Graph does not answer debug_token for this token: the Page read below still
            # tells whether the token works.
            checks.append(
                HealthCheck("token", True, f"token not inspected (debug_token: {exc.message})")
            )
        else:
            token_checks = self._token_checks(info)
            checks.extend(token_checks)
            if any(not c.ok for c in token_checks if c.name == "token"):
                return Health(checks=checks, headroom=pacer.headroom)
        checks.append(await self._page_check())
        return Health(checks=checks, headroom=pacer.headroom)

    def version_notice(self) -> VersionNotice | None:
        """A notice when this Page's Graph version ends within 60 days (or has ended)."""
        return version_notice(self._graph.config.graph_version, self._clock().date())

    async def read_token_expiry(self) -> datetime | None:
        """Ask ``debug_token`` when the Page token expires (None: never); raises a
        :class:`ChannelError` when Graph cannot say. Also kept in :attr:`token_expires_at`."""
        self._note_expiry(await self._debug_token())
        return self.token_expires_at

    async def _page_check(self) -> HealthCheck:
        """The Page read with the token: its name and followers, or why it cannot be read."""
        try:
            body = await self._graph.call(
                "GET", self._page_id, params={"fields": "id,name,followers_count"}
            )
        except AuthError as exc:
            return HealthCheck("token", False, exc.message, advice=RENEW_ADVICE)
        except ChannelError as exc:
            return HealthCheck("page", False, exc.message, advice=NETWORK_ADVICE)
        followers = body.get("followers_count")
        detail = f"{body.get('name', self._page_id)}"
        if followers is not None:
            detail += f", {followers} followers"
        return HealthCheck("page", True, detail)

    def _version_check(self) -> HealthCheck:
        found = self.version_notice()
        if found is None:
            return HealthCheck("graph version", True, self._graph.config.graph_version)
        return HealthCheck("graph version", True, found.text(), advice=found.advice(), warning=True)

    def _note_expiry(self, info: Mapping[str, Any]) -> None:
        try:
            expires_at = int(info.get("expires_at") or 0)
        except (TypeError, ValueError):
            expires_at = 0
        # 0: a Page token from a long-lived user token never expires.
        self.token_expires_at = datetime.fromtimestamp(expires_at, UTC) if expires_at else None

    async def _debug_token(self) -> dict[str, Any]:
        """``GET /debug_token`` for the channel's own token (the ``data`` object)."""
        token = self._graph.token()
        body = await self._graph.call("GET", "debug_token", params={"input_token": token})
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise TransientError("Facebook debug_token answer has no data", platform=PLATFORM)
        return data

    def _token_checks(self, info: Mapping[str, Any]) -> list[HealthCheck]:
        """What ``debug_token`` says about the channel's token, as health lines."""
        if not info.get("is_valid"):
            error = info.get("error") or {}
            reason = redact(str(error.get("message") or "Meta says it is not valid"))
            return [
                HealthCheck(
                    "token", False, f"the Page token is not valid: {reason}", advice=RENEW_ADVICE
                )
            ]
        kind = str(info.get("type") or "?").upper()
        if kind != "PAGE":
            return [
                HealthCheck(
                    "token",
                    False,
                    f"the token is a {kind} token, not a Page token: Loa cannot post as the Page",
                    advice=WRONG_KIND_ADVICE,
                )
            ]
        profile = str(info.get("profile_id") or self._page_id)
        if profile != self._page_id:
            return [
                HealthCheck(
                    "token",
                    False,
                    f"the token is Page {profile}'s, not Page {self._page_id}'s",
                    advice="put this Page's token in the secret, or fix page_id in channels.toml",
                )
            ]
        return [self._expiry_check(info), _scopes_check(info)]

    def _expiry_check(self, info: Mapping[str, Any]) -> HealthCheck:
        self._note_expiry(info)
        expires = self.token_expires_at
        if expires is None:
            # A Page token from a long-lived user token never expires (expires_at: 0).
            return HealthCheck("token", True, "Page token, never expires")
        left = expires - self._clock()
        when = expires.strftime("%Y-%m-%d %H:%M UTC")
        if left <= timedelta(0):
            return HealthCheck("token", False, f"Page token expired {when}", advice=RENEW_ADVICE)
        if left < EXPIRY_WARNING:
            return HealthCheck(
                "token",
                True,
                f"Page token expires {when}",
                advice="replace it with a Page token that never expires (from a long-lived "
                "user token), " + RENEW_ADVICE.split(", then")[0],
                warning=True,
            )
        return HealthCheck("token", True, f"Page token, expires {when}")


def _scopes_check(info: Mapping[str, Any]) -> HealthCheck:
    """Whether the token has every scope of :data:`REQUIRED_SCOPES`, naming what a missing
    one stops."""
    scopes = {str(s) for s in info.get("scopes") or []}
    missing = [name for name in REQUIRED_SCOPES if name not in scopes]
    if not missing:
        return HealthCheck("permissions", True, ", ".join(REQUIRED_SCOPES))
    names = ", ".join(missing)
    what = "; ".join(f"{name}: {REQUIRED_SCOPES[name]}" for name in missing)
    return HealthCheck(
        "permissions",
        False,
        f"the Page token lacks {names} ({what})",
        advice=f"have a Page admin connect the app again granting {names} "
        f"(Meta's login dialog, scope={','.join(REQUIRED_SCOPES)}), then put the "
        "new Page token in the secret named in channels.toml",
    )

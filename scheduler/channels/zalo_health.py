"""``loa doctor``'s checks of one Zalo OA: the token, the OA, the article permission, the media
store (docs/platforms/zalo-oa.md#permission-groups)."""

from __future__ import annotations

from scheduler.channels.base import AuthError, ChannelError, Health, HealthCheck
from scheduler.channels.media_store import MediaStore
from scheduler.channels.zalo_errors import ARTICLE_PERMISSION, NOT_AUTHORIZED
from scheduler.channels.zalo_transport import ZaloTransport

#: What to do when the OA's grant no longer works (the refresh token is dead or revoked).
RECONSENT_ADVICE = (
    "an OA admin approves the app again (its permission link) and Loa gets the new refresh "
    "token through the secret named in channels.toml; then run `loa doctor`"
)


class OaHealth:
    """The OA's health, asked through its :class:`ZaloTransport`."""

    def __init__(self, api: ZaloTransport, media: MediaStore | None) -> None:
        self._api = api
        self._media = media
        self._oa_id = api.config.oa_id

    async def followers(self) -> int | None:
        """The OA's follower count (getoa ``num_follower``)."""
        data = await self._api.call("GET", "v2.0/oa/getoa", step="getoa")
        value = (data or {}).get("num_follower")
        return int(value) if isinstance(value, int | float) else None

    async def health(self) -> Health:
        """Token refreshable and accepted, OA reachable, the article permission granted,
        follower count, media store set.

        Zalo has no token inspection call: the article permission group ("Quản lý bài viết",
        docs/platforms/zalo-oa.md#permission-groups) is probed with a one-item article list,
        which Zalo refuses with -223 "has not authorized this API" when the OA did not grant
        it.
        """
        checks = [
            HealthCheck(
                "media store",
                self._media is not None,
                self._media.public_base_url if self._media else "no [media] table in channels.toml",
            )
        ]
        try:
            data = await self._api.call("GET", "v2.0/oa/getoa", step="getoa")
        except AuthError as exc:
            checks.append(HealthCheck("token", False, exc.message, advice=RECONSENT_ADVICE))
            return Health(checks=checks)
        except ChannelError as exc:
            checks.append(HealthCheck("oa", False, exc.message))
            return Health(checks=checks)
        checks.append(HealthCheck("token", True, "access token accepted"))
        checks.append(await self._permission_check())
        name = (data or {}).get("name") or self._oa_id
        followers = (data or {}).get("num_follower")
        checks.append(HealthCheck("oa", True, f"{name}, {followers} followers"))
        return Health(checks=checks)

    async def _permission_check(self) -> HealthCheck:
        params = {"offset": "0", "limit": "1", "type": "normal"}
        try:
            await self._api.call("GET", "v2.0/article/getslice", params=params, step="getslice")
        except AuthError as exc:
            if exc.code == str(NOT_AUTHORIZED):
                return HealthCheck(
                    "permissions",
                    False,
                    f"the OA has not granted the app '{ARTICLE_PERMISSION}' (manage articles): "
                    f"Loa cannot publish ({exc.message})",
                    advice=f"an OA admin opens the app's permission link and grants "
                    f"'{ARTICLE_PERMISSION}' (consents again), then run `loa doctor` again",
                )
            return HealthCheck("token", False, exc.message, advice=RECONSENT_ADVICE)
        except ChannelError as exc:
            return HealthCheck("permissions", False, f"article list not read: {exc.message}")
        return HealthCheck("permissions", True, f"'{ARTICLE_PERMISSION}' granted")

"""What the content layer needs to know about the office and its channels, as plain values.

:mod:`scheduler.config` builds these from channels.toml; content/ never reads the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from content.errors import ValidationError
from content.messages import Notice
from content.units import UnitTree

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"

#: The platforms Loa publishes to, by the ``kind`` used in channels.toml.
FACEBOOK = "facebook"
ZALO_OA = "zalo_oa"
KINDS = (FACEBOOK, ZALO_OA)


@dataclass(frozen=True)
class OfficeSettings:
    """The office's rules for its queue."""

    name: str = "Loa"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    language: str = "vi"
    require_second_approver: bool = False
    min_spacing: timedelta = timedelta(minutes=30)
    posting_slots: tuple[time, ...] = ()


@dataclass(frozen=True)
class ChannelInfo:
    """One Page or OA, as far as the queue rules care."""

    id: str
    kind: str
    name: str
    #: A Zalo OA that broadcasts its articles to followers (channels.toml ``broadcast``).
    broadcast: bool = False


@dataclass(frozen=True)
class ChannelDirectory:
    """The office, its channels, the named groups of channels and the units."""

    office: OfficeSettings
    channels: Mapping[str, ChannelInfo]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    units: UnitTree = field(default_factory=UnitTree)

    def members(self, name: str) -> tuple[str, ...] | None:
        """The channel ids a channel id, group or unit name stands for; None: no such name.

        A unit stands for the channels of its subtree (a province holds its wards').
        """
        if name in self.channels:
            return (name,)
        if name in self.groups:
            return tuple(self.groups[name])
        if name in self.units:
            return self.units.channels_of(name)
        return None

    def expand(self, names: Iterable[str], *, field_name: str = "channel") -> list[str]:
        """Channel ids for ``names`` (channel ids, groups or units), in order, without repeats."""
        result: list[str] = []
        for raw in names:
            name = raw.strip()
            ids = self.members(name)
            if ids is None:
                known = sorted([*self.channels, *self.groups, *self.units.units])
                raise ValidationError(
                    "channel_unknown",
                    field=field_name,
                    name=name,
                    known=known or Notice("none_configured"),
                )
            result.extend(i for i in ids if i not in result)
        return result

    def kind_of(self, channel_id: str) -> str:
        """The platform of a channel id."""
        return self.channels[channel_id].kind

"""The office's units as a tree: the province, its wards and communes, each with its channels.

channels.toml describes them (``[units.ID]``, built by :mod:`scheduler.config`); content/
only sees these plain values. A unit has a display name, its own channels and a parent; a
channel belongs to at most one unit. Two views of a unit are used everywhere:

* its **own** channels (what the unit itself publishes: targets and rankings judge these);
* its **subtree**: its own channels and those of every unit under it (what a province
  officer holds, and what a figure *rolled up* to the unit counts).

Targets live beside the tree (:class:`CampaignQuota`, ``UnitInfo.posts_per_week``); what
they mean is :mod:`content.evaluation`'s to say.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from content.errors import ValidationError


class UnitError(ValidationError):
    """The unit tree is inconsistent; ``loc`` is the channels.toml key at fault."""

    def __init__(self, code: str, /, *, loc: tuple[str, ...], **params: Any) -> None:
        super().__init__(code, **params)
        self.loc = loc


@dataclass(frozen=True)
class UnitInfo:
    """One unit: the province, a ward or a commune."""

    id: str
    name: str
    parent: str | None = None
    #: The unit's own channels (not those of the units under it).
    channels: tuple[str, ...] = ()
    #: Publications required each week on each of its own channels; None: no such target.
    posts_per_week: int | None = None


@dataclass(frozen=True)
class CampaignQuota:
    """At least ``posts_per_unit`` posts of ``campaign`` by each unit named, between two days."""

    campaign: str
    first_day: date
    last_day: date
    posts_per_unit: int
    #: The units held to it (each on its own channels); empty means every unit.
    units: tuple[str, ...] = ()

    def applies_to(self, unit: str) -> bool:
        """Whether ``unit`` is held to this quota."""
        return not self.units or unit in self.units


@dataclass(frozen=True)
class UnitTree:
    """Units by id in tree order (each parent before its children, siblings as configured)."""

    units: Mapping[str, UnitInfo] = field(default_factory=dict)
    quotas: tuple[CampaignQuota, ...] = ()
    #: Citizens are answered within this (the office's promise, ``[inbox]
    #: response_target_hours``): every unit whose channels citizens wrote to is held to it.
    response_target: timedelta | None = None

    def __bool__(self) -> bool:
        return bool(self.units)

    def __contains__(self, unit: object) -> bool:
        return unit in self.units

    def __iter__(self) -> Iterator[UnitInfo]:
        return iter(self.units.values())

    def __getitem__(self, unit: str) -> UnitInfo:
        return self.units[unit]

    def children(self, unit: str) -> list[str]:
        """The units directly under ``unit``."""
        return [u.id for u in self.units.values() if u.parent == unit]

    def depth(self, unit: str) -> int:
        """0 for a top unit (the province), 1 for its wards, and so on."""
        depth, parent = 0, self.units[unit].parent
        while parent is not None:
            depth, parent = depth + 1, self.units[parent].parent
        return depth

    def subtree(self, unit: str) -> list[str]:
        """``unit`` and every unit under it, in tree order."""
        result = [unit]
        for child in self.children(unit):
            result.extend(self.subtree(child))
        return result

    def channels_of(self, unit: str) -> tuple[str, ...]:
        """The channels of ``unit``'s subtree: what a unit name means where a channel is asked."""
        return tuple(c for u in self.subtree(unit) for c in self.units[u].channels)

    def unit_of(self, channel: str) -> str | None:
        """The unit whose own channel ``channel`` is (None: no unit has it)."""
        for unit in self.units.values():
            if channel in unit.channels:
                return unit.id
        return None


def build_tree(
    units: Sequence[UnitInfo],
    channels: Collection[str],
    quotas: Sequence[CampaignQuota] = (),
) -> UnitTree:
    """Check ``units`` against each other and the configured ``channels``; the tree in order.

    Raises :class:`UnitError` (one line, with the key at fault) for a channel that is not
    configured or already in another unit, an unknown parent, a cycle of parents, or a quota
    naming an unknown unit.
    """
    by_id = {u.id: u for u in units}
    _check_channels_and_parents(units, channels, by_id)
    _check_no_cycle(units, by_id)
    _check_quotas(quotas, by_id)
    ordered: dict[str, UnitInfo] = {}

    def visit(unit: UnitInfo) -> None:
        ordered[unit.id] = unit
        for child in units:
            if child.parent == unit.id:
                visit(child)

    for unit in units:
        if unit.parent is None:
            visit(unit)
    return UnitTree(ordered, tuple(quotas))


def _check_channels_and_parents(
    units: Sequence[UnitInfo], channels: Collection[str], by_id: Mapping[str, UnitInfo]
) -> None:
    """Each unit's channels are configured and in no other unit; its parent exists."""
    owner: dict[str, str] = {}
    for unit in units:
        for channel in unit.channels:
            if channel not in channels:
                raise UnitError(
                    "group_unknown_channel",
                    loc=("units", unit.id, "channels"),
                    name=channel,
                    known=sorted(channels),
                )
            if channel in owner:
                raise UnitError(
                    "unit_channel_twice",
                    loc=("units", unit.id, "channels"),
                    channel=channel,
                    other=owner[channel],
                )
            owner[channel] = unit.id
        if unit.parent is not None and unit.parent not in by_id:
            raise UnitError(
                "unit_parent_unknown",
                loc=("units", unit.id, "parent"),
                name=unit.parent,
                known=sorted(by_id),
            )


def _check_no_cycle(units: Sequence[UnitInfo], by_id: Mapping[str, UnitInfo]) -> None:
    """No unit is its own ancestor (each unit's parents are followed up to the top)."""
    for unit in units:
        path = [unit.id]
        parent = unit.parent
        while parent is not None:
            if parent in path:
                cycle = [*path[path.index(parent) :], parent]
                raise UnitError(
                    "unit_cycle", loc=("units", unit.id, "parent"), cycle=" -> ".join(cycle)
                )
            path.append(parent)
            parent = by_id[parent].parent


def _check_quotas(quotas: Sequence[CampaignQuota], by_id: Mapping[str, UnitInfo]) -> None:
    """Every unit a campaign quota names exists."""
    for quota in quotas:
        for name in quota.units:
            if name not in by_id:
                raise UnitError(
                    "quota_unknown_unit",
                    loc=("targets", "campaigns", quota.campaign, "units"),
                    name=name,
                    known=sorted(by_id),
                )

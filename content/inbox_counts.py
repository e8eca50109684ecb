"""Citizens' threads counted over the office's unit tree (:mod:`content.units`), rolled up.

A thread belongs to the unit it was assigned to when that is a unit of the tree, else to the
unit whose own channel it came in on. Each unit has its **own** counts and its **total**,
over its whole subtree (the province's total is every ward's and commune's too), like every
other figure given per unit (``loa units status``, the reports). Threads on a channel no unit
holds are counted apart, so the totals still add up to what the person may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from content.inbox import Counts, Inbox

#: The row of threads whose channel belongs to no unit.
NO_UNIT = "-"


@dataclass(frozen=True)
class UnitCounts:
    """One unit's threads: its own, and rolled up over its subtree."""

    unit: str
    name: str
    parent: str | None
    depth: int
    own: Counts
    total: Counts

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "parent": self.parent,
            "depth": self.depth,
            "own": self.own.as_dict(),
            "total": self.total.as_dict(),
        }


def by_unit(inbox: Inbox) -> list[UnitCounts]:
    """Every unit of the tree in tree order (parents first), then the threads of no unit
    (only when there are some). Empty when the office has no unit tree."""
    tree = inbox.directory.units
    if not tree:
        return []
    own = {u.id: Counts() for u in tree}
    outside = Counts()
    for channel, assigned, piece in inbox.count_rows():
        unit = assigned if assigned in tree else tree.unit_of(channel)
        if unit is None:
            outside = outside.plus(piece)
        else:
            own[unit] = own[unit].plus(piece)
    rows = []
    for info in tree:
        total = Counts()
        for member in tree.subtree(info.id):
            total = total.plus(own[member])
        rows.append(
            UnitCounts(info.id, info.name, info.parent, tree.depth(info.id), own[info.id], total)
        )
    if outside != Counts():
        rows.append(UnitCounts(NO_UNIT, NO_UNIT, None, 0, outside, outside))
    return rows

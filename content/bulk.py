"""One change to several posts: what `loa post approve 3 4 5` and the TUI's selection do.

Each post is checked and changed in its own transaction by the queue rules, so a refused
post is left exactly as it was and the others are done; the refusals are collected, each
with its post, for the face to say.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from content.errors import LoaError, ValidationError
from content.models import Post
from content.office import ChannelDirectory
from content.queue import Outcome, Queue
from content.slots import next_free_slot


@dataclass
class BulkOutcome:
    """What became of each post: the changes made and the refusals, in the order asked."""

    done: list[Outcome] = field(default_factory=list)
    refused: list[tuple[int, LoaError]] = field(default_factory=list)

    @property
    def posts(self) -> list[Post]:
        """The posts changed."""
        return [p for outcome in self.done for p in outcome.posts]

    @property
    def warnings(self) -> list[Any]:
        """The queue's warnings about the posts changed."""
        return [w for outcome in self.done for w in outcome.warnings]


def apply_each(ids: Iterable[int], change: Callable[[int], Outcome]) -> BulkOutcome:
    """Run ``change`` on each post id, once each, collecting refusals instead of stopping.

    Only refusals (:class:`LoaError`) are collected: anything else is a fault and stops.
    """
    result = BulkOutcome()
    for post_id in dict.fromkeys(ids):
        try:
            result.done.append(change(post_id))
        except LoaError as exc:
            result.refused.append((post_id, exc))
    return result


def mover(
    queue: Queue,
    engine: Engine,
    directory: ChannelDirectory,
    at: datetime | None,
    *,
    field_name: str = "at",
) -> Callable[[int], Outcome]:
    """A change that moves one post to ``at``, or with None to its next free posting slot.

    Slots already given to posts moved before in the same run count as taken, so several
    posts moved to "next" spread over the following slots instead of piling on one.
    """
    given: list[datetime] = []

    def move(post_id: int) -> Outcome:
        if at is not None:
            return queue.schedule(post_id, at)
        _, deliveries = queue.get(post_id)
        slot = next_slot(
            engine,
            directory,
            [d.channel for d in deliveries],
            queue.clock(),
            given=given,
            ignore_post=post_id,
            field_name=field_name,
        )
        given.append(slot)
        return queue.schedule(post_id, slot)

    return move


def next_slot(
    engine: Engine,
    directory: ChannelDirectory,
    channels: Sequence[str],
    now: datetime,
    *,
    given: Sequence[datetime] = (),
    ignore_post: int | None = None,
    field_name: str = "at",
) -> datetime:
    """The next free posting slot on ``channels`` besides ``given``, or a refusal saying
    why there is none (the office has no slots, or all are taken for two weeks)."""
    if not directory.office.posting_slots:
        raise ValidationError("no_slots", field=field_name)
    slot = next_free_slot(engine, directory, channels, now, taken=given, ignore_post=ignore_post)
    if slot is None:
        if channels:
            raise ValidationError("no_free_slot", field=field_name, channels=list(channels))
        raise ValidationError("no_free_slot_any", field=field_name)
    return slot

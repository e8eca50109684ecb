"""The one table of a delivery's moves: what may follow what, for the queue and the daemon."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from content import delivery_states as ds
from content.errors import StateError
from content.messages import render
from content.models import DeliveryState


@dataclass
class _Row:
    id: int
    state: str


def test_the_life_of_a_delivery_follows_the_table():
    row = _Row(7, DeliveryState.PENDING)
    for event, state in [
        (ds.CLAIM, "sending"),
        (ds.WAIT, "pending"),
        (ds.CLAIM, "sending"),
        (ds.REVIEW, "needs_review"),
        (ds.MARK_NOT_PUBLISHED, "pending"),
        (ds.CLAIM, "sending"),
        (ds.PUBLISH, "published"),
    ]:
        assert ds.move(row, event) == state and row.state == state


@pytest.mark.parametrize(
    ("state", "event"),
    [
        ("published", ds.CLAIM),  # a published post is never sent again
        ("pending", ds.PUBLISH),  # nothing is published without a claim
        ("sending", ds.CANCEL),  # a post being sent cannot be cancelled
        ("cancelled", ds.RETRY),
        ("failed", ds.MARK_PUBLISHED),
    ],
)
def test_a_move_the_table_does_not_have_is_refused_and_changes_nothing(state, event):
    row = _Row(7, state)
    with pytest.raises(StateError) as caught:
        ds.move(row, event)
    assert row.state == state
    assert caught.value.code == "delivery_transition"
    said = render(caught.value, "vi")
    assert said.startswith("Lượt đăng 7 đang ở trạng thái ") and f"'{event}'" in said


def test_conditional_updates_take_their_states_from_the_table():
    assert ds.sources(ds.CLAIM) == (DeliveryState.PENDING,)
    assert ds.target(ds.CLAIM) == DeliveryState.SENDING
    assert ds.sources(ds.CANCEL) == (DeliveryState.PENDING,)
    assert ds.target(ds.CANCEL) == DeliveryState.CANCELLED

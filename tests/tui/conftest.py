"""Fixtures for the TUI tests: the app on the shared engine/office/clock, and helpers to wait."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from textual.pilot import Pilot
from textual.widgets import DataTable

from content.office import ChannelDirectory
from content.ui.i18n import set_language
from tests.helpers import FakeClock
from tui import LoaApp

SIZE = (120, 40)


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """The screens on SQLite only: what these tests prove is what the officer sees and
    does; the reads and writes under the screens run on both databases in tests/ (and in
    test_queue_search.py here, which asks for both again)."""
    return sqlite_url


@pytest.fixture(autouse=True)
def _english_after_each_test() -> Iterator[None]:
    """The language is per process: a test that switches to Vietnamese must not leave it on
    for the next one."""
    yield
    set_language("en")


@pytest.fixture
def make_app(
    engine: Engine, directory: ChannelDirectory, clock: FakeClock
) -> Callable[..., LoaApp]:
    """``make_app("user", lang="en")``: the app acting as that user.

    The refresh timer is set to an hour so a test decides when the queue re-reads (with the
    Refresh key), which keeps the tests deterministic.
    """

    def make(actor: str = "officer", lang: str = "en") -> LoaApp:
        return LoaApp(engine, directory, actor=actor, clock=clock, lang=lang, refresh_seconds=3600)

    return make


async def settle(pilot: Pilot[None]) -> None:
    """Wait until every worker has finished and its messages have been handled."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def table_rows(pilot: Pilot[None], selector: str = "#posts") -> list[list[str]]:
    """The rows of a DataTable on the current screen, as plain strings."""
    table = pilot.app.screen.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def notifications(pilot: Pilot[None]) -> list[str]:
    """The messages of the notifications currently shown."""
    return [n.message for n in pilot.app._notifications]

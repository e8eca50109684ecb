"""Steps the TUI tests share, taken with the keys and mouse as the officer would.

Each step waits until the app has settled and checks that it got where it meant to, so a
test reads as what the officer does: ``detail = await open_detail(pilot)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from textual.command import CommandList
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, SelectionList, TextArea

from content.ui.calendar import CalendarScreen
from content.ui.composer import ComposerScreen
from content.ui.detail import DetailScreen
from content.ui.dialogs import ConfirmDialog, PromptDialog
from content.ui.engagement import EngagementScreen
from content.ui.inbox import InboxScreen
from content.ui.inbox_thread import ThreadScreen
from content.ui.review import ReviewScreen
from tests.tui.conftest import settle

S = TypeVar("S", bound=Screen[Any])


async def press(pilot: Pilot[None], *keys: str) -> None:
    """Press ``keys``, then let what they started finish (workers, their messages)."""
    await pilot.press(*keys)
    await settle(pilot)


async def click(pilot: Pilot[None], selector: str) -> None:
    """Click the widget ``selector`` names, then let what it started finish."""
    await pilot.click(selector)
    await settle(pilot)


async def _press_for(pilot: Pilot[None], key: str, kind: type[S]) -> S:
    await settle(pilot)
    await press(pilot, key)
    screen = pilot.app.screen
    assert isinstance(screen, kind), screen
    return screen


async def open_composer(pilot: Pilot[None]) -> ComposerScreen:
    """From the queue, N: the composer for a new post."""
    return await _press_for(pilot, "n", ComposerScreen)


async def open_detail(pilot: Pilot[None]) -> DetailScreen:
    """From the queue, Enter: the screen of the post under the cursor."""
    return await _press_for(pilot, "enter", DetailScreen)


async def open_review(pilot: Pilot[None]) -> ReviewScreen:
    """From the queue, V: the posts waiting for review."""
    return await _press_for(pilot, "v", ReviewScreen)


async def open_week(pilot: Pilot[None]) -> CalendarScreen:
    """From the queue, W: the calendar's week."""
    return await _press_for(pilot, "w", CalendarScreen)


async def open_month(pilot: Pilot[None]) -> CalendarScreen:
    """From the queue, W then M: the calendar's month."""
    await open_week(pilot)
    return await _press_for(pilot, "m", CalendarScreen)


async def open_engagement(pilot: Pilot[None]) -> EngagementScreen:
    """From the queue, M: the engagement figures."""
    return await _press_for(pilot, "m", EngagementScreen)


async def open_inbox(pilot: Pilot[None]) -> InboxScreen:
    """From the queue, I: the citizens' threads."""
    return await _press_for(pilot, "i", InboxScreen)


async def open_thread(pilot: Pilot[None]) -> ThreadScreen:
    """From the inbox, Enter: the thread under the cursor."""
    return await _press_for(pilot, "enter", ThreadScreen)


def fill_in(
    composer: ComposerScreen,
    *,
    text: str | None = None,
    channels: Sequence[str] = (),
    when: str | None = None,
) -> None:
    """Put the post's text, channels and time straight into the composer's fields, as
    typing would leave them (the tests of typing itself press the keys)."""
    if text is not None:
        composer.query_one("#text", TextArea).text = text
    chosen = composer.query_one("#composer-channels", SelectionList)
    for channel in channels:
        chosen.select(channel)
    if when is not None:
        composer.query_one("#when", Input).value = when


async def search_palette(pilot: Pilot[None], query: str) -> CommandList:
    """Ctrl+P, then ``query`` typed: the palette's list (its search runs on after this)."""
    await settle(pilot)
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*query)
    return pilot.app.screen.query_one(CommandList)


async def open_prompt(pilot: Pilot[None], key: str) -> Input:
    """Press ``key`` where it asks for a value (a new time, a reason): the answer field."""
    await pilot.press(key)
    await pilot.pause()
    dialog = pilot.app.screen
    assert isinstance(dialog, PromptDialog), dialog
    return dialog.query_one("#answer", Input)


async def confirm(pilot: Pilot[None], yes: bool = True) -> None:
    """Answer the question on screen ("Discard changes?", "Cancel this post?") by mouse."""
    dialog = pilot.app.screen
    assert isinstance(dialog, ConfirmDialog), dialog
    await pilot.click("#yes" if yes else "#no")
    await pilot.pause()


async def wait_for(
    pilot: Pilot[None], condition: Callable[[], object], what: str, *, tries: int = 200
) -> None:
    """Let the app run until ``condition()`` holds, for what a timer or a worker brings
    about (the composer's preview once typing pauses, the palette's "no matches"); at most
    ``tries`` turns of 50 ms."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"the screen did not get there: {what}")

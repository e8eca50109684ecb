"""What the screens share: translated bindings, the context, one way to run a change, and
one way to keep a screen fresh from the database (:class:`PollingScreen`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from textual import work
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Header

from content.errors import LoaError
from content.health import Health
from content.ui.banner import HealthBanner
from content.ui.context import LoaContext
from content.ui.i18n import N_, _, ngettext, translated_bindings
from content.ui.messages import error_in_words

T = TypeVar("T")
R = TypeVar("R")


class ActionFinished(Message):
    """A change made in a worker has finished; ``error`` is set when it was refused."""

    def __init__(self, what: str, result: Any = None, error: Exception | None = None) -> None:
        super().__init__()
        self.what = what
        self.result = result
        self.error = error


def context_of(node: Any) -> LoaContext:
    """The App's :class:`LoaContext` (every Loa screen runs inside the Loa app)."""
    return node.app.ctx  # type: ignore[no-any-return]


def report_error(node: Any, error: Exception) -> None:
    """Show an error as one readable line; unexpected ones say so instead of crashing."""
    if isinstance(error, LoaError):
        node.notify(error_in_words(error), title=_("Not done"), severity="error", timeout=10)
    else:
        node.notify(
            f"{type(error).__name__}: {error}",
            title=_("Unexpected error"),
            severity="error",
            timeout=15,
        )


class _Common:
    """Behaviour mixed into both plain and modal screens."""

    #: The last read failure shown, so a database that stays down is reported once.
    _read_error: str | None = None

    def read(self, fetch: Callable[[], T]) -> T | None:
        """Run a database read (call from a thread worker); a failure is shown once.

        Returns None when the read failed: the screen keeps what it showed before.
        """
        try:
            result = fetch()
        except Exception as exc:  # shown to the user; the next refresh tries again
            text = (
                error_in_words(exc) if isinstance(exc, LoaError) else f"{type(exc).__name__}: {exc}"
            )
            if text != self._read_error:
                self._read_error = text
                self.app.call_from_thread(  # type: ignore[attr-defined]
                    self.notify,  # type: ignore[attr-defined]
                    text,
                    title=_("Cannot read the database"),
                    severity="error",
                    timeout=15,
                )
            return None
        self._read_error = None
        return result

    @property
    def ctx(self) -> LoaContext:
        """The App's context."""
        return context_of(self)

    @work(thread=True, exit_on_error=False, group="action")
    def run_change(self, what: str, change: Callable[[], Any]) -> None:
        """Run ``change`` (a library call that writes) off the UI thread; report by message."""
        try:
            result = change()
        except Exception as exc:  # reported to the user, never allowed to kill the app
            self.post_message(ActionFinished(what, error=exc))  # type: ignore[attr-defined]
            return
        self.post_message(ActionFinished(what, result))  # type: ignore[attr-defined]


class LoaScreen(_Common, Screen[None]):
    """A full screen of the app, with the health bar under its header."""

    #: The keys the health bar names, for every screen that does not bind them itself (the
    #: queue does). Added in __init__ rather than BINDINGS: an inherited binding would take
    #: the place of the queue's own in its footer.
    BANNER_KEYS = (
        ("exclamation_mark", "list_problems('attention')", N_("Attention")),
        ("l", "list_problems('late')", N_("Late")),
    )

    def __init__(self) -> None:
        super().__init__()
        self._bindings = translated_bindings(self._bindings)
        for key, action, description in self.BANNER_KEYS:
            if key not in self._bindings.key_to_bindings:
                self._bindings.bind(key, action, _(description), show=False)

    def on_mount(self) -> None:
        # Subclasses' own on_mount run too (Textual dispatches along the MRO).
        banner = HealthBanner()
        # Right after the (docked) header: the first thing in the screen's flow.
        headers = self.query(Header)
        if headers:
            self.mount(banner, after=headers.first())
        elif self.children:
            self.mount(banner, before=0)
        else:
            self.mount(banner)
        self.show_health(getattr(self.app, "health", None))

    def show_health(self, health: Health | None) -> None:
        """The health bar and the header's summary, from what the App last read."""
        for banner in self.query(HealthBanner):
            banner.show(health, self.ctx.tz)
        self.show_attention(getattr(self.app, "attention", 0))

    def show_attention(self, count: int) -> None:
        """The header: office, user, and how many deliveries need attention (on every screen).

        When the last health check found nothing wrong it says so, briefly: a header that
        only ever speaks up when something is wrong looks the same when nothing was checked.
        """
        office = self.ctx.directory.office
        parts = [office.name, f"{_('user')}: {self.ctx.actor}"]
        health: Health | None = getattr(self.app, "health", None)
        if count:
            parts.append(
                "⚠ "
                + ngettext(
                    "{n} delivery needs attention", "{n} deliveries need attention", count
                ).format(n=count)
            )
        elif health is not None and health.healthy:
            parts.append("✓ " + _("all good"))
        self.sub_title = " · ".join(parts)

    def action_list_problems(self, which: str) -> None:
        """Back to the queue, listing the late posts (``late``) or those needing attention."""
        app = self.app
        stack = app.screen_stack
        if any(getattr(screen, "dirty", False) for screen in stack[2:]):
            # Leaving would throw away a post being written.
            self.notify(_("Save or close the post you are writing first."), severity="warning")
            return
        while len(app.screen_stack) > 2:
            app.pop_screen()
        action = getattr(app.screen, f"action_{which}", None)
        if app.screen is not self and callable(action):
            action()

    def is_shown(self) -> bool:
        """True when this screen is the one on top (timers skip work otherwise)."""
        return self.is_current


class LoaModal(_Common, ModalScreen[T], Generic[T]):
    """A dialog that returns a value with ``dismiss``."""

    def __init__(self) -> None:
        super().__init__()
        self._bindings = translated_bindings(self._bindings)


class PollingScreen(LoaScreen, Generic[T]):
    """A screen showing what one library read returns, kept fresh while it is shown.

    A subclass says what to read, :meth:`fetch` (called on the UI thread, so the read it
    returns captures the screen's current question: the filters, the page, the days shown),
    and how to show the answer, :meth:`show` (on the UI thread). This class runs the read in
    a thread worker when the screen is mounted, every ``REFRESH_EVERY`` refresh periods while
    the screen is on top, when the screen comes back on top after a first answer (back from
    a detail or a dialog: what changed there shows at once), and on :meth:`reload`. An answer
    to an older question than the last one asked is dropped: the newer one is on its way.
    A failed read is shown once (see ``read``) and the screen keeps what it showed.
    """

    #: Refresh periods between two reads (figures that change slowly are read less often).
    REFRESH_EVERY = 1

    class Loaded(Message, Generic[R]):
        """A polling screen's read has returned ``result`` for question ``generation``."""

        def __init__(self, result: R, generation: int) -> None:
            super().__init__()
            self.result = result
            self.generation = generation

    def __init__(self) -> None:
        super().__init__()
        #: The number of the last question asked (see :meth:`reload`).
        self.generation = 0
        #: Whether an answer has been shown yet.
        self.loaded = False

    def on_mount(self) -> None:
        # Subclasses' own on_mount run first (Textual dispatches along the MRO), so a screen
        # sets up what fetch() reads (its day, its columns) before the first question.
        self.set_interval(self.ctx.refresh_seconds * self.REFRESH_EVERY, self._tick)
        self.reload()

    def on_screen_resume(self) -> None:
        # Before the first answer, the first read is still on its way.
        if self.loaded:
            self.reload()

    def _tick(self) -> None:
        if self.is_shown():
            self.reload()

    def fetch(self) -> Callable[[], T]:
        """The read to run off the UI thread (one library call), for the current question."""
        raise NotImplementedError

    def show(self, result: T) -> None:
        """Show what the read returned (on the UI thread)."""
        raise NotImplementedError

    def reload(self) -> None:
        """Ask again now (in a thread); the screen updates when the answer arrives."""
        self.generation += 1
        self._load(self.fetch(), self.generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, fetch: Callable[[], T], generation: int) -> None:
        result = self.read(fetch)
        if result is not None:
            self.post_message(self.Loaded(result, generation))

    def on_polling_screen_loaded(self, message: PollingScreen.Loaded[T]) -> None:
        message.stop()  # the screen's own answer: nothing above it waits for it
        if message.generation != self.generation:
            return
        self.show(message.result)
        self.loaded = True

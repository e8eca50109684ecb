"""What every screen needs from the App: the database, the office, who is acting, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from content.accounts import Access, unenforced
from content.errors import LoaError
from content.inbox import Inbox, InboxSettings, ThreadSummary
from content.office import ChannelDirectory
from content.queue import Queue
from content.sealed import Sealer
from content.times import utcnow

#: Record, send and settle a reply: (inbox, thread, text, mode, comment) -> the thread after
#: (scheduler.inbox_reply.answer, the CLI's own path, bound to the configuration).
ReplySender = Callable[[Inbox, int, str, str | None, int | None], ThreadSummary]


@dataclass(frozen=True)
class InboxWiring:
    """What the inbox screens need beyond the database, given by whoever starts the app."""

    #: The sealer of citizens' data (the database's credential key). Called when the inbox
    #: is first read, so a missing or wrong key is said on that screen, not at start-up.
    sealer: Callable[[], Sealer]
    settings: InboxSettings
    send_reply: ReplySender


@dataclass
class LoaContext:
    """Injected into the App, so tests hand in their own engine, office and clock."""

    engine: Engine
    directory: ChannelDirectory
    actor: str
    clock: Callable[[], datetime] = utcnow
    #: Unpause a channel (the daemon's ``resume_channel``); None when the face has none.
    resume_channel: Callable[[str], bool] | None = None
    #: Seconds between re-reads of the database (the daemon changes states behind our back).
    refresh_seconds: float = 3.0
    #: Who is acting and what he may see (None: no accounts, as ``actor``, every channel).
    access: Access | None = None
    #: The citizens' inbox (None: this face was started without it; its screen says so).
    inbox_wiring: InboxWiring | None = None

    @property
    def tz(self) -> ZoneInfo:
        """The office's time zone: every time on screen is in it."""
        return self.directory.office.timezone

    @property
    def visible(self) -> frozenset[str] | None:
        """The channels whose posts this account sees (None: every channel)."""
        return self.access.channels if self.access is not None else None

    def channel_ids(self) -> list[str]:
        """The configured channels this account sees, in channels.toml's order."""
        return [c for c in self.directory.channels if self.visible is None or c in self.visible]

    def queue(self) -> Queue:
        """The queue rules acting as the current user (cheap: make one per action)."""
        return Queue(
            self.engine, self.directory, actor=self.actor, access=self.access, clock=self.clock
        )

    def inbox(self) -> Inbox:
        """The citizens' inbox as the current user sees it (his units' threads once accounts
        exist). Raises :class:`LoaError` when the app was started without it."""
        wiring = self.inbox_wiring
        if wiring is None:
            raise LoaError("inbox_not_wired")
        return Inbox(
            self.engine,
            self.directory,
            wiring.sealer(),
            access=self.access or unenforced(self.actor),
            settings=wiring.settings,
            clock=self.clock,
        )

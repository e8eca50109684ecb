"""Choose an image from the disk by moving through folders, instead of typing its path.

Textual's DirectoryTree, showing only folders and the image types Loa publishes; Enter on an
image chooses it, Escape leaves without one. Hidden files and folders are left out (an
officer's pictures are not there, and ``~/.cache`` holds thousands of thumbnails).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DirectoryTree, Label, Static

from content.ui.base import LoaModal
from content.ui.i18n import _

#: The image types the media checks accept (content.media), by file name.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})


class ImageTree(DirectoryTree):
    """A DirectoryTree of folders and images only, hidden entries left out."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Folders and image files, not hidden ones."""
        return [
            p
            for p in paths
            if not p.name.startswith(".") and (_is_dir(p) or p.suffix.lower() in IMAGE_SUFFIXES)
        ]


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # unreadable entry: leave it out rather than fail the listing
        return False


class ImagePicker(LoaModal[Path | None]):
    """Browse from ``start`` and return the chosen image's path (None when left)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Label(_("Choose an image"), classes="dialog-title")
            yield Static(
                _("Arrows move, Enter opens a folder or chooses an image, Esc goes back."),
                classes="dialog-message",
            )
            yield ImageTree(self.start, id="picker-tree")

    def on_mount(self) -> None:
        self.query_one("#picker-tree", ImageTree).focus()

    @on(DirectoryTree.FileSelected)
    def _chosen(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(event.path)

    def action_cancel(self) -> None:
        """Leave without an image."""
        self.dismiss(None)

"""The composer's images: the paths typed (or, in `loa web`, the photos uploaded), checked
against the chosen channels' limits, the first one drawn small, a file picker, and the
full image opened. The composer screen (content.ui.composer) is built on this.
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.message import Message
from textual.widgets import Button, Input, Select, Static

from content import media
from content.errors import ValidationError
from content.messages import os_reason
from content.ui.base import LoaScreen
from content.ui.composer_form import Form, image_path, split_list, uploaded_photos
from content.ui.file_picker import ImagePicker
from content.ui.i18n import _
from content.ui.messages import error_in_words, in_words
from content.ui.preview import ImagePreview, Thumbnail, make_thumbnail, open_full_image


class ImagesChecked(Message):
    """The image paths have been read and checked: one line each, and the first problem."""

    def __init__(self, lines: list[str], error: str | None) -> None:
        super().__init__()
        self.lines = lines
        self.error = error


class ThumbnailReady(Message):
    """The first image path has been read and drawn small (None: nothing to show)."""

    def __init__(self, path: Path | None, thumbnail: Thumbnail | None) -> None:
        super().__init__()
        self.path = path
        self.thumbnail = thumbnail


class ComposerImages(LoaScreen):
    """The images half of the composer screen (see content.ui.composer.ComposerScreen)."""

    #: The post being edited (None: a new one; a saved post keeps its images).
    post_id: int | None
    #: In `loa web`: the officer's private directory of uploaded photos.
    uploads: Path | None
    #: The image file shown in the preview, for "open full image".
    preview_path: Path | None
    #: The first image as the thumbnail names it (name, size), for the look preview.
    image_caption: str | None
    _upload_names: list[str]

    def _form(self) -> Form:
        """The form as typed (the composer's)."""
        raise NotImplementedError

    def _show_look(self) -> None:
        """Draw the post's look again (the composer's)."""
        raise NotImplementedError

    def _refresh_uploads(self) -> None:
        """Offer the photos uploaded so far (a listing of one small private directory)."""
        if self.uploads is None:
            return
        names = uploaded_photos(self.uploads)
        if names != self._upload_names:
            self._upload_names = names
            self.query_one("#uploads", Select).set_options((name, name) for name in names)

    @on(Select.Changed, "#uploads")
    def _upload_picked(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str):
            return
        box = self.query_one("#images", Input)
        chosen = split_list(box.value)
        if event.value not in chosen:
            box.value = ", ".join([*chosen, event.value])
        event.select.clear()
        self._images_done()

    @on(Input.Blurred, "#images")
    @on(Input.Submitted, "#images")
    def _images_done(self) -> None:
        form = self._form()
        if form.images:
            self._check_images(form.images, form.channels)
            self._draw_thumbnail(form.images[0], len(form.images))
        else:
            self.query_one("#images-info", Static).update("")
            self.post_message(ThumbnailReady(None, None))

    @work(thread=True, exclusive=True, exit_on_error=False, group="thumbnail")
    def _draw_thumbnail(self, raw: str, count: int) -> None:
        try:
            path = image_path(self.uploads, raw)
            blob = path.read_bytes()
        except (OSError, ValidationError):
            # The image check names the problem under the field; nothing to draw.
            self.post_message(ThumbnailReady(None, None))
            return
        note = _("1 of {n} images").format(n=count) if count > 1 else ""
        self.post_message(ThumbnailReady(path, make_thumbnail(path.name, blob, note)))

    def on_thumbnail_ready(self, message: ThumbnailReady) -> None:
        self.preview_path = message.path
        thumbnail = message.thumbnail
        self.image_caption = thumbnail.caption.splitlines()[0] if thumbnail else None
        self._show_look()
        preview = self.query_one("#composer-preview", ImagePreview)
        preview.show(message.thumbnail)
        if message.thumbnail is not None:
            # The officer just typed the path: bring the picture into view below it.
            self.call_after_refresh(preview.scroll_visible, animate=False)
        self.refresh_bindings()

    def action_open_image(self) -> None:
        """Say where the previewed image is, and open it when there is a display."""
        if self.preview_path is not None:
            self._open_image(self.preview_path)

    @work(thread=True, exit_on_error=False, group="open-image")
    def _open_image(self, path: Path) -> None:
        # The file is already on disk: no copy needed, only the path (and a viewer).
        shown = open_full_image(path.name, path=path)
        self.app.call_from_thread(
            self.notify, _("The full image is in {path}").format(path=shown), timeout=20
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="images")
    def _check_images(self, paths: list[str], chosen: list[str]) -> None:
        directory = self.ctx.directory
        try:
            kinds = sorted({directory.kind_of(c) for c in directory.expand(chosen)})
        except ValidationError:
            kinds = []
        lines: list[str] = []
        for raw in paths:
            try:
                path = image_path(self.uploads, raw)
                blob = path.read_bytes()
                info = media.inspect_image(blob, name=path.name)
                notes: list[str] = []
                for kind in kinds:
                    notes += [in_words(n) for n in media.check_for_channel(info, kind)]
            except OSError as exc:
                refused = ValidationError("file_unreadable", path=raw, reason=os_reason(exc))
                self.post_message(ImagesChecked(lines, error_in_words(refused)))
                return
            except ValidationError as exc:
                self.post_message(ImagesChecked(lines, error_in_words(exc)))
                return
            size = f"{info.size_bytes / 1024:,.0f} KB"
            line = f"✓ {path.name}: {info.format} {info.width}×{info.height}, {size}"
            lines.append(line + "".join(f"\n    {n}" for n in notes))
        self.post_message(ImagesChecked(lines, None))

    def on_images_checked(self, message: ImagesChecked) -> None:
        self.query_one("#images-info", Static).update("\n".join(message.lines))
        self.query_one("#error-image", Static).update(message.error or "")

    @on(Button.Pressed, "#pick-image")
    def _pick_pressed(self) -> None:
        self.action_pick_image()

    def action_pick_image(self) -> None:
        """Browse the disk for an image and add it to the images field."""
        if self.uploads is not None or self.post_id is not None:
            return  # a browser user has his uploads; a saved post keeps its images
        box = self.query_one("#images", Input)
        chosen = split_list(box.value)
        # Start where the last image came from, else in the officer's home folder.
        last = Path(chosen[-1]).expanduser().parent if chosen else Path.home()
        start = last if last.is_dir() else Path.home()

        def picked(path: Path | None) -> None:
            if path is not None and str(path) not in chosen:
                box.value = ", ".join([*chosen, str(path)])
                self._images_done()

        self.app.push_screen(ImagePicker(start), picked)

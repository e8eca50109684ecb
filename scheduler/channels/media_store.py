"""The office's public media store: where images go so Zalo can fetch them by URL.

Zalo takes article covers and body images only as public URLs (an uploaded attachment id is
refused as a cover), so Loa first writes each image into ``[media] directory`` and hands
Zalo ``{public_base_url}/{name}``. The office's web server (or ``loa media serve``) publishes
that directory.

Files are content-addressed: the name is the sha256 of the bytes written, so the same image
is stored once, a URL never changes meaning, and re-publishing after a crash is harmless.
Images are re-encoded for the channel first (EXIF/GPS stripped, under Zalo's 1 MB) and
written atomically (temporary file + rename): the web server never serves half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from content.errors import LoaError
from content.media import prepare_for_channel
from content.messages import os_reason
from scheduler.config import Media

EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif"}


@dataclass(frozen=True)
class StoredMedia:
    """An image published in the store."""

    name: str
    url: str
    path: Path
    mime: str
    size_bytes: int


class MediaStore:
    """A directory whose files are served at ``public_base_url``."""

    def __init__(self, directory: Path, public_base_url: str) -> None:
        self.directory = Path(directory)
        self.public_base_url = public_base_url.rstrip("/")

    @classmethod
    def from_config(cls, media: Media) -> MediaStore:
        """The store described by channels.toml's ``[media]`` table."""
        return cls(media.directory, media.public_base_url)

    def __repr__(self) -> str:
        return f"MediaStore({str(self.directory)!r}, {self.public_base_url!r})"

    def publish(self, data: bytes, kind: str = "zalo_oa") -> StoredMedia:
        """Re-encode ``data`` for channel ``kind`` and store it; returns its public URL.

        Raises :class:`content.errors.ValidationError` when the bytes are not a usable image,
        and :class:`LoaError` when the directory cannot be written.
        """
        prepared, mime = prepare_for_channel(data, kind)
        return self.put(prepared, mime)

    def put(self, data: bytes, mime: str) -> StoredMedia:
        """Store bytes that are already prepared (e.g. a rendered card) under their hash."""
        name = hashlib.sha256(data).hexdigest() + EXTENSIONS.get(mime, ".bin")
        path = self.directory / name
        if not path.exists():
            self._write_atomically(path, data)
        return StoredMedia(
            name=name, url=self.url_for(name), path=path, mime=mime, size_bytes=len(data)
        )

    def url_for(self, name: str) -> str:
        """The public URL of a stored file name."""
        return f"{self.public_base_url}/{name}"

    def _write_atomically(self, path: Path, data: bytes) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".incoming-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                # World-readable: the web server runs as another user.
                os.chmod(tmp, 0o644)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise LoaError(
                "media_store_write", path=str(self.directory), name=path.name, reason=os_reason(exc)
            ) from None

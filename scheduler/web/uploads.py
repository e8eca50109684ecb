"""Photos uploaded from an officer's PC, kept for his composer in a private directory.

Each account has its own directory under the upload root (mode 0700, files 0600): the tab's
``loa tui`` process gets it as ``LOA_UPLOAD_DIR`` and its composer offers the files in it.
A file is checked exactly as ``loa post add --image`` checks one (``content.media.
inspect_image``: a real JPEG, PNG, GIF, WEBP, BMP or TIFF by content, every pixel decodable,
at most 50 megapixels) before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from datetime import datetime
from pathlib import Path

from content import media

#: Largest upload accepted (decimal MB): above any phone photo of the 50 MP Loa accepts.
MAX_UPLOAD_BYTES = 30 * media.MB
#: The variable through which a tab's process learns its account's upload directory.
UPLOAD_DIR_ENV = "LOA_UPLOAD_DIR"
_EXTENSIONS = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "GIF": ".gif",
    "WEBP": ".webp",
    "BMP": ".bmp",
    "TIFF": ".tiff",
}
_UNSAFE = re.compile(r"[^\w.-]+")


def default_root() -> Path:
    """``$XDG_DATA_HOME/loa/web-uploads`` (``~/.local/share/loa/web-uploads``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "loa" / "web-uploads"


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)  # mkdir's mode is cut by the umask, and an old one may be wider
    return path


def account_dir(root: Path, account: str) -> Path:
    """The private upload directory of ``account`` (created, mode 0700).

    Account names may contain dots (``..`` is a valid name): such a name gets a hashed
    directory name so no name can point outside the root.
    """
    _private_dir(root)
    safe = account if account and not account.startswith(".") and "/" not in account else None
    name = safe or "_" + hashlib.sha256(account.encode()).hexdigest()[:16]
    return _private_dir(root / name)


def store(directory: Path, filename: str, data: bytes, *, now: datetime) -> tuple[Path, str]:
    """Check ``data`` as the CLI checks ``--image`` and write it (0600) into ``directory``.

    Returns the new file and a one-line description. Raises ``ValidationError`` (from
    ``content.media``) naming ``filename`` when it is not an image Loa can post.
    """
    original = unicodedata.normalize("NFC", Path(filename.replace("\\", "/")).name) or "photo"
    info = media.inspect_image(data, name=original)
    stem = _UNSAFE.sub("-", Path(original).stem).strip("-.")[:60] or "photo"
    base = f"{now:%Y%m%d-%H%M%S}-{stem}"
    ext = _EXTENSIONS.get(info.format, ".img")
    for n in range(1000):
        path = directory / (f"{base}{ext}" if n == 0 else f"{base}-{n}{ext}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return path, f"{info.format} {info.width}×{info.height}, {len(data) / 1024:,.0f} KB"
    raise FileExistsError(f"too many uploads named {base}")


def listing(directory: Path) -> list[Path]:
    """The uploaded photos in ``directory``, newest first."""
    try:
        files = [p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")]
    except OSError:
        return []
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)

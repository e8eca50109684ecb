"""Files Loa writes for the user (exports, reports, rendered images): private by default.

An export or a report holds drafts, names and engagement figures of a police office; like
the database (content/db.py), it is created readable by its owner only (mode 600), not by
every local user (644 under the usual umask). An office whose staff share such files through
a Unix group sets ``LOA_SHARED_GROUP=<group>``: files are then given to that group with
mode 660.

Every writer goes through :func:`private_file` or :func:`write_private`.
"""

from __future__ import annotations

import contextlib
import grp
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from content.errors import LoaError
from content.messages import os_reason

#: The environment variable naming the Unix group that may read and write Loa's files.
SHARED_GROUP_ENV = "LOA_SHARED_GROUP"
PRIVATE_MODE = 0o600
SHARED_MODE = 0o660


class FileWriteError(LoaError):
    """A file the user asked for cannot be written (missing directory, no permission,
    unknown shared group)."""


def shared_group(group: str | None = None) -> str | None:
    """The group files are shared with: ``group`` if given, else ``$LOA_SHARED_GROUP``,
    else None (owner only)."""
    chosen = group if group is not None else os.environ.get(SHARED_GROUP_ENV, "")
    return chosen.strip() or None


def _gid(group: str) -> int:
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise FileWriteError("no_group", variable=SHARED_GROUP_ENV, group=group) from None


@contextlib.contextmanager
def private_file(path: Path | str, *, group: str | None = None) -> Iterator[BinaryIO]:
    """Open ``path`` for writing (binary) so it ends up mode 600, or 660 owned by the shared
    group (``group``, else ``$LOA_SHARED_GROUP``; see :func:`shared_group`).

    The data goes to a new file beside ``path`` (created with that mode from the start, so
    it is never readable by others, not even while being written) that replaces ``path``
    when the block ends without an error: a reader never sees half a report, an existing
    644 file does not keep its mode, and a failed write leaves the old file as it was.
    Errors are :class:`FileWriteError`, one line naming the file.
    """
    target = Path(path)
    name = shared_group(group)
    gid = _gid(name) if name is not None else None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise FileWriteError("file_unwritable", path=str(target), reason=os_reason(exc)) from None
    try:
        if gid is not None:
            try:
                os.fchown(fd, -1, gid)
            except PermissionError:
                raise FileWriteError(
                    "not_in_group", path=str(target), group=name, variable=SHARED_GROUP_ENV
                ) from None
            os.fchmod(fd, SHARED_MODE)
        with os.fdopen(fd, "wb") as out:
            fd = -1  # the file object closes it now
            yield out
        os.replace(tmp, target)
    except OSError as exc:
        _discard(fd, tmp)
        raise FileWriteError("file_unwritable", path=str(target), reason=os_reason(exc)) from None
    except BaseException:
        _discard(fd, tmp)
        raise


def share_new(fd: int, where: Path) -> None:
    """Give a just-created file (open as ``fd``) to the shared group with mode 660, when an
    office set one; otherwise leave it as created (600). See :func:`shared_group`."""
    name = shared_group()
    if name is None:
        return
    try:
        os.fchown(fd, -1, _gid(name))
    except PermissionError:
        raise FileWriteError(
            "not_in_group", path=str(where), group=name, variable=SHARED_GROUP_ENV
        ) from None
    os.fchmod(fd, SHARED_MODE)


def _discard(fd: int, tmp: str) -> None:
    if fd >= 0:
        os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


def write_private(
    path: Path | str, data: bytes | str, *, encoding: str = "utf-8", group: str | None = None
) -> None:
    """Write ``data`` (text is encoded, newlines kept as they are) to ``path`` as
    :func:`private_file` does: mode 600, or 660 for the shared group."""
    payload = data.encode(encoding) if isinstance(data, str) else data
    with private_file(path, group=group) as out:
        out.write(payload)

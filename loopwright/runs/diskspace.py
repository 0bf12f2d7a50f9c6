"""Running out of disk: one error for it, and a reserve so a run can still record its end.

A write of loopwright's own files that fails with ENOSPC or EDQUOT (or SQLite's "database
or disk is full") becomes ``DiskFull`` naming the file. A live run's directory holds a
preallocated ``.reserve`` file; it is freed right before the run's final event, result
and status are written, so a run on a full disk still ends ``failed`` with the reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..errors import DiskFull
from ..fsmodes import open_nofollow

__all__ = [
    "RESERVE_BYTES",
    "RESERVE_NAME",
    "DiskFull",
    "find_disk_full",
    "is_disk_full",
    "make_reserve",
    "release_reserve",
    "writing",
]

RESERVE_NAME = ".reserve"
RESERVE_BYTES = 256 * 1024
"""Room for the final event, result, status (written beside the old one) and index row."""
ALMOST_FULL = 1024 * 1024
_FULL = (errno.ENOSPC, errno.EDQUOT)
_CHUNK = 64 * 1024


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in _FULL
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return False


def _as_disk_full(exc: BaseException, path: str | os.PathLike[str] | None) -> DiskFull:
    if isinstance(exc, DiskFull):
        return exc
    code = exc.errno if isinstance(exc, OSError) and exc.errno in _FULL else errno.ENOSPC
    where = path if path is not None else getattr(exc, "filename", None)
    return DiskFull(str(where) if where is not None else "the state dir", code)


def find_disk_full(exc: BaseException) -> DiskFull | None:
    """The disk-full error in ``exc``, in an exception group, or in its ``__cause__``."""
    todo, seen = [exc], set()
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if is_disk_full(e):
            return _as_disk_full(e, None)
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        if e.__cause__ is not None:
            todo.append(e.__cause__)
    return None


@contextlib.contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a disk-full failure of the writes inside into ``DiskFull`` naming ``path``."""
    try:
        yield
    except DiskFull:
        raise
    except (OSError, sqlite3.Error) as exc:
        if not (is_disk_full(exc) or _sqlite_io_error_on_a_full_disk(exc, path)):
            raise
        raise _as_disk_full(exc, path) from exc


def _sqlite_io_error_on_a_full_disk(exc: BaseException, path: str | os.PathLike[str]) -> bool:
    """SQLite reports a shared-memory file it cannot size (opening a WAL database on a
    full disk, even to read) as a bare "disk I/O error": a full disk is its likely cause
    when the file system has almost no room left."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or code is None or code & 0xFF != sqlite3.SQLITE_IOERR:
        return False
    try:
        st = os.statvfs(os.path.dirname(os.fspath(path)) or ".")
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < ALMOST_FULL


def make_reserve(run_dir: Path, size: int = RESERVE_BYTES) -> None:
    """Preallocate ``run_dir/.reserve`` (kept if already there); ``DiskFull`` if no room."""
    path = run_dir / RESERVE_NAME
    try:
        with writing(path):
            fd = open_nofollow(path, os.O_WRONLY | os.O_CREAT)
            try:
                if os.fstat(fd).st_size < size:
                    _allocate(fd, size)
            finally:
                os.close(fd)
    except DiskFull:
        release_reserve(run_dir)  # a partial reserve would only take room from others
        raise


def _allocate(fd: int, size: int) -> None:
    try:
        os.posix_fallocate(fd, 0, size)
        return
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    zeros = bytes(_CHUNK)  # a file system without fallocate: real blocks, written
    os.lseek(fd, 0, os.SEEK_SET)
    left = size
    while left > 0:
        left -= os.write(fd, zeros[: min(_CHUNK, left)])
    os.fsync(fd)


def release_reserve(run_dir: Path) -> bool:
    """Free the reserve so the writes that follow find room; False if there was none."""
    try:
        os.unlink(run_dir / RESERVE_NAME)
    except FileNotFoundError:
        return False
    return True

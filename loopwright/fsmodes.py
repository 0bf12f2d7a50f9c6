"""How loopwright makes its own folders and files: 0700 and 0600 whatever the umask, and
never through a symbolic link.

A mode given to ``mkdir``/``open`` is cut by the umask, so each folder or file made here
is checked and set afterwards (``umask 000`` would otherwise leave nothing to cut, and an
odd umask like 0277 would leave a folder we cannot write). Files are opened with
``O_NOFOLLOW``, inside a folder opened with ``O_NOFOLLOW | O_DIRECTORY``: a planted link
as the file or as its folder (a run dir) is an ``OSError`` (ELOOP or ENOTDIR), never
followed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "is_link_refusal",
    "open_folder",
    "open_nofollow",
    "open_private_sqlite",
    "private_dir",
    "write_private",
]

DIR_MODE = 0o700
FILE_MODE = 0o600
_FOLDER_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def private_dir(path: str | os.PathLike[str], exist_ok: bool = True) -> Path:
    """Make the folder ``path`` and its missing parents 0700 whatever the umask; an existing
    one of ours is tightened to 0700. ``exist_ok=False``: ``path`` must not exist yet."""
    path = Path(path)
    missing: list[Path] = []
    top = path
    while not os.path.lexists(top) and top != top.parent:
        missing.append(top)
        top = top.parent
    if not missing and not exist_ok:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:  # made meanwhile by another process
            if folder == path and not exist_ok:
                raise
        _tighten(folder)
    if not missing:
        _tighten(path)
    return path


def _tighten(folder: Path) -> None:
    st = os.stat(folder)  # the state dir itself may be a link the user made: followed
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
    if stat.S_IMODE(st.st_mode) != DIR_MODE and st.st_uid == os.geteuid():
        os.chmod(folder, DIR_MODE)


def open_folder(path: str | os.PathLike[str]) -> int:
    """A descriptor of the folder ``path``, for ``dir_fd``; a symbolic link is refused."""
    return os.open(path, _FOLDER_FLAGS)


def open_nofollow(
    path: str | os.PathLike[str], flags: int, mode: int = FILE_MODE, dir_fd: int | None = None
) -> int:
    """``os.open`` refusing a symbolic link as the file or as its folder. With ``O_CREAT``
    the file is ``mode`` (0600) whatever the umask. ``dir_fd``: ``path`` is a name in that
    folder (from ``open_folder``)."""
    if dir_fd is None:
        folder = open_folder(Path(path).parent)
        try:
            return open_nofollow(Path(path).name, flags, mode, folder)
        finally:
            os.close(folder)
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    if flags & os.O_CREAT:
        try:
            st = os.fstat(fd)
            if stat.S_IMODE(st.st_mode) != mode and st.st_uid == os.geteuid():
                os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            raise
    return fd


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace the contents of the file ``path``: 0600, not through a symbolic link."""
    fd = open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def is_link_refusal(exc: OSError) -> bool:
    """True for the error ``open_nofollow``/``open_folder`` give a symbolic link."""
    return exc.errno in (errno.ELOOP, errno.ENOTDIR)


def open_private_sqlite(path: Path, schema: str, timeout: float) -> sqlite3.Connection:
    """A SQLite database of ours at ``path`` (folder 0700, file 0600 before SQLite opens
    it, so its -wal and -shm files take that mode; never through a link), in WAL mode for
    several writing processes, with ``schema`` applied; usable from any thread."""
    private_dir(path.parent)
    os.close(open_nofollow(path, os.O_RDWR | os.O_CREAT))
    db = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(schema)
    return db


class PrivateSqlite:
    """A store's connection to its private SQLite file (``open_private_sqlite``), opened on
    first use, one transaction at a time; safe from any thread of one process."""

    def __init__(self, path: Path, schema: str, timeout: float) -> None:
        self.path, self.schema, self.timeout = path, schema, timeout
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one transaction (committed on exit, rolled back on error)."""
        with self._lock:
            if self._db is None:
                self._db = open_private_sqlite(self.path, self.schema, self.timeout)
            with self._db as db:
                yield db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

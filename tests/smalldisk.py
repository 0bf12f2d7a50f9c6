"""A real small file system for disk-full tests: a tmpfs, filled to the last byte on demand.

Mounting needs root (or CAP_SYS_ADMIN); elsewhere the tests that use it are skipped.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PAGE = 4096
_fillers = itertools.count()

FILL_SCRIPT = """
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
try:
    while True:
        os.write(fd, bytes(65536))
except OSError:
    pass
"""


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "4m") -> Iterator[Path]:
    """``path`` with a fresh tmpfs of ``size`` mounted on it, unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    argv = ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)]
    mounted = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:  # lazily: a run host that is still exiting may hold its run dir
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill ``disk`` until a write fails with ENOSPC, then free ``leave`` bytes (whole
    pages: tmpfs counts pages). Files already there keep the slack of their last page."""
    filler = disk / f".filler-{next(_fillers)}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, bytes(65536))
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def fill_argv(disk: Path) -> list[str]:
    """A command that fills ``disk`` (for a scripted worker to run mid-run)."""
    return [sys.executable, "-c", FILL_SCRIPT, str(disk / ".filler-by-worker")]

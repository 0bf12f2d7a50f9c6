"""Resource caps for a sandboxed command: memory, processes and file size.

The caps are rlimits set by ``prlimit`` (util-linux) inside the sandbox, just before the
command runs, soft and hard alike (the command cannot raise them):

- memory: ``RLIMIT_DATA``, the heap and private writable mappings. Not ``RLIMIT_AS``:
  address-space reservations that use no memory (V8's WebAssembly guard regions, so any
  Node program) fail under an address-space cap long before memory runs short.
- processes: ``RLIMIT_NPROC``. bubblewrap gives the command a user namespace of its own,
  so the count is the sandbox's processes, not all of the user's. The kernel never
  applies ``RLIMIT_NPROC`` to root (uid 0), though: for root the cap is a ``pids``
  cgroup of its own per command when one can be made (cgroup v1 ``pids`` hierarchy, or
  v2 with the ``pids`` controller enabled at its root), and ``process_cap_problem`` says
  so when none can.
- file size: ``RLIMIT_FSIZE``; a write past it fails (the writer gets ``SIGXFSZ``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import anyio

from ..errors import UserError

__all__ = [
    "PIDS_OVERHEAD",
    "SETTINGS",
    "Caps",
    "enter_cgroup",
    "new_pids_cgroup",
    "pids_root",
    "process_cap_problem",
    "remove_cgroup",
]

PIDS_OVERHEAD = 2
"""Processes of bubblewrap's own in a command's cgroup (its monitor and its init), so the
command itself gets ``processes``."""
CGROUP_V1 = Path("/sys/fs/cgroup/pids")
CGROUP_V2 = Path("/sys/fs/cgroup")
RMDIR_WAIT = 2.0
"""Seconds a command's cgroup is given to empty once the command has ended."""

_MIB = 1024 * 1024
SETTINGS = (
    ("LOOPWRIGHT_SANDBOX_MEMORY_MB", 8192, _MIB),
    ("LOOPWRIGHT_SANDBOX_PROCESSES", 1024, 1),
    ("LOOPWRIGHT_SANDBOX_FILE_MB", 4096, _MIB),
)
"""The environment variables that set the caps: name, default, unit (bytes per unit)."""

_names = itertools.count()


@dataclass(frozen=True)
class Caps:
    """The caps of one sandboxed command (bytes, count, bytes)."""

    memory: int
    processes: int
    file_size: int

    @classmethod
    def configured(cls) -> Caps:
        """The caps set in the environment (``SETTINGS``), else the defaults: 8 GiB of
        memory, 1024 processes, files up to 4 GiB. A bad value is a ``UserError``."""
        values = []
        for name, default, unit in SETTINGS:
            raw = os.environ.get(name, "").strip()
            value = int(raw) if raw.isdigit() else (default if not raw else 0)
            if value <= 0:
                raise UserError(f"{name}={raw!r}: give a whole number above 0", name)
            values.append(value * unit)
        return cls(memory=values[0], processes=values[1], file_size=values[2])

    def prlimit(self, program: str) -> list[str]:
        """The argv prefix that sets the caps and then runs the command (``-- argv``)."""
        return [
            program,
            f"--data={self.memory}",
            f"--nproc={self.processes}",
            f"--fsize={self.file_size}",
            "--",
        ]


def pids_root() -> Path | None:
    """Where a ``pids`` cgroup can be made for root's commands, or None."""
    if os.geteuid() != 0:
        return None
    if (CGROUP_V1 / "cgroup.procs").is_file() and os.access(CGROUP_V1, os.W_OK):
        return CGROUP_V1
    try:
        enabled = (CGROUP_V2 / "cgroup.subtree_control").read_text().split()
    except OSError:
        return None
    return CGROUP_V2 if "pids" in enabled and os.access(CGROUP_V2, os.W_OK) else None


def process_cap_problem() -> str | None:
    """Why the process cap does not hold here, or None when it does."""
    if os.geteuid() != 0 or pids_root() is not None:
        return None
    return (
        "the process cap is not enforced: loopwright runs as root, the kernel does not apply "
        "RLIMIT_NPROC to root, and no pids cgroup can be made here"
    )


def new_pids_cgroup(processes: int) -> Path | None:
    """A fresh ``pids`` cgroup capped at ``processes`` (plus bubblewrap's own) for one
    command, or None when not root or none can be made (``RLIMIT_NPROC`` is the cap then).
    The caller removes it with ``remove_cgroup``."""
    root = pids_root()
    if root is None:
        return None
    group = root / f"loopwright-{os.getpid()}-{next(_names)}"
    try:
        group.mkdir(mode=0o755)
        (group / "pids.max").write_text(str(processes + PIDS_OVERHEAD))
    except OSError:
        with contextlib.suppress(OSError):
            group.rmdir()
        return None
    return group


async def remove_cgroup(group: Path) -> None:
    """rmdir once its last process is gone (a sandbox's teardown is asynchronous)."""
    delay = 0.002
    with anyio.move_on_after(RMDIR_WAIT):
        while True:
            try:
                group.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.05)
    # still busy: an empty group left behind costs nothing; never hang a run on it


def enter_cgroup(group: Path, argv: list[str]) -> list[str]:
    """``argv`` started from inside ``group``: a shell moves itself in, then execs it, so
    every process it starts is counted from the first."""
    return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(group / "cgroup.procs"), *argv]

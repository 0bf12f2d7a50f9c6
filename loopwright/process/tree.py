"""Processes as the kernel sees them: start times, sessions, and the whole tree a command
started, found again after parts of it left its process group and session.

``killpg`` misses a grandchild that called ``setsid``. Two things find it anyway:

- this process is a child subreaper (Linux ``PR_SET_CHILD_SUBREAPER``), so an orphan
  below us re-parents to us instead of to init and stays in our part of ``/proc``;
- every command gets a tag in its environment (``LOOPWRIGHT_PROCESS_TAG``), which its
  descendants inherit; it says which command an adopted orphan came from when several
  commands run side by side in one process.

A command's processes are its leader (checked by start time), the members of its process
group, our children that carry its tag, pids seen in its tree before (same start time),
and every descendant of those. Nothing else is signalled, so other commands' live
processes are left alone. Killed orphans that re-parented to us are reaped here.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "TAG_VAR",
    "ProcRow",
    "ProcessTree",
    "become_subreaper",
    "kill_session",
    "new_tag",
    "pid_alive",
    "proc_row",
    "proc_start_time",
    "proc_table",
    "session_members",
    "signal_group",
]

TAG_VAR = "LOOPWRIGHT_PROCESS_TAG"
PR_SET_CHILD_SUBREAPER = 36

_subreaper: bool | None = None


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux): orphans of its descendants re-parent to
    it. Idempotent; False where the kernel or platform does not offer it."""
    global _subreaper
    if _subreaper is None:
        _subreaper = sys.platform.startswith("linux") and _prctl(PR_SET_CHILD_SUBREAPER, 1)
    return _subreaper


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def new_tag() -> str:
    """A fresh value for ``TAG_VAR``: one per command."""
    return secrets.token_hex(8)


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@dataclass(frozen=True)
class ProcRow:
    """One line of ``/proc/<pid>/stat``, the fields we use."""

    ppid: int
    pgid: int
    sid: int
    start: int
    """Clock ticks since boot: with the pid, it names one process even after pid reuse."""
    zombie: bool


def proc_row(pid: int) -> ProcRow | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()  # the name in parentheses may hold spaces
    return ProcRow(
        ppid=int(fields[1]),
        pgid=int(fields[2]),
        sid=int(fields[3]),
        start=int(fields[19]),
        zombie=fields[0] == b"Z",
    )


def proc_table() -> dict[int, ProcRow]:
    """Every process we can see (Linux /proc; empty elsewhere)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return {}
    rows = {}
    for name in names:
        if name.isdigit() and (row := proc_row(int(name))) is not None:
            rows[int(name)] = row
    return rows


def proc_start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None if unknown or gone."""
    row = proc_row(pid)
    return None if row is None else row.start


def pid_alive(pid: int, start_time: int | None) -> bool:
    """True when ``pid`` runs and, if a start time is given, is the same process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    row = proc_row(pid)
    if row is None:
        return start_time is None  # no /proc here: trust the pid alone
    if row.zombie:  # a zombie has finished; only its parent has not reaped it
        return False
    return start_time is None or row.start == start_time


def session_members(sid: int) -> list[int]:
    """Pids whose session id is ``sid`` (Linux /proc; empty elsewhere)."""
    return [pid for pid, row in proc_table().items() if row.sid == sid]


def kill_session(sid: int) -> int:
    """SIGKILL every process of session ``sid`` (a host and all its workers' groups)."""
    killed = 0
    for pid in session_members(sid):
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except (ProcessLookupError, PermissionError):
            pass
    return killed


def _has_tag(pid: int, needle: bytes) -> bool:
    try:
        return needle in b"\0" + Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def _closure(table: dict[int, ProcRow], roots: Iterable[int]) -> dict[int, ProcRow]:
    children: dict[int, list[int]] = {}
    for pid, row in table.items():
        children.setdefault(row.ppid, []).append(pid)
    found: dict[int, ProcRow] = {}
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found[pid] = table[pid]
            todo.extend(children.get(pid, ()))
    return found


class ProcessTree:
    """Every process one command started, wherever it went; see the module docstring.

    ``leader`` is the command's pid and process group id; ``tag`` the value of
    ``TAG_VAR`` in its environment.
    """

    def __init__(self, leader: int, tag: str) -> None:
        self.leader = leader
        self.leader_start = proc_start_time(leader)
        self.needle = f"\0{TAG_VAR}={tag}\0".encode()
        self.seen: dict[int, int] = {}
        """pid -> start time of every process found in the tree so far."""

    def scan(self) -> dict[int, ProcRow]:
        """The command's processes now, zombies included; each is remembered."""
        table = proc_table()
        me, sid = os.getpid(), os.getsid(0)
        roots = [pid for pid, row in table.items() if self._is_root(pid, row, me, sid)]
        found = _closure(table, roots)
        found.pop(me, None)
        self.seen.update((pid, row.start) for pid, row in found.items())
        return found

    def _is_root(self, pid: int, row: ProcRow, me: int, sid: int) -> bool:
        if pid == self.leader:
            return row.start == self.leader_start
        if (row.pgid == self.leader and row.sid == sid) or self.seen.get(pid) == row.start:
            return True
        # An orphan that re-parented to us: ours if it carries this command's tag.
        return row.ppid == me and not row.zombie and _has_tag(pid, self.needle)

    def signal(self, sig: int) -> bool:
        """Send ``sig`` to the group and every live process of the tree, reap the zombies
        it left with us; True when anything was signalled or reaped (look again)."""
        found = self.scan()
        signal_group(self.leader, sig)  # all that is left where there is no /proc
        busy = False
        for pid, row in found.items():
            if not row.zombie:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
                busy = True
        return self.reap(found) or busy

    def reap(self, found: dict[int, ProcRow]) -> bool:
        """Reap the tree's zombies that are our adopted children; True if any were.

        The leader is left to whoever started it (asyncio waits for it); any other child
        of ours in the tree re-parented to us, so nobody else waits for it."""
        me, reaped = os.getpid(), False
        for pid, row in found.items():
            if row.zombie and row.ppid == me and pid != self.leader:
                with contextlib.suppress(ChildProcessError):
                    reaped = os.waitpid(pid, os.WNOHANG)[0] == pid or reaped
        return reaped

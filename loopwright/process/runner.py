"""The one place loopwright starts subprocesses.

Every child gets its own process group (inside our session, so the workers of a run-host
that died can still be found by the host's session id), stdin from /dev/null unless we own
a pipe for it, and captured output. On timeout, cancellation or after the leader exits,
the command's whole tree gets SIGTERM, then SIGKILL after a grace period: its group and
also the descendants that left the group or the session (see ``process_tree``; a process
that runs commands here becomes a child subreaper for that).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.lowlevel

from ..errors import ProcessError
from .tree import (
    TAG_VAR,
    ProcessTree,
    become_subreaper,
    kill_session,
    new_tag,
    pid_alive,
    proc_start_time,
    session_members,
    signal_group,
)

__all__ = [
    "DEFAULT_CAP",
    "KILL_GRACE",
    "MAX_LINE",
    "CappedText",
    "LineCallback",
    "ProcessResult",
    "become_subreaper",
    "kill_session",
    "pid_alive",
    "proc_start_time",
    "run_process",
    "session_members",
    "signal_group",
]

DEFAULT_CAP = 256 * 1024
MAX_LINE = 65536
"""Past this many bytes without a newline, ``on_line`` gets the line in pieces."""
KILL_GRACE = 2.0
TREE_SCAN_EVERY = 2.0
"""How often a running command's process tree is walked and remembered."""


class CappedText:
    """Keeps the first quarter and the last three quarters of ``cap`` bytes of a stream."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.cap // 4 - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail += chunk
        excess = len(self.tail) - (self.cap - self.cap // 4)
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        if self.dropped:
            return f"{head}\n[... {self.dropped} bytes cut ...]\n{tail}"
        return head + tail


@dataclass
class ProcessResult:
    argv: list[str]
    exit_code: int | None
    output: str
    timed_out: bool
    duration: float
    truncated: bool
    idle_timed_out: bool = False
    """Stopped because it printed nothing for ``idle_timeout`` seconds (``timed_out`` too)."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


LineCallback = Callable[[str], None]


async def _pump(
    stream: asyncio.StreamReader,
    buf: CappedText,
    on_line: LineCallback | None,
    seen: list[float] | None = None,
    max_line: int = MAX_LINE,
) -> None:
    pending = bytearray()
    while chunk := await stream.read(65536):
        if seen is not None:
            seen[0] = time.monotonic()
        buf.add(chunk)
        if on_line is None:
            continue
        pending += chunk
        if b"\n" in chunk:  # split only then: a long line costs no quadratic re-splitting
            *lines, rest = pending.split(b"\n")
            for line in lines:
                on_line(line.decode("utf-8", "replace"))
            pending = bytearray(rest)
        if len(pending) > max_line:  # a huge unterminated line: hand it over in pieces
            on_line(pending.decode("utf-8", "replace"))
            pending = bytearray()
    if pending and on_line is not None:
        on_line(pending.decode("utf-8", "replace"))


class _Child(asyncio.subprocess.SubprocessStreamProtocol):
    """Knows when the process exits: asyncio's own ``Process.wait()`` (3.11) also waits
    for every pipe to close, which a grandchild holding stdout can put off forever."""

    def __init__(self) -> None:
        super().__init__(limit=2**16, loop=asyncio.get_running_loop())
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


@dataclass
class _Proc:
    pid: int
    stdout: asyncio.StreamReader
    stdin: asyncio.StreamWriter | None
    exited: asyncio.Event
    transport: asyncio.SubprocessTransport

    @property
    def returncode(self) -> int | None:
        return self.transport.get_returncode()

    async def wait(self) -> None:
        await self.exited.wait()


async def _spawn(
    argv: Sequence[str], cwd: str | Path, env: Mapping[str, str], pipe_stdin: bool
) -> _Proc:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        _Child,
        *argv,
        stdin=subprocess.PIPE if pipe_stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=str(cwd),
        env=dict(env),
        process_group=0,
    )
    proc = asyncio.subprocess.Process(transport, protocol, loop)
    assert proc.stdout is not None
    return _Proc(proc.pid, proc.stdout, proc.stdin, protocol.exited, transport)


async def _start(
    argv: Sequence[str], cwd: str | Path, env: Mapping[str, str] | None, pipe_stdin: bool
) -> tuple[_Proc, ProcessTree]:
    await anyio.lowlevel.checkpoint()  # cancelled already: start nothing
    become_subreaper()
    tag = new_tag()
    child_env = {**(os.environ if env is None else env), TAG_VAR: tag}
    # Shielded: a cancel landing between the fork and the caller's cleanup being in place
    # would kill the leader alone (asyncio's own cleanup) and leave its children running.
    with anyio.CancelScope(shield=True):
        try:
            proc = await _spawn(argv, cwd, child_env, pipe_stdin)
        except OSError as exc:
            raise ProcessError(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from exc
    return proc, ProcessTree(proc.pid, tag)


async def _stop(proc: _Proc, tree: ProcessTree, grace: float) -> None:
    """SIGTERM and a grace period if the leader still runs; then SIGKILL for the whole tree
    until none of it is left (or ``grace`` passes), its adopted zombies reaped."""
    if proc.returncode is None:
        tree.signal(signal.SIGTERM)  # also the moment its tree is still joined up
        with anyio.move_on_after(grace):
            await proc.wait()
    delay = 0.005
    with anyio.move_on_after(grace):
        while tree.signal(signal.SIGKILL):
            # Killing is asynchronous, and the orphans of a killed process reach us only
            # as it dies: look again until a pass finds nothing to kill or reap.
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.1)
        await proc.wait()


async def _remember_tree(tree: ProcessTree, every: float) -> None:
    """Notes who belongs to the command while its tree is joined up, so that a process
    that escapes it and scrubs its environment is still known as ours later."""
    while True:
        await anyio.sleep(every)
        tree.reap(tree.scan())


async def run_process(
    argv: Sequence[str],
    *,
    cwd: str | Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    on_line: LineCallback | None = None,
    cap: int = DEFAULT_CAP,
    grace: float = KILL_GRACE,
    idle_timeout: float | None = None,
    max_line: int = MAX_LINE,
) -> ProcessResult:
    """Run ``argv`` to completion with stdout+stderr merged, capped and streamed by line.

    Never raises for a non-zero exit or a timeout (see ``ProcessResult``); raises
    ``ProcessError`` when the program cannot be started. Cancellation kills the group.
    ``idle_timeout`` (off by default) stops the group when it prints nothing for that many
    seconds; the result then has ``timed_out`` and ``idle_timed_out`` set.
    ``max_line`` bounds the bytes held for one line (a JSON event line can be long).
    """
    started = time.monotonic()
    proc, tree = await _start(argv, cwd, env, stdin is not None)
    buf = CappedText(cap)
    pumped = anyio.Event()
    seen = [started] if idle_timeout is not None else None
    idle = False

    async def pump() -> None:
        assert proc.stdout is not None
        try:
            await _pump(proc.stdout, buf, on_line, seen, max_line)
        finally:
            pumped.set()

    async def watch_idle(limit: float, scope: anyio.CancelScope) -> None:
        nonlocal idle
        assert seen is not None
        while True:
            # Woken once per ``limit`` at most, not per chunk: output costs one clock read.
            await anyio.sleep(max(0.0, seen[0] + limit - time.monotonic()))
            if time.monotonic() - seen[0] >= limit:
                idle = True
                scope.cancel()
                return

    try:
        with anyio.move_on_after(timeout) as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(pump)
                if stdin is not None:
                    tg.start_soon(_feed, proc, stdin)
                if idle_timeout is not None:
                    tg.start_soon(watch_idle, idle_timeout, scope)
                tg.start_soon(_remember_tree, tree, TREE_SCAN_EVERY)
                await proc.wait()
                if not pumped.is_set():
                    # The leader is gone but something it left behind holds the pipe.
                    tree.signal(signal.SIGTERM)
                    with anyio.move_on_after(grace):
                        await pumped.wait()
                    tree.signal(signal.SIGKILL)
                    with anyio.move_on_after(grace):
                        await pumped.wait()
                tg.cancel_scope.cancel()  # stop the watchers
        timed_out = scope.cancelled_caught
    finally:
        with anyio.CancelScope(shield=True):
            await _stop(proc, tree, grace)
            proc.transport.close()
    return ProcessResult(
        argv=list(argv),
        exit_code=None if timed_out else proc.returncode,
        output=buf.text(),
        timed_out=timed_out,
        duration=time.monotonic() - started,
        truncated=buf.truncated,
        idle_timed_out=idle and timed_out,
    )


async def _feed(proc: _Proc, data: bytes) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(data)
        await proc.stdin.drain()
    except OSError:  # the child closed its stdin early
        pass
    finally:
        proc.stdin.close()

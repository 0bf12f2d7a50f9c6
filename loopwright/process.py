"""The one place loopwright starts subprocesses.

Every child gets its own process group (inside our session, so the workers of a run-host
that died can still be found by the host's session id), stdin from /dev/null unless we own
a pipe for it, and captured output. On timeout, cancellation or after the leader exits,
the whole group gets SIGTERM, then SIGKILL after a grace period, so grandchildren die too.
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

from .errors import ProcessError

DEFAULT_CAP = 256 * 1024
MAX_LINE = 65536
"""Past this many bytes without a newline, ``on_line`` gets the line in pieces."""
KILL_GRACE = 2.0


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


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


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
    argv: Sequence[str], cwd: str | Path, env: Mapping[str, str] | None, pipe_stdin: bool
) -> _Proc:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        _Child,
        *argv,
        stdin=subprocess.PIPE if pipe_stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=str(cwd),
        env=dict(env) if env is not None else None,
        process_group=0,
    )
    proc = asyncio.subprocess.Process(transport, protocol, loop)
    assert proc.stdout is not None
    return _Proc(proc.pid, proc.stdout, proc.stdin, protocol.exited, transport)


async def _stop_group(proc: _Proc, grace: float) -> None:
    if proc.returncode is None:
        signal_group(proc.pid, signal.SIGTERM)
        with anyio.move_on_after(grace):
            await proc.wait()
    signal_group(proc.pid, signal.SIGKILL)
    with anyio.move_on_after(grace):
        await proc.wait()


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
    try:
        proc = await _spawn(argv, cwd, env, stdin is not None)
    except OSError as exc:
        raise ProcessError(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from exc
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
                await proc.wait()
                if not pumped.is_set():
                    # The leader is gone but something it left behind holds the pipe.
                    signal_group(proc.pid, signal.SIGTERM)
                    with anyio.move_on_after(grace):
                        await pumped.wait()
                    signal_group(proc.pid, signal.SIGKILL)
                    with anyio.move_on_after(grace):
                        await pumped.wait()
                    tg.cancel_scope.cancel()
                if idle_timeout is not None:
                    tg.cancel_scope.cancel()  # stop the idle watcher
        timed_out = scope.cancelled_caught
    finally:
        with anyio.CancelScope(shield=True):
            await _stop_group(proc, grace)
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


def proc_start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None if unknown or gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    return int(fields[19])


def pid_alive(pid: int, start_time: int | None) -> bool:
    """True when ``pid`` runs and, if a start time is given, is the same process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return start_time is None  # no /proc here: trust the pid alone
    fields = raw[raw.rfind(b")") + 2 :].split()
    if fields[0] == b"Z":  # a zombie has finished; only its parent has not reaped it
        return False
    return start_time is None or int(fields[19]) == start_time


def session_members(sid: int) -> list[int]:
    """Pids whose session id is ``sid`` (Linux /proc; empty elsewhere)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2 :].split()
        if int(fields[3]) == sid:
            found.append(int(name))
    return found


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

"""The plain runner's async side: a command in its own process group, its output piped
and pumped, and its whole tree stopped when it ends, times out or is cancelled.

Every child gets its own process group (inside our session, so the workers of a run-host
that died can still be found by the host's session id), stdin from /dev/null unless we own
a pipe for it, and captured output. On timeout, cancellation or after the leader exits,
the command's whole tree gets SIGTERM, then SIGKILL after a grace period: its group and
also the descendants that left the group or the session (see ``tree``; a process that runs
commands here becomes a child subreaper for that).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.lowlevel

from ..errors import ProcessError
from .capture import CappedText, LineCallback, ProcessResult, pump
from .tree import TAG_VAR, ProcessTree, become_subreaper, new_tag

__all__ = ["TREE_SCAN_EVERY", "run_in_group"]

TREE_SCAN_EVERY = 2.0
"""How often a running command's process tree is walked and remembered."""


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


async def _feed(proc: _Proc, data: bytes) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(data)
        await proc.stdin.drain()
    except OSError:  # the child closed its stdin early
        pass
    finally:
        proc.stdin.close()


@dataclass
class _Watch:
    """What the watchers of one running command share."""

    proc: _Proc
    tree: ProcessTree
    buf: CappedText
    on_line: LineCallback | None
    max_line: int
    seen: list[float] | None
    """Monotonic time of the last output, when an idle timeout watches it."""
    pumped: anyio.Event
    idle: bool = False

    async def pump(self) -> None:
        try:
            await pump(self.proc.stdout, self.buf, self.on_line, self.seen, self.max_line)
        finally:
            self.pumped.set()

    async def watch_idle(self, limit: float, scope: anyio.CancelScope) -> None:
        assert self.seen is not None
        while True:
            # Woken once per ``limit`` at most, not per chunk: output costs one clock read.
            await anyio.sleep(max(0.0, self.seen[0] + limit - time.monotonic()))
            if time.monotonic() - self.seen[0] >= limit:
                self.idle = True
                scope.cancel()
                return

    async def drain(self, grace: float) -> None:
        """The leader is gone: wait for the pipe to close, stopping what still holds it."""
        if self.pumped.is_set():
            return
        self.tree.signal(signal.SIGTERM)
        with anyio.move_on_after(grace):
            await self.pumped.wait()
        self.tree.signal(signal.SIGKILL)
        with anyio.move_on_after(grace):
            await self.pumped.wait()


async def run_in_group(
    argv: Sequence[str],
    *,
    cwd: str | Path,
    timeout: float,
    env: Mapping[str, str] | None,
    stdin: bytes | None,
    on_line: LineCallback | None,
    cap: int,
    grace: float,
    idle_timeout: float | None,
    max_line: int,
) -> ProcessResult:
    """``PlainRunner.run``: see ``ProcessRunner.run`` for what the arguments mean."""
    started = time.monotonic()
    proc, tree = await _start(argv, cwd, env, stdin is not None)
    seen = [started] if idle_timeout is not None else None
    w = _Watch(proc, tree, CappedText(cap), on_line, max_line, seen, anyio.Event())
    try:
        with anyio.move_on_after(timeout) as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(w.pump)
                if stdin is not None:
                    tg.start_soon(_feed, proc, stdin)
                if idle_timeout is not None:
                    tg.start_soon(w.watch_idle, idle_timeout, scope)
                tg.start_soon(_remember_tree, tree, TREE_SCAN_EVERY)
                await proc.wait()
                await w.drain(grace)
                tg.cancel_scope.cancel()  # stop the watchers
        timed_out = scope.cancelled_caught
    finally:
        with anyio.CancelScope(shield=True):
            await _stop(proc, tree, grace)
            proc.transport.close()
    return ProcessResult(
        argv=list(argv),
        exit_code=None if timed_out else proc.returncode,
        output=w.buf.text(),
        timed_out=timed_out,
        duration=time.monotonic() - started,
        truncated=w.buf.truncated,
        idle_timed_out=w.idle and timed_out,
    )

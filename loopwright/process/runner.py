"""``ProcessRunner``: the one way loopwright starts a program, and ``PlainRunner``.

Code that starts a program takes a runner handed in (verify, the agent CLIs, the tool
loop's ``run_command``, git, the run host), so tests and the sandbox swap it. A runner has
three methods, one per kind of program loopwright starts:

- ``run`` (async): a command that may run long, its stdout and stderr merged, streamed by
  line and capped, killed as a whole tree on timeout or cancel: verify commands, agent
  CLIs, ``run_command``.
- ``run_sync``: a short command, bounded by its timeout, stdout and stderr kept apart and
  whole: git. Git is not routed through the async ``run``: it is called from worker
  threads while a repository lock (``flock``) is held and from code with no event loop
  (the CLI's merge, gc), and its stdout is data (diffs, ``-z`` lists) that must not be
  merged with stderr or capped.
- ``spawn_detached``: the run host, in a session of its own, its output to a log file;
  not waited for (reaped in the background so a long-lived server keeps no zombies).

Each method is a kind of program, not a vendor: a sandbox runner decides for each which
it confines. Which runner a run uses is chosen in one place (``runs.startup.run_runner``).

``PlainRunner``: every child in its own process group, stdin /dev/null unless we own a
pipe for it, the whole tree killed (see ``group`` and ``tree``). ``run_process`` is
``PlainRunner().run`` for code that has no run (tests, benchmarks).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from ..errors import ProcessError
from .capture import (
    DEFAULT_CAP,
    MAX_LINE,
    CappedText,
    Completed,
    LineCallback,
    Piece,
    ProcessResult,
)
from .group import run_in_group
from .tree import (
    become_subreaper,
    kill_session,
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
    "Completed",
    "LineCallback",
    "Piece",
    "PlainRunner",
    "ProcessResult",
    "ProcessRunner",
    "become_subreaper",
    "kill_session",
    "pid_alive",
    "proc_start_time",
    "run_process",
    "session_members",
    "signal_group",
]

KILL_GRACE = 2.0


class ProcessRunner(Protocol):
    """Starts programs for loopwright; see the module docstring for which method is for
    what. ``argv`` is a list (no shell); ``env`` None means our own environment."""

    async def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        timeout: float,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        on_line: LineCallback | None = None,
        cap: int = DEFAULT_CAP,
        idle_timeout: float | None = None,
        max_line: int = MAX_LINE,
    ) -> ProcessResult:
        """Run ``argv`` to its end, stdout+stderr merged, the first and last ``cap`` bytes
        kept, each line handed to ``on_line`` (a line held up to ``max_line`` bytes, a
        longer one handed over as ``Piece``s).

        Never raises for a non-zero exit or a timeout; raises ``ProcessError`` when the
        program cannot be started. Cancellation kills the whole tree. ``idle_timeout``
        stops it when it prints nothing for that many seconds (``idle_timed_out``)."""
        ...

    def run_sync(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        timeout: float,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> Completed:
        """Run a short command to its end, blocking; ``stdin`` fed (else /dev/null).

        Never raises for a non-zero exit or a timeout (``returncode`` None, its group
        killed); raises ``ProcessError`` when the program cannot be started. It has no
        controlling terminal: nothing it runs can stop to prompt."""
        ...

    def spawn_detached(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        output: int,
        env: Mapping[str, str] | None = None,
    ) -> int:
        """Start ``argv`` in a new session, stdin /dev/null, stdout and stderr to the file
        descriptor ``output``; returns its pid at once. Raises ``ProcessError`` when the
        program cannot be started."""
        ...


class PlainRunner:
    """The plain ``ProcessRunner``: own process group, subreaper, caps, the tree killed.

    ``grace`` is how long a command has between SIGTERM and SIGKILL."""

    def __init__(self, grace: float = KILL_GRACE) -> None:
        self.grace = grace

    async def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        timeout: float,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        on_line: LineCallback | None = None,
        cap: int = DEFAULT_CAP,
        idle_timeout: float | None = None,
        max_line: int = MAX_LINE,
    ) -> ProcessResult:
        return await run_in_group(
            argv,
            cwd=cwd,
            timeout=timeout,
            env=env,
            stdin=stdin,
            on_line=on_line,
            cap=cap,
            grace=self.grace,
            idle_timeout=idle_timeout,
            max_line=max_line,
        )

    def run_sync(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        timeout: float,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> Completed:
        started = time.monotonic()
        with _starting(argv):
            proc = subprocess.Popen(
                list(argv),
                cwd=str(cwd),
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own group, and no terminal to prompt on
            )
        with proc:
            try:
                out, err = proc.communicate(stdin, timeout=timeout)
            except subprocess.TimeoutExpired:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait()  # SIGKILL: prompt
                return Completed(list(argv), None, b"", b"", True, time.monotonic() - started)
            except BaseException:  # an interrupt: leave nothing running behind us
                signal_group(proc.pid, signal.SIGKILL)
                raise
        return Completed(list(argv), proc.returncode, out, err, False, time.monotonic() - started)

    def spawn_detached(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        output: int,
        env: Mapping[str, str] | None = None,
    ) -> int:
        with _starting(argv):
            proc = subprocess.Popen(
                list(argv),
                cwd=str(cwd),
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
                close_fds=True,
            )
        # Reap it when it ends so a long-lived server keeps no zombies (and pid checks stay
        # true).
        threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()
        return proc.pid


@contextlib.contextmanager
def _starting(argv: Sequence[str]) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise ProcessError(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from exc


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
    """``PlainRunner(grace).run(...)``, for code with no runner of its own (tests, benchmarks).

    Inside the package, code that starts a program takes a ``ProcessRunner`` instead."""
    return await PlainRunner(grace).run(
        argv,
        cwd=cwd,
        timeout=timeout,
        env=env,
        stdin=stdin,
        on_line=on_line,
        cap=cap,
        idle_timeout=idle_timeout,
        max_line=max_line,
    )

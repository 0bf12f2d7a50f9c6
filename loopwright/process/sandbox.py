"""``SandboxRunner``: the ``ProcessRunner`` that runs commands confined by bubblewrap.

Only ``run`` is confined: it is what starts other people's code (verify commands) and
other vendors' agents (agent CLIs, the tool loop's ``run_command``). ``run_sync`` (git)
and ``spawn_detached`` (the run host) are loopwright's own programs and go to the plain
runner: git must write ``.git`` (commits are loopwright's job), and the host is not a
command of the run's.

A confined command gets (see ``bwrap`` for the mounts, ``caps`` for the caps):

- the filesystem read-only, home, ``/run`` and loopwright's state dir hidden; writable
  only its repository root (the worktree, ``.git`` excepted) and a private ``/tmp``;
- no network (a loopback of its own) unless the policy allows it, and then everything
  the machine can reach;
- a PID namespace of its own that dies with it: nothing it started survives the step;
- no capabilities, a new session (no terminal to inject keystrokes into), and caps on
  memory, processes and file size.

The environment is the one it is handed (``env``; None means ours), passed through as
is but for ``TMPDIR``. A machine where bubblewrap is missing or cannot make namespaces
gets a ``ProcessError`` that says how to install it or how to opt out, never an
unconfined command; ``sandbox_problem`` asks the same question before a run starts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import anyio

from ..errors import ProcessError
from .bwrap import Mount, Plan, child_env, sandbox_argv
from .caps import Caps, enter_cgroup, new_pids_cgroup, remove_cgroup
from .capture import DEFAULT_CAP, MAX_LINE, Completed, LineCallback, ProcessResult
from .group import run_in_group
from .runner import KILL_GRACE, PlainRunner

__all__ = [
    "FIX",
    "INSTALL",
    "PROBE_TIMEOUT",
    "Mount",
    "SandboxPolicy",
    "SandboxRunner",
    "missing",
    "programs",
    "sandbox_problem",
]

INSTALL = "apt-get install bubblewrap"
"""How to install bubblewrap on Debian and Ubuntu (the package has that name elsewhere too)."""
PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class SandboxPolicy:
    """What a sandboxed command may have beyond the worktree and its ``/tmp``."""

    network: bool = False
    """Share the machine's network (everything it can reach), else a loopback of its own."""
    mounts: tuple[Mount, ...] = ()
    """Extra paths bound at their place, e.g. an agent CLI's login files in home."""
    caps: Caps | None = None
    """None: the configured caps (``Caps.configured``)."""


class SandboxRunner:
    """A ``ProcessRunner`` whose ``run`` is confined by bubblewrap; see the module docstring.

    ``grace`` is how long a command has between SIGTERM and SIGKILL."""

    def __init__(self, policy: SandboxPolicy | None = None, grace: float = KILL_GRACE) -> None:
        self.policy = policy or SandboxPolicy()
        self.caps = self.policy.caps or Caps.configured()
        self.plain = PlainRunner(grace)
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
        given = dict(os.environ if env is None else env)
        bwrap, prlimit = programs()
        tmp = Path(tempfile.mkdtemp(prefix="loopwright-sandbox-"))
        group = new_pids_cgroup(self.caps.processes)
        try:
            plan = Plan(bwrap, Path(cwd), given, tmp, self.policy.network, self.policy.mounts)
            wrapped = sandbox_argv(plan, argv, self.caps.prlimit(prlimit))
            if group is not None:
                wrapped = enter_cgroup(group, wrapped)
            result = await run_in_group(
                wrapped,
                cwd=cwd,
                timeout=timeout,
                env=child_env(given),
                stdin=stdin,
                on_line=on_line,
                cap=cap,
                grace=self.grace,
                idle_timeout=idle_timeout,
                max_line=max_line,
            )
        finally:
            with anyio.CancelScope(shield=True):
                if group is not None:
                    await remove_cgroup(group)
                # off the event loop: unlinking the mount points bubblewrap made in it
                # (for paths under /tmp) takes the kernel milliseconds
                await anyio.to_thread.run_sync(_remove_tree, tmp)
        return replace(result, argv=list(argv))

    def run_sync(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        timeout: float,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> Completed:
        """Not confined: git (loopwright's own commits and reads), on the plain runner."""
        return self.plain.run_sync(argv, cwd=cwd, timeout=timeout, env=env, stdin=stdin)

    def spawn_detached(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        output: int,
        env: Mapping[str, str] | None = None,
    ) -> int:
        """Not confined: the run host (loopwright itself), on the plain runner."""
        return self.plain.spawn_detached(argv, cwd=cwd, output=output, env=env)


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


FIX = f"install bubblewrap ({INSTALL}) or opt out with --sandbox off"


def missing() -> str | None:
    """Which program the sandbox needs is not on PATH, or None."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (bwrap is not on PATH)"
    if shutil.which("prlimit") is None:
        return "prlimit (from util-linux, for the caps) is not on PATH"
    return None


def programs() -> tuple[str, str]:
    """Where ``bwrap`` and ``prlimit`` are; ``ProcessError`` saying how to fix it if not."""
    reason = missing()
    bwrap, prlimit = shutil.which("bwrap"), shutil.which("prlimit")
    if reason is not None or bwrap is None or prlimit is None:
        raise ProcessError(f"the sandbox cannot start: {reason}; {FIX}")
    return bwrap, prlimit


def sandbox_problem(network: bool = False) -> str | None:
    """Why a command cannot be sandboxed here (bubblewrap or prlimit missing, namespaces
    refused), or None when it can: a real sandboxed ``true`` is run to find out."""
    reason = missing()
    if reason is not None:
        return reason
    bwrap, prlimit = programs()
    caps = Caps.configured()
    with tempfile.TemporaryDirectory(prefix="loopwright-probe-") as work:
        cwd, tmp = Path(work) / "cwd", Path(work) / "tmp"
        cwd.mkdir()
        tmp.mkdir()
        plan = Plan(bwrap, cwd, dict(os.environ), tmp, network)
        argv = sandbox_argv(plan, ["true"], caps.prlimit(prlimit))
        try:
            done = PlainRunner().run_sync(argv, cwd=cwd, timeout=PROBE_TIMEOUT)
        except ProcessError as exc:
            return str(exc)
    if done.timed_out:
        return f"bwrap did not finish a trial command within {PROBE_TIMEOUT:.0f}s"
    if done.returncode != 0:
        said = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
        first = said.splitlines()[0] if said else f"exit {done.returncode}"
        return f"bwrap cannot create its namespaces here ({first})"
    return None

"""Our git calls: no program the repository configures, no prompts, stdin /dev/null,
always a timeout.

A worker can write the repository's config (a worktree shares the user's), so none of its
programs may run from our calls: hooks, fsmonitor, signing, pager, editors and askpass are
switched off by fixed settings (``SAFE``, ``NO_PROGRAMS``), external diff and textconv by
flags on every ``diff``/``log``/``show``, and filters, merge drivers and transport
commands, whose names only the config knows, by ``repoconfig`` before each call that
could run one.

Every git call goes through a ``ProcessRunner``'s ``run_sync``: the one of the current
context, set with ``git_runner(runner)`` (a run sets its own for its whole run), else the
plain runner. A context, not a parameter, because git is called from some ninety places
in ``runs/git`` and from worker threads under a repository lock: ``anyio.to_thread`` and
tasks carry the context along, and a thread started by hand gets it through
``contextvars.copy_context``. Concurrent runs in one process each keep their own.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import anyio

from ...errors import ProcessError, UserError
from ...fsmodes import open_nofollow
from ...process.runner import Completed, PlainRunner, ProcessRunner
from .repoconfig import as_env, may_run_programs, overrides, parse_listing

IDENTITY = {
    "GIT_AUTHOR_NAME": "loopwright",
    "GIT_AUTHOR_EMAIL": "loopwright@localhost",
    "GIT_COMMITTER_NAME": "loopwright",
    "GIT_COMMITTER_EMAIL": "loopwright@localhost",
}
SAFE = [
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "merge.verifySignatures=false",
    "-c",
    "log.showSignature=false",
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "core.quotePath=false",
]
NO_PROGRAMS = {"GIT_PAGER": "cat", "GIT_EDITOR": ":", "GIT_SEQUENCE_EDITOR": ":", "GIT_ASKPASS": ""}
"""Environment that wins over the config's pager, editors and askpass (":" is git's "no
editor"; an empty askpass is none)."""
DIFF_FLAGS = ("--no-ext-diff", "--no-textconv")
_DIFFS = frozenset({"diff", "log", "show"})
TIMEOUT = 120.0

_PLAIN = PlainRunner()
_runner: ContextVar[ProcessRunner | None] = ContextVar("loopwright_git_runner", default=None)


@contextlib.contextmanager
def git_runner(runner: ProcessRunner) -> Iterator[None]:
    """Run the git calls made in this context (its tasks, and the threads anyio starts
    from it) through ``runner``."""
    token = _runner.set(runner)
    try:
        yield
    finally:
        _runner.reset(token)


def run_git(
    cwd: str | Path,
    *args: str,
    timeout: float = TIMEOUT,
    env: dict[str, str] | None = None,
    identity: bool = True,
    input: bytes | None = None,
) -> Completed:
    """Run git; returns the completed process (bytes) whatever its exit code.

    ``identity`` commits as loopwright; False leaves the user's own identity in charge.
    ``input`` is fed on stdin (otherwise stdin is /dev/null)."""
    full_env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        **NO_PROGRAMS,
        **(IDENTITY if identity else {}),
        **(env or {}),
    }
    if args and args[0] in _DIFFS:
        args = (args[0], *DIFF_FLAGS, *args[1:])
    if may_run_programs(args):
        full_env.update(_neutralised(cwd, full_env, timeout, args[0]))
    return _run(cwd, args, full_env, timeout, input, args[0])


def _neutralised(cwd: str | Path, env: dict[str, str], timeout: float, for_: str) -> dict[str, str]:
    """Settings undoing each program key the repository's config sets (``repoconfig``)."""
    done = _run(cwd, ("config", "--list", "--show-scope", "-z"), env, timeout, None, for_)
    if done.returncode != 0:  # the call itself would meet the same broken config
        err = done.stderr.decode("utf-8", "replace").strip()
        raise ProcessError(f"cannot read the repository's git config: {err}", done.returncode, err)
    return as_env(overrides(parse_listing(done.stdout)), env)


def _run(
    cwd: str | Path,
    args: tuple[str, ...],
    env: dict[str, str],
    timeout: float,
    input: bytes | None,
    name: str,
) -> Completed:
    """``git *args``; ``name``, the command the caller asked for, is what errors name."""
    try:
        done = (_runner.get() or _PLAIN).run_sync(
            ["git", *SAFE, *args], cwd=cwd, timeout=timeout, env=env, stdin=input
        )
    except ProcessError as exc:  # not started: say why as the OS did
        why = getattr(exc.__cause__, "strerror", None) or exc
        raise ProcessError(f"cannot run git: {why}") from exc
    if done.timed_out:
        raise ProcessError(f"git {name} timed out after {timeout:g}s")
    return done


def git(
    cwd: str | Path,
    *args: str,
    timeout: float = TIMEOUT,
    env: dict[str, str] | None = None,
    identity: bool = True,
    input: bytes | None = None,
) -> str:
    """Run git and return its stdout; a non-zero exit raises ``ProcessError`` with stderr."""
    done = run_git(cwd, *args, timeout=timeout, env=env, identity=identity, input=input)
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()
        raise ProcessError(f"git {args[0]} failed: {err}", done.returncode, err)
    return done.stdout.decode("utf-8", "surrogateescape")


async def agit(
    cwd: str | Path, *args: str, timeout: float = TIMEOUT, env: dict[str, str] | None = None
) -> str:
    """``git`` on a worker thread, so the event loop keeps going."""
    return await anyio.to_thread.run_sync(lambda: git(cwd, *args, timeout=timeout, env=env))


def toplevel(path: str | Path) -> Path | None:
    """The repository root containing ``path``, or None when it is not in a git work tree."""
    done = run_git(path, "rev-parse", "--show-toplevel", timeout=30)
    if done.returncode != 0:
        return None
    return Path(done.stdout.decode("utf-8", "surrogateescape").strip())


@functools.lru_cache(maxsize=64)
def _common_dir(repo: str) -> Path:
    out = git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir").strip()
    return Path(out)


def common_dir(repo: str | Path) -> Path:
    """The repository's shared git dir (cached: it does not move while we run)."""
    return _common_dir(str(repo))


def resolve_commit(repo: str | Path, ref: str, field: str = "base_ref") -> str:
    done = run_git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", timeout=30)
    if done.returncode != 0:
        raise UserError(f"{field} {ref!r} is not a commit in {repo}", field)
    return done.stdout.decode().strip()


@contextlib.contextmanager
def repo_lock(repo: str | Path) -> Iterator[None]:
    """Serialises our git metadata operations (worktrees, branches) on one repository."""
    path = common_dir(repo) / "loopwright.lock"
    fd = open_nofollow(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def porcelain(repo: str | Path) -> list[tuple[str, str]]:
    """``git status --porcelain -z`` as (status, path) pairs (renames give the new path)."""
    raw = git(repo, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    entries, parts = [], raw.split("\0")
    i = 0
    while i < len(parts) and parts[i]:
        code, path = parts[i][:2], parts[i][3:]
        entries.append((code, path))
        i += 2 if code[0] in "RC" else 1
    return entries

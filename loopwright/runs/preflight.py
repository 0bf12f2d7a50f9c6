"""Before a run starts: can it work at all?

Each verify program must resolve where the verify will run (its PATH, and the run's
worktree for relative programs), and no backend may be known to be unusable. A run that
cannot pass would otherwise find out at its first verify, after the workers spent their
budget, and again every iteration. A refusal raises ``UserError`` naming the command or
the backend and creates nothing; callers skip the check on request (``--no-preflight``).

A run that asks for the sandbox (``--sandbox verify`` or ``all``) is refused when
bubblewrap cannot confine a command here: ``check_sandbox``, which callers run even when
they skip the rest, because no run falls back to running unconfined.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import anyio

from ..backends.readiness import problem
from ..backends.spec import parse_spec
from ..errors import UserError
from ..process.sandbox import INSTALL, sandbox_problem
from .git.gitcmd import resolve_commit, run_git
from .request import RunRequest

__all__ = ["check_ready", "check_sandbox", "check_sandbox_mode", "preflight", "verify_problem"]


def check_sandbox(request: RunRequest, opt_out: str = "--sandbox off") -> None:
    """Raise ``UserError`` (field ``sandbox``) when the request asks for the sandbox and
    bubblewrap cannot confine a command here; ``opt_out`` is how the caller turns the
    sandbox off, named in the message with how to install bubblewrap."""
    check_sandbox_mode(request.sandbox, request.allow_network, opt_out)


def check_sandbox_mode(mode: str, network: bool = False, opt_out: str = "--sandbox off") -> None:
    """``check_sandbox`` before there is a request (the demo)."""
    if mode == "off":
        return
    why = sandbox_problem(network)
    if why is not None:
        raise UserError(
            f"sandbox {mode!r} cannot confine commands here: {why}. Install bubblewrap "
            f"({INSTALL}), or run unconfined with {opt_out}",
            "sandbox",
        )


def check_ready(request: RunRequest, opt_out: str, sandbox_opt_out: str = "--sandbox off") -> None:
    """``preflight`` for synchronous callers (the CLI)."""
    anyio.run(preflight, request, opt_out, sandbox_opt_out)


async def preflight(
    request: RunRequest, opt_out: str, sandbox_opt_out: str = "--sandbox off"
) -> None:
    """Raise ``UserError`` when the sandbox asked for cannot work (``check_sandbox``), a
    verify command cannot start or a backend cannot work; ``opt_out`` is how the caller
    skips the last two checks, named in the message."""
    await anyio.to_thread.run_sync(check_sandbox, request, sandbox_opt_out)
    found = await anyio.to_thread.run_sync(verify_problem, request)
    if found is not None:
        raise UserError(f"{found}; fix it, or pass {opt_out} to start anyway", "verify")
    roles = _roles(request)
    for spec, used_by in roles.items():
        if request.fallback and spec != request.fallback and parse_spec(spec).provider == "ollama":
            continue  # a host that is down now sends the calls to the fallback: no refusal
        why = await problem(spec)
        if why is not None:
            field = "backend" if set(_ROLE_NAMES) <= set(used_by) else used_by[0]
            raise UserError(
                f"{spec} ({', '.join(used_by)}) cannot work: {why}; fix it, or pass "
                f"{opt_out} to start anyway",
                field,
            )


_ROLE_NAMES = ("planner", "worker", "reviewer")


def _roles(request: RunRequest) -> dict[str, list[str]]:
    """Each distinct backend spec and the roles it plays."""
    pairs = [("planner", request.planner), ("planner", request.clarifier or request.planner)]
    pairs += [("worker", w) for w in request.workers] + [("reviewer", r) for r in request.reviewers]
    pairs += [(f"specialists.{tag}", spec) for tag, spec in request.specialists.items()]
    pairs += [("fallback", request.fallback)] if request.fallback else []
    roles: dict[str, list[str]] = {}
    for role, spec in pairs:
        if role not in roles.setdefault(spec, []):
            roles[spec].append(role)
    return roles


# --- verify programs ---------------------------------------------------------------
def verify_problem(request: RunRequest) -> str | None:
    """Why a verify command of ``request`` cannot start, or None when all can."""
    place = _place(request)
    search = _verify_path()
    for n, argv in enumerate(request.loop.verify_commands, 1):
        why = _cannot_start(argv[0], place, search)
        if why is not None:
            return f"verify command {n} `{shlex.join(argv)}` cannot start: {why}"
    return None


def _verify_path() -> str:
    # Verify commands get the allowlisted environment (PATH included) of the run host,
    # which inherits this process's.
    return os.environ.get("PATH", os.defpath)


def _cannot_start(program: str, place: _Place, search: str) -> str | None:
    if "/" in program:
        if os.path.isabs(program):
            return None if _executable(Path(program)) else f"{program} is not an executable file"
        return place.problem(program)
    for entry in search.split(os.pathsep):
        entry = entry or "."  # an empty entry means the working dir, as for execvp
        if os.path.isabs(entry):
            if _executable(Path(entry) / program):
                return None
        elif place.problem(os.path.join(entry, program)) is None:
            return None  # a relative PATH entry is looked up where the verify runs
    shown = search if len(search) <= 300 else search[:297] + "..."
    return f"{program!r} is not on the PATH the verify gets ({shown})"


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


class _Place:
    """Where the verify runs, asked before it exists: is this relative program there?"""

    def problem(self, rel: str) -> str | None:
        raise NotImplementedError


class _Fresh(_Place):
    """A scratch repository, made at the start with a README only."""

    def problem(self, rel: str) -> str | None:
        return f"{rel} is not in the fresh scratch repository the run starts in"


class _Dir(_Place):
    """In place (no isolation): the working dir itself."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def problem(self, rel: str) -> str | None:
        path = self.root / rel
        if _executable(path):
            return None
        return f"{rel} is not executable in {self.root}" if path.exists() else (
            f"{rel} not found in {self.root}")  # fmt: skip


class _Worktree(_Place):
    """The run's worktree: the base commit's files (plus the checkout's uncommitted,
    not ignored, changes when asked for), with the working dir at ``subdir``."""

    def __init__(self, repo: str, subdir: str, base: str, uncommitted: bool) -> None:
        self.repo, self.subdir, self.base, self.uncommitted = repo, subdir, base, uncommitted

    def problem(self, rel: str) -> str | None:
        path = os.path.normpath(os.path.join(self.subdir, rel))
        if path == ".." or path.startswith("../"):
            return f"{rel} is outside the repository, and the verify runs in the run's worktree"
        mode = self._mode(path)
        if mode in ("100755", "120000"):
            return None
        on_disk = Path(self.repo) / path
        if self.uncommitted and _executable(on_disk) and not self._ignored(path):
            return None
        if mode == "100644":
            return f"{rel} is committed without its executable bit"
        if on_disk.exists():
            return (
                f"{rel} is not committed (or is ignored), and the run's worktree starts "
                f"from commit {self.base[:10]}"
            )
        return f"{rel} not found in {self.repo} at commit {self.base[:10]}"

    def _mode(self, path: str) -> str:
        done = run_git(self.repo, "ls-tree", "-z", self.base, "--", path, timeout=30,
                       env={"GIT_LITERAL_PATHSPECS": "1"})  # fmt: skip
        return done.stdout.decode("utf-8", "replace").split(" ", 1)[0] if done.stdout else ""

    def _ignored(self, path: str) -> bool:
        return run_git(self.repo, "check-ignore", "-q", "--", path, timeout=30).returncode == 0


def _place(request: RunRequest) -> _Place:
    if not request.loop.cwd:
        return _Fresh()
    if not request.isolate or request.repo is None:
        return _Dir(request.loop.cwd)
    base = resolve_commit(request.repo, request.base_ref or "HEAD")
    return _Worktree(request.repo, request.subdir, base, request.include_uncommitted)
